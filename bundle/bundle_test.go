package bundle

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestListReturnsBundlesInNameOrderSkippingFiles(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"010-late", "000-first", "002-mid"} {
		if err := os.MkdirAll(filepath.Join(root, OnbootDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, OnbootDir, "README"), nil, 0o644)
	got, err := List(root, OnbootDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range got {
		names = append(names, filepath.Base(g))
	}
	if want := []string{"000-first", "002-mid", "010-late"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("got %v want %v", names, want)
	}
	if none, err := List(root, ServicesDir); err != nil || len(none) != 0 {
		t.Fatalf("missing services dir: %v %v", none, err)
	}
}

func TestLoadReadsSpecAndRuntimeAndNamesTheBadFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "getty")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"ociVersion":"1.2.0","root":{"path":"rootfs"}}`), 0o644)
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "getty" || b.Spec.Root.Path != "rootfs" || b.Runtime.Namespace != "" || b.Rootfs() != filepath.Join(dir, "rootfs") {
		t.Fatalf("got %+v", b)
	}
	os.WriteFile(filepath.Join(dir, RuntimeFile), []byte(`{"namespace": "x", "mkdir": ["/a"]}`), 0o644)
	if b, err = Load(dir); err != nil || b.Runtime.Namespace != "x" || len(b.Runtime.Mkdir) != 1 {
		t.Fatalf("runtime.json: %+v %v", b, err)
	}
	os.WriteFile(filepath.Join(dir, RuntimeFile), []byte(`{"mkdir": 3}`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), RuntimeFile) {
		t.Fatalf("bad runtime.json: %v", err)
	}
}

func TestIsBindTakesTheTypeOrABindOption(t *testing.T) {
	for _, tc := range []struct {
		m    specs.Mount
		want bool
	}{
		{specs.Mount{Type: "bind", Source: "/a"}, true},
		{specs.Mount{Source: "/a", Options: []string{"ro", "rbind"}}, true},
		{specs.Mount{Type: "none", Source: "/a", Options: []string{"bind"}}, true},
		{specs.Mount{Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}}, false},
		{specs.Mount{Type: "proc", Source: "proc"}, false},
	} {
		if got := IsBind(tc.m); got != tc.want {
			t.Errorf("IsBind(%+v) = %v, want %v", tc.m, got, tc.want)
		}
	}
}
