package ocispec

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// testImage is an image of testdata/<case>.images.json: its OCI config and, as a JSON
// object for readability, its org.mobyproject.config label.
type testImage struct {
	Config v1.ImageConfig  `json:"config"`
	Label  json.RawMessage `json:"label,omitempty"`
}

// bundleFiles is what a golden file holds per bundle.
type bundleFiles struct {
	Config  *specs.Spec    `json:"config.json"`
	Runtime bundle.Runtime `json:"runtime.json"`
}

// TestConvertMatchesGoldenFiles converts every container of testdata/<case>.yml, with the
// images of testdata/<case>.images.json, and compares config.json and runtime.json of
// each bundle (keyed by its path under /containers) with testdata/<case>.golden.json.
// Run with -update to rewrite the golden files, then review them.
func TestConvertMatchesGoldenFiles(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, yml := range cases {
		name := strings.TrimSuffix(filepath.Base(yml), ".yml")
		t.Run(name, func(t *testing.T) {
			got := convertCase(t, yml, strings.TrimSuffix(yml, ".yml")+".images.json")
			golden := strings.TrimSuffix(yml, ".yml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

func convertCase(t *testing.T, yml, imagesFile string) []byte {
	t.Helper()
	cfg, err := spec.ParseFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(imagesFile)
	if err != nil {
		t.Fatal(err)
	}
	var images map[string]testImage
	if err := json.Unmarshal(data, &images); err != nil {
		t.Fatalf("%s: %v", imagesFile, err)
	}
	out := map[string]bundleFiles{}
	for _, sec := range []struct {
		kind   Kind
		images []spec.Image
	}{{Onboot, cfg.Onboot}, {Onshutdown, cfg.Onshutdown}, {Service, cfg.Services}} {
		for i, img := range sec.images {
			ti, ok := images[img.Image]
			if !ok {
				t.Fatalf("%s: image %q is not in %s", img.Pos, img.Image, imagesFile)
			}
			ic := ti.Config
			if ti.Label != nil {
				ic.Labels = map[string]string{spec.LabelKey: string(ti.Label)}
			}
			s, rt, err := ConvertImage(img, ic, Options{Kind: sec.kind, IDs: cfg.IDs(), Arch: "amd64"})
			if err != nil {
				t.Fatal(err)
			}
			summarizeSeccomp(s)
			key := string(sec.kind) + "/" + img.Name
			if sec.kind != Service {
				key = fmt.Sprintf("%s/%03d-%s", sec.kind, i, img.Name)
			}
			out[key] = bundleFiles{Config: s, Runtime: rt}
		}
	}
	got, err := Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// summarizeSeccomp replaces the syscall rules of containerd's profile, hundreds of lines
// that are containerd's, with their count, which still shows the rules capabilities add;
// TestConvertAppliesContainerdsDefaultSeccompProfile checks the rules themselves.
func summarizeSeccomp(s *specs.Spec) {
	if sc := s.Linux.Seccomp; sc != nil {
		sc.Syscalls = []specs.LinuxSyscall{{Names: []string{fmt.Sprintf("(containerd's default profile: %d rules)", len(sc.Syscalls))}}}
	}
}

// firstDiff shows the first differing line with some context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			lo := max(0, i-3)
			var b strings.Builder
			for j := lo; j < i; j++ {
				fmt.Fprintf(&b, "  %4d  %s\n", j+1, w[j])
			}
			if i < len(w) {
				fmt.Fprintf(&b, "- %4d  %s\n", i+1, w[i])
			}
			if i < len(g) {
				fmt.Fprintf(&b, "+ %4d  %s\n", i+1, g[i])
			}
			return b.String()
		}
	}
	return ""
}
