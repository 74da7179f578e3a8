package kernel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keel-os/keel/arch"
	kernelconfig "github.com/keel-os/keel/kernel-config"
)

// fakeCache writes files (path → contents) under a new kernel cache root and returns it.
func fakeCache(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "kernel")
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	curSrc = "1111111111111111"
	oldSrc = "2222222222222222"
)

var cacheTree = map[string]string{
	"amd64-aaaaaaaaaaaaaaaa/kernel":        "current amd64",
	"amd64-bbbbbbbbbbbbbbbb/kernel":        "old amd64",
	"amd64-cccccccccccccccc/kernel":        "dev amd64",
	"arm64-dddddddddddddddd/kernel":        "current arm64",
	"arm64-eeeeeeeeeeeeeeee/kernel":        "old arm64",
	"s390x-ffffffffffffffff/kernel":        "old s390x",
	"build/" + curSrc + "-amd64/vmlinux.o": "12345",
	"build/" + oldSrc + "-amd64/vmlinux.o": "1234567890",
	"build/" + oldSrc + "-s390x/vmlinux.o": "123",
	"src/" + curSrc + "/Makefile":          "cur",
	"src/" + oldSrc + "/Makefile":          "old",
	"sums/0123":                            "x",
	"amd64.lock":                           "",
	"amd64.objects":                        "9000\n",
	".out-123/kernel":                      "a build's scratch",
	"riscv64-0123456789abcdef/kernel":      "no arch of Keel's",
}

func paths(root string, removed []Removed) []string {
	var out []string
	for _, r := range removed {
		rel, _ := filepath.Rel(root, r.Path)
		out = append(out, rel)
	}
	return out
}

func TestPruneRemovesSupersededKernelsBuildTreesAndSources(t *testing.T) {
	root := fakeCache(t, cacheTree)
	sum, _ := KernelSum(strings.NewReader("dev amd64"))
	plan := prunePlan{
		source:   curSrc,
		kernels:  map[string]bool{"amd64-aaaaaaaaaaaaaaaa": true, "arm64-dddddddddddddddd": true},
		keepArch: map[string]bool{},
		keepSums: []string{sum},
	}
	removed, err := plan.run(root, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"amd64-bbbbbbbbbbbbbbbb", "arm64-eeeeeeeeeeeeeeee", "s390x-ffffffffffffffff",
		"build/" + oldSrc + "-amd64", "build/" + oldSrc + "-s390x", "src/" + oldSrc,
	}
	if got := paths(root, removed); !slices.Equal(got, want) {
		t.Errorf("removed\n%q\nwant\n%q", got, want)
	}
	if removed[3].Bytes != 10 {
		t.Errorf("%s: %d bytes, want 10", removed[3].Path, removed[3].Bytes)
	}
	for _, gone := range want {
		if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is still there", gone)
		}
	}
	for name := range cacheTree {
		if slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(name, w+"/") }) {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
}

func TestPruneDryRunRemovesNothing(t *testing.T) {
	root := fakeCache(t, cacheTree)
	plan := prunePlan{source: curSrc, kernels: map[string]bool{}, keepArch: map[string]bool{}}
	removed, err := plan.run(root, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 9 {
		t.Errorf("would remove %q, want the 6 kernels, 2 build trees and a source", paths(root, removed))
	}
	for name := range cacheTree {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("dry run removed %s", name)
		}
	}
}

func TestPruneKeepsEverythingOfABusyOrUnknownArchAndSourcesWhileBuilding(t *testing.T) {
	root := fakeCache(t, cacheTree)
	plan := prunePlan{
		source:      curSrc,
		kernels:     map[string]bool{"amd64-aaaaaaaaaaaaaaaa": true},
		keepArch:    map[string]bool{"arm64": true, "s390x": true},
		keepSources: true,
	}
	removed, err := plan.run(root, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"amd64-bbbbbbbbbbbbbbbb", "amd64-cccccccccccccccc", "build/" + oldSrc + "-amd64"}
	if got := paths(root, removed); !slices.Equal(got, want) {
		t.Errorf("removed %q, want %q", got, want)
	}
}

func TestPruneOfAMissingCacheRemovesNothing(t *testing.T) {
	removed, err := Prune(context.Background(), PruneOptions{CacheDir: t.TempDir(), Source: "/nonexistent"})
	if err != nil || len(removed) != 0 {
		t.Errorf("Prune = %v, %v", removed, err)
	}
}

// Prune works out the current kernel of each arch the way Build names it.
func TestPruneKeepsTheKernelBuildWouldReturnNow(t *testing.T) {
	testPruneOfCurrent(t, false)
}

// A running build holds its arch's lock: that arch's kernels and trees, and every source, stay.
func TestPruneLeavesTheArchOfARunningBuildAlone(t *testing.T) {
	testPruneOfCurrent(t, true)
}

func testPruneOfCurrent(t *testing.T, amd64Busy bool) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	tarball := filepath.Join(dir, "linux.tar.xz")
	if err := os.WriteFile(tarball, []byte("not really a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	root := filepath.Join(cache, "kernel")
	srcHash, err := sourceHash(tarball, root)
	if err != nil {
		t.Fatal(err)
	}
	frags, err := kernelconfig.Fragments("amd64")
	if err != nil {
		t.Fatal(err)
	}
	key, err := cacheKey(context.Background(), "amd64", srcHash, crossFor(t, "amd64"), frags)
	if err != nil {
		t.Skip(err)
	}
	current := kernelDir("amd64", key)
	tree := map[string]string{
		current + "/kernel":                            "current",
		"amd64-0000000000000000/kernel":                "old",
		"build/" + buildDir(srcHash, "amd64") + "/x.o": "",
		"build/0000000000000000-amd64/x.o":             "",
		"src/" + srcDir(srcHash) + "/Makefile":         "",
		"src/0000000000000000/Makefile":                "",
	}
	for name, data := range tree {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
	}
	want := []string{"amd64-0000000000000000", "build/0000000000000000-amd64", "src/0000000000000000"}
	if amd64Busy {
		unlock, err := lock(filepath.Join(root, "amd64.lock"))
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		want = nil
	}
	removed, err := Prune(context.Background(), PruneOptions{CacheDir: cache, Source: tarball})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(root, removed); !slices.Equal(got, want) {
		t.Errorf("removed %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, current, "kernel")); err != nil {
		t.Errorf("current kernel removed: %v", err)
	}
}

func crossFor(t *testing.T, name string) string {
	t.Helper()
	a, err := arch.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return a.CrossCompile()
}
