package kernelconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/arch"
)

func TestFragmentsAreCommonThenTheArchFragment(t *testing.T) {
	for _, arch := range arch.Names() {
		frags, err := Fragments(arch)
		if err != nil {
			t.Fatal(err)
		}
		if len(frags) != 2 || frags[0].Name != "common.config" || frags[1].Name != arch+".config" {
			t.Errorf("%s: got %v", arch, names(frags))
		}
		for _, f := range frags {
			if len(f.Data) == 0 {
				t.Errorf("%s: %s is empty", arch, f.Name)
			}
		}
	}
}

func names(frags []Fragment) []string {
	var n []string
	for _, f := range frags {
		n = append(n, f.Name)
	}
	return n
}

func TestFragmentsErrorNamesAnUnknownArch(t *testing.T) {
	_, err := Fragments("riscv64")
	if err == nil || !strings.Contains(err.Error(), `"riscv64"`) {
		t.Errorf("got %v, want an error naming riscv64", err)
	}
}

func TestEmbeddedFragmentsParse(t *testing.T) {
	for _, arch := range arch.Names() {
		frags, err := Fragments(arch)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frags {
			reqs, err := ParseFragment(f)
			if err != nil {
				t.Error(err)
			}
			if len(reqs) == 0 {
				t.Errorf("%s requests nothing", f.Name)
			}
		}
	}
}

// The shipped fragments ask for what Check requires, so a requirement cannot be met only by
// a Kconfig default that may change.
func TestEmbeddedFragmentsRequestEveryRequirement(t *testing.T) {
	for _, arch := range arch.Names() {
		frags, err := Fragments(arch)
		if err != nil {
			t.Fatal(err)
		}
		asked := Config{}
		for _, f := range frags {
			reqs, err := ParseFragment(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				asked[r.Symbol] = r.Value
			}
		}
		for _, f := range Check(asked, arch).Failures {
			t.Errorf("%s: fragments do not request %s", arch, f)
		}
	}
}

func TestLoadFragmentNamesItByItsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extra.config")
	if err := os.WriteFile(path, []byte("CONFIG_A=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFragment(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != path || string(f.Data) != "CONFIG_A=y\n" {
		t.Errorf("got %+v", f)
	}
	if _, err := LoadFragment(path + ".missing"); err == nil || !strings.Contains(err.Error(), path+".missing") {
		t.Errorf("got %v, want an error naming the path", err)
	}
}
