package kernelconfig_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/kernel"
	kernelconfig "github.com/keel-os/keel/kernel-config"
	"github.com/keel-os/keel/rootfs/image"
)

// These tests run the real merge_config.sh in a kernel source tree: the one named by
// KEEL_KERNEL_SRC, else Debian's linux-source-6.12 tarball unpacked into the Keel cache as
// keel kernel build does. Without either they skip, unless KEEL_INTEGRATION=require.

// skipOrFail skips the test with why, or fails it when KEEL_INTEGRATION=require.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("KEEL_INTEGRATION") == "require" {
		t.Fatalf("%s (KEEL_INTEGRATION=require)", why)
	}
	t.Skip(why)
}

// kernelSource returns the source tree, and checks that what kernelconfig.Merge runs is installed.
func kernelSource(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		skipOrFail(t, "merging kernel configs takes seconds; skipped with -short")
	}
	src := os.Getenv("KEEL_KERNEL_SRC")
	if src == "" {
		if _, err := os.Stat(kernel.DefaultSource); err != nil {
			skipOrFail(t, "no kernel source: install linux-source-6.12 or set KEEL_KERNEL_SRC to an unpacked Linux source tree")
		}
		cache, err := image.DefaultCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		if src, err = kernel.Unpack(context.Background(), kernel.DefaultSource, cache); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(src, "scripts", "kconfig", "merge_config.sh")); err != nil {
		t.Fatalf("KEEL_KERNEL_SRC=%s is not a Linux source tree: %v", src, err)
	}
	for _, tool := range []string{"make", "gcc", "flex", "bison"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, tool+" is not installed; Kconfig needs it")
		}
	}
	return src
}

// merge runs kernelconfig.Merge for arch in a fresh build directory and returns the final config.
func merge(t *testing.T, src, archName string, frags []kernelconfig.Fragment) kernelconfig.Config {
	t.Helper()
	a, err := arch.Lookup(archName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(a.CC()); err != nil {
		skipOrFail(t, a.CC()+" is not installed; Kconfig for "+archName+" asks it what it supports")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if err := kernelconfig.Merge(ctx, src, dir, a.KernelArch, a.CrossCompile(), frags); err != nil {
		t.Fatal(err)
	}
	cfg, err := kernelconfig.ReadConfigFile(filepath.Join(dir, ".config"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func requests(t *testing.T, frags []kernelconfig.Fragment) []kernelconfig.Request {
	t.Helper()
	reqs, err := kernelconfig.ParseFragments(frags)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

func TestShippedFragmentsMergeWithNothingDroppedAndPassCheck(t *testing.T) {
	src := kernelSource(t)
	for _, arch := range arch.Names() {
		t.Run(arch, func(t *testing.T) {
			frags, err := kernelconfig.Fragments(arch)
			if err != nil {
				t.Fatal(err)
			}
			cfg := merge(t, src, arch, frags)
			if got := kernelconfig.GuessArch(cfg); got != arch {
				t.Errorf("merged config looks like %q, want %q", got, arch)
			}
			for _, p := range kernelconfig.Dropped(requests(t, frags), cfg) {
				t.Error(p)
			}
			if rep := kernelconfig.Check(cfg, arch); !rep.OK() {
				t.Error(rep)
			}
		})
	}
}

func TestMergeOfFragmentTurningOffMiscFilesystemsReportsSquashfsDropped(t *testing.T) {
	src := kernelSource(t)
	frags, err := kernelconfig.Fragments("amd64")
	if err != nil {
		t.Fatal(err)
	}
	broken := kernelconfig.Fragment{Name: "broken.config", Data: []byte(
		"# squashfs is under the MISC_FILESYSTEMS menu\n" +
			"# CONFIG_MISC_FILESYSTEMS is not set\n" +
			"CONFIG_SQUASHFS=y\n")}
	frags = append(frags, broken)
	cfg := merge(t, src, "amd64", frags)

	probs := kernelconfig.Dropped(requests(t, frags), cfg)
	var found bool
	for _, p := range probs {
		if p.Symbol == "CONFIG_MISC_FILESYSTEMS" {
			t.Errorf("the later fragment's MISC_FILESYSTEMS=n overrides common.config's, and took: %s", p)
		}
		if p.Symbol != "CONFIG_SQUASHFS" {
			continue
		}
		found = true
		want := kernelconfig.Problem{Symbol: "CONFIG_SQUASHFS", Want: "y", Got: kernelconfig.Absent, File: "broken.config", Line: 3}
		if p != want {
			t.Errorf("got %+v, want %+v", p, want)
		}
		if s := p.String(); !strings.HasPrefix(s, "broken.config:3: CONFIG_SQUASHFS=y requested, but olddefconfig dropped it (absent)") {
			t.Errorf("String() = %q", s)
		}
	}
	if !found {
		t.Errorf("CONFIG_SQUASHFS not reported; problems: %v", probs)
	}
}
