package pkg

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/build/spec"
)

func TestResolveRefsUsesBuildYmlsImageAndTagOrDev(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"tagged":   "image: keel/tagged\ntag: v3\n",
		"untagged": "image: example.org/team/untagged\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, FileName), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yml := filepath.Join(dir, "m.yml")
	cfg, err := spec.Parse(spec.Source{Name: yml, Data: []byte("init:\n  - \"@pkg:tagged\"\nservices:\n  - name: u\n    image: \"@pkg:./untagged\"\n  - name: gone\n    image: \"@pkg:./gone\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	err = ResolveRefs(cfg, "arm64", func(ref, arch string) error {
		asked = append(asked, ref+"/"+arch)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), yml+`:7: services[1] "gone": image: @pkg:./gone: read package`) {
		t.Errorf("error = %v, want one for the directory without build.yml", err)
	}
	if cfg.Init[0].Image != "keel/tagged:v3" || cfg.Services[0].Image != "example.org/team/untagged:dev" {
		t.Errorf("resolved %q and %q", cfg.Init[0].Image, cfg.Services[0].Image)
	}
	if strings.Join(asked, " ") != "keel/tagged:v3/arm64 example.org/team/untagged:dev/arm64" {
		t.Errorf("asked the store for %v", asked)
	}

	cfg, _ = spec.Parse(spec.Source{Name: yml, Data: []byte("init:\n  - \"@pkg:tagged\"\n")})
	err = ResolveRefs(cfg, "amd64", func(string, string) error { return errors.New("not found") })
	if want := `run "keel pkg build --arch amd64 ` + filepath.Join(dir, "tagged") + `" first`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}
