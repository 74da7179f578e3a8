package kernel

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kernelconfig "github.com/keel-os/keel/kernel-config"
	"github.com/keel-os/keel/rootfs/image"
)

func TestCacheKeyChangesWithEveryInput(t *testing.T) {
	ctx := context.Background()
	frags := []kernelconfig.Fragment{{Name: "common.config", Data: []byte("CONFIG_NET=y\n")}}
	base, err := cacheKey(ctx, "amd64", "src1", "", frags)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := cacheKey(ctx, "amd64", "src1", "", frags)
	if again != base {
		t.Fatal("the key is not stable")
	}
	changed := map[string][]any{
		"arch":     {"arm64", "src1", frags},
		"source":   {"amd64", "src2", frags},
		"fragment": {"amd64", "src1", []kernelconfig.Fragment{{Name: "common.config", Data: []byte("CONFIG_NET=n\n")}}},
		"extra":    {"amd64", "src1", append(frags, kernelconfig.Fragment{Name: "extra.config", Data: []byte("CONFIG_NET=y\n")})},
	}
	for name, in := range changed {
		k, err := cacheKey(ctx, in[0].(string), in[1].(string), "", in[2].([]kernelconfig.Fragment))
		if err != nil {
			t.Fatal(err)
		}
		if k == base {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
}

func TestCacheKeyNamesAMissingCrossCompiler(t *testing.T) {
	_, err := cacheKey(context.Background(), "arm64", "s", "no-such-triple-", nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-triple-gcc") {
		t.Errorf("err = %v, want one naming the compiler", err)
	}
}

func TestLoadAcceptsOnlyACompleteEntryOfTheSameKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := load(dir, "k1"); err == nil {
		t.Fatal("an empty directory loads")
	}
	for _, f := range []string{KernelFile, ModulesFile, ConfigFile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, releaseFile), []byte("6.12.0-keel\nk1\n"), 0o644)
	r, err := load(dir, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Release != "6.12.0-keel" || !r.Cached || r.Kernel != filepath.Join(dir, KernelFile) {
		t.Errorf("result %+v", r)
	}
	if _, err := load(dir, "k2"); err == nil {
		t.Error("an entry of another key loads")
	}
	os.Remove(filepath.Join(dir, ModulesFile))
	if _, err := load(dir, "k1"); err == nil {
		t.Error("an entry without kernel.tar loads")
	}
}

func TestModulesTarIsDeterministicAndLeavesOutHostSymlinks(t *testing.T) {
	stage := t.TempDir()
	mod := filepath.Join(stage, "lib", "modules", "6.12.0-keel")
	os.MkdirAll(filepath.Join(mod, "kernel", "drivers"), 0o755)
	os.WriteFile(filepath.Join(mod, "kernel", "drivers", "e1000e.ko"), []byte("elf"), 0o600)
	os.WriteFile(filepath.Join(mod, "modules.dep"), []byte("kernel/drivers/e1000e.ko:\n"), 0o600)
	os.Symlink("/usr/src/somewhere", filepath.Join(mod, "build"))
	var tars [2][]byte
	for i := range tars {
		out := filepath.Join(t.TempDir(), "kernel.tar")
		if err := writeModulesTar(stage, out); err != nil {
			t.Fatal(err)
		}
		tars[i], _ = os.ReadFile(out)
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Error("two writes of the same tree differ")
	}
	tr := tar.NewReader(bytes.NewReader(tars[0]))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.ModTime.Unix() != 0 {
			t.Errorf("%s: uid %d mtime %v", h.Name, h.Uid, h.ModTime)
		}
		names = append(names, h.Name)
	}
	want := "lib/ lib/modules/ lib/modules/6.12.0-keel/ lib/modules/6.12.0-keel/kernel/ lib/modules/6.12.0-keel/kernel/drivers/ lib/modules/6.12.0-keel/kernel/drivers/e1000e.ko lib/modules/6.12.0-keel/modules.dep"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries\n%s\nwant\n%s", got, want)
	}
}

// TestModulesTarKeepsItsBytes pins kernel.tar's bytes for a module tree with every kind of
// entry: fixed modes, mtime 0 whatever SOURCE_DATE_EPOCH says (the cache key does not hold it).
func TestModulesTarKeepsItsBytes(t *testing.T) {
	stage := t.TempDir()
	mod := filepath.Join(stage, "lib", "modules", "6.12.0-keel")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(mod, "kernel", "fs", "empty"), 0o700),
		os.WriteFile(filepath.Join(mod, "kernel", "fs", "ext4.ko"), []byte("elf ext4"), 0o755),
		os.WriteFile(filepath.Join(mod, "modules.alias"), []byte("alias fs-ext4 ext4\n"), 0o600),
		os.WriteFile(filepath.Join(mod, "modules.dep"), []byte("kernel/fs/ext4.ko:\n"), 0o644),
		os.Symlink("kernel/fs", filepath.Join(mod, "fs")),
		os.Symlink("/usr/src/linux", filepath.Join(mod, "source")),
		os.Symlink("/usr/src/linux", filepath.Join(mod, "build")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, epoch := range []string{"", "1700000000"} {
		t.Setenv("SOURCE_DATE_EPOCH", epoch)
		out := filepath.Join(t.TempDir(), "kernel.tar")
		if err := writeModulesTar(stage, out); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != modulesTarSum {
			t.Errorf("SOURCE_DATE_EPOCH=%q: kernel.tar sha256 %s, want %s", epoch, got, modulesTarSum)
		}
	}
}

func TestModulesTarOfAKernelWithoutModulesIsAnEmptyTar(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kernel.tar")
	if err := writeModulesTar(t.TempDir(), out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, make([]byte, 1024)) {
		t.Errorf("kernel.tar = %q, want the two zero blocks of an empty tar", b)
	}
}

// modulesTarSum is the SHA-256 of the tar TestModulesTarKeepsItsBytes writes.
const modulesTarSum = "5d8f276d56a0c772e26cd83bd94a60ebecf3a9803271f6093f0701e11597f5b2"

func TestBuildRejectsAnUnknownArchBeforeDoingAnything(t *testing.T) {
	_, err := Build(context.Background(), Options{Arch: "mips", CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `"mips"`) {
		t.Errorf("err = %v", err)
	}
}

func TestUnpackRejectsATarballThatIsNotALinuxTree(t *testing.T) {
	dir := t.TempDir()
	tarball := filepath.Join(dir, "x.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "top/README", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	os.WriteFile(tarball, buf.Bytes(), 0o644)
	_, err := Unpack(context.Background(), tarball, filepath.Join(dir, "cache"))
	if err == nil || !strings.Contains(err.Error(), "not a Linux source tree") {
		t.Errorf("err = %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "cache", "kernel", "src", "*")); len(left) != 0 {
		t.Errorf("a failed unpack left %v", left)
	}
}

// TestBuildStopsBeforeCompilingWhenAFragmentSymbolIsDropped runs the real merge on Debian's
// kernel source: a user's fragment asking for a symbol whose menu gate it turns off fails
// the build with the fragment's file and line, and nothing is compiled or cached.
func TestBuildStopsBeforeCompilingWhenAFragmentSymbolIsDropped(t *testing.T) {
	if _, err := os.Stat(DefaultSource); err != nil {
		if os.Getenv("KEEL_INTEGRATION") == "require" {
			t.Fatalf("no kernel source %s (make deps installs linux-source-6.12)", DefaultSource)
		}
		t.Skipf("no kernel source %s", DefaultSource)
	}
	cache := t.TempDir()
	shareUnpackedSource(t, cache)
	broken := kernelconfig.Fragment{Name: "broken.config", Data: []byte("# CONFIG_BLK_DEV is not set\nCONFIG_VIRTIO_BLK=y\n")}
	_, err := Build(context.Background(), Options{Arch: "s390x", CacheDir: cache, Extra: []kernelconfig.Fragment{broken}})
	if err == nil {
		t.Fatal("the build succeeded")
	}
	if !strings.Contains(err.Error(), "broken.config:2: CONFIG_VIRTIO_BLK=y requested, but olddefconfig dropped it") {
		t.Errorf("err = %v, want the dropped symbol with broken.config:2", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "kernel", "build")); err == nil {
		t.Error("a build directory was made")
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "kernel", "s390x-*")); len(left) != 0 {
		t.Errorf("cached %v", left)
	}
}

// shareUnpackedSource links the default cache's unpacked DefaultSource, if it has one, into
// the kernel cache below cache, so a test need not unpack 1.5 GB. Only merge_config.sh's
// temporary files come and go in it, as in any build sharing that cache.
func shareUnpackedSource(t *testing.T, cache string) {
	t.Helper()
	shared, err := image.DefaultCacheDir()
	if err != nil {
		return
	}
	root := filepath.Join(cache, "kernel")
	h, err := sourceHash(DefaultSource, root) // remembered in the new cache for Build
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(shared, "kernel", "src", srcDir(h))
	if _, err := os.Stat(filepath.Join(src, "scripts", "kconfig", "merge_config.sh")); err != nil {
		return
	}
	link := filepath.Join(root, "src", srcDir(h))
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
}

func TestSourceHashIsRememberedUntilTheTarballChanges(t *testing.T) {
	dir := t.TempDir()
	tarball := filepath.Join(dir, "linux.tar")
	os.WriteFile(tarball, []byte("one"), 0o644)
	want, _ := hashFile(tarball)
	got, err := sourceHash(tarball, dir)
	if err != nil || got != want {
		t.Fatalf("sourceHash = %s, %v; want %s", got, err, want)
	}
	memos, _ := filepath.Glob(filepath.Join(dir, "sums", "*"))
	if len(memos) != 1 {
		t.Fatalf("memos %v", memos)
	}
	// A new tarball (other size) under the same path is hashed anew.
	os.WriteFile(tarball, []byte("other contents"), 0o644)
	want2, _ := hashFile(tarball)
	if got, _ := sourceHash(tarball, dir); got != want2 {
		t.Errorf("after a change: %s, want %s", got, want2)
	}
}
