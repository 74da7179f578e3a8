package pkg

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keel-os/keel/arch"
)

// layerEntry is a tar header plus the contents of a regular file.
type layerEntry struct {
	hdr  *tar.Header
	data []byte
}

// buildHello builds testdata/hello for arch with a fixed epoch.
func buildHello(t *testing.T, opts Options) (string, v1.Image) {
	t.Helper()
	p, err := Load("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	ref, img, err := p.Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return ref, img
}

// readLayer returns the single layer's entries in order.
func readLayer(t *testing.T, img v1.Image) ([]string, map[string]layerEntry) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, want 1", len(layers))
	}
	mt, err := layers[0].MediaType()
	if err != nil || mt != types.OCILayer {
		t.Errorf("layer media type = %q, %v; want %q", mt, err, types.OCILayer)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return readTar(t, rc)
}

// readTar returns the entries of a tar archive in order.
func readTar(t *testing.T, r io.Reader) ([]string, map[string]layerEntry) {
	t.Helper()
	tr := tar.NewReader(r)
	var names []string
	entries := map[string]layerEntry{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		entries[hdr.Name] = layerEntry{hdr, data}
	}
	return names, entries
}

func TestBuildLayerHoldsBinariesFilesDirsAndLinks(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	ref, img := buildHello(t, Options{Arch: "amd64", Epoch: epoch})
	if ref != "keel/hello:dev" {
		t.Errorf("ref = %q, want keel/hello:dev", ref)
	}
	names, entries := readLayer(t, img)
	aInfo, err := os.Stat("testdata/hello/rootfs/etc/keel/a.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		typ  byte
		mode int64
		link string
		data string
	}{
		{"bin/", tar.TypeDir, 0o755, "", ""},
		{"bin/hello", tar.TypeReg, 0o755, "", ""},
		{"bin/sh", tar.TypeSymlink, 0o777, "hello", ""},
		{"etc/", tar.TypeDir, 0o755, "", ""},
		{"etc/keel/a.conf", tar.TypeReg, int64(aInfo.Mode().Perm()), "", "a=1\n"},
		{"etc/keel/b.conf", tar.TypeSymlink, 0o777, "a.conf", ""},
		{"etc/key", tar.TypeReg, 0o600, "", "secret\n"},
		{"etc/motd", tar.TypeReg, 0o644, "", "hello\n"},
		{"sbin/", tar.TypeDir, 0o700, "", ""},
		{"usr/", tar.TypeDir, 0o755, "", ""},
		{"usr/bin/", tar.TypeDir, 0o755, "", ""},
		{"usr/bin/hello", tar.TypeLink, 0o755, "bin/hello", ""},
		{"usr/sbin/", tar.TypeDir, 0o755, "", ""},
		{"usr/sbin/hi", tar.TypeLink, 0o755, "bin/hello", ""},
	}
	for _, w := range want {
		e, ok := entries[w.name]
		if !ok {
			t.Errorf("layer lacks %s; has %v", w.name, names)
			continue
		}
		h := e.hdr
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.link {
			t.Errorf("%s: type %c mode %o link %q; want type %c mode %o link %q", w.name, h.Typeflag, h.Mode, h.Linkname, w.typ, w.mode, w.link)
		}
		if w.data != "" && string(e.data) != w.data {
			t.Errorf("%s contents = %q, want %q", w.name, e.data, w.data)
		}
	}
	if _, ok := entries["etc/keel/"]; !ok {
		t.Errorf("layer lacks the copied directory etc/keel/")
	}
	for _, n := range names {
		h := entries[n].hdr
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s owned by %d:%d (%q:%q), want 0:0 unnamed", n, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s mtime = %v, want %v", n, h.ModTime, epoch)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("layer entries not sorted: %v", names)
	}
	bin := entries["bin/hello"].data
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bin/hello is not ELF: %v", err)
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("bin/hello machine = %v, want EM_X86_64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("bin/hello has an ELF interpreter: not static")
		}
	}
}

func TestBuildConfigHasArchLabelAndEntrypoint(t *testing.T) {
	_, img := buildHello(t, Options{Arch: "amd64"})
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "amd64" || cf.OS != "linux" {
		t.Errorf("platform = %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/usr/bin/hello"}) {
		t.Errorf("entrypoint = %q", cf.Config.Entrypoint)
	}
	if !reflect.DeepEqual(cf.Config.Env, []string{"PATH=/usr/bin:/bin"}) {
		t.Errorf("env = %q", cf.Config.Env)
	}
	if !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created = %v, want the epoch 0", cf.Created.Time)
	}
	var label map[string]any
	if err := json.Unmarshal([]byte(cf.Config.Labels[ConfigLabel]), &label); err != nil {
		t.Fatalf("label %s = %q: %v", ConfigLabel, cf.Config.Labels[ConfigLabel], err)
	}
	want := map[string]any{
		"binds":        []any{"/dev:/dev"},
		"capabilities": []any{"all"},
		"net":          "host",
	}
	if !reflect.DeepEqual(label, want) {
		t.Errorf("label = %v, want %v", label, want)
	}
	mt, err := img.MediaType()
	if err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type = %q, %v", mt, err)
	}
}

func TestBuildTwiceGivesSameDigest(t *testing.T) {
	_, a := buildHello(t, Options{Arch: "amd64"})
	_, b := buildHello(t, Options{Arch: "amd64"})
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("digests differ: %s and %s", da, db)
	}
}

func TestBuildEpochComesFromSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1234567890")
	_, img := buildHello(t, Options{Arch: "amd64"})
	_, entries := readLayer(t, img)
	if got := entries["etc/motd"].hdr.ModTime; !got.Equal(time.Unix(1234567890, 0)) {
		t.Errorf("mtime = %v, want SOURCE_DATE_EPOCH", got)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	p, err := Load("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Build(context.Background(), Options{Arch: "amd64"}); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: err = %v", err)
	}
}

func TestBuildCrossCompilesForArm64(t *testing.T) {
	ref, img := buildHello(t, Options{Arch: "arm64", Tag: "arm"})
	if ref != "keel/hello:arm" {
		t.Errorf("ref = %q, want the Options.Tag", ref)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" {
		t.Errorf("architecture = %q, want arm64", cf.Architecture)
	}
	_, entries := readLayer(t, img)
	f, err := elf.NewFile(bytes.NewReader(entries["bin/hello"].data))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("machine = %v, want EM_AARCH64", f.Machine)
	}
}

func TestBuildRejectsUnsupportedArch(t *testing.T) {
	p, err := Load("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Build(context.Background(), Options{Arch: "mips"}); err == nil || !strings.Contains(err.Error(), "unsupported arch") {
		t.Errorf("err = %v, want unsupported arch", err)
	}
}

func TestBuildCallsStoreHook(t *testing.T) {
	var stored string
	ref, img := buildHello(t, Options{Arch: "amd64", Store: func(ref string, img v1.Image) error {
		stored = ref
		return nil
	}})
	if stored != ref || img == nil {
		t.Errorf("store hook got %q, want %q", stored, ref)
	}
}

func TestBuildFailureNamesBinaryLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "build.yml"), "image: keel/broken\nbinaries:\n  - package: ./nope\n    path: /bin/nope\n")
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Build(context.Background(), Options{Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "build.yml:3: build ./nope") {
		t.Errorf("err = %v, want build.yml:3: build ./nope", err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildCgoBinaryLinksStatically(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed: skipping the cgo build")
	}
	if !arch.Known(runtime.GOARCH) {
		t.Skipf("host arch %s is no target", runtime.GOARCH)
	}
	p, err := Load("testdata/cgo")
	if err != nil {
		t.Fatal(err)
	}
	_, img, err := p.Build(context.Background(), Options{Arch: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	_, entries := readLayer(t, img)
	data := entries["bin/cgohello"].data
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("cgo binary has an ELF interpreter: not linked statically")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("cgo binary needs shared libraries %q", libs)
	}
	bin := filepath.Join(t.TempDir(), "cgohello")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin).CombinedOutput(); err != nil {
		t.Errorf("running the cgo binary: %v\n%s", err, out)
	}
}

func TestBuildMissingSourceNamesFileLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "build.yml"), "image: keel/x\nfiles:\n  - path: /etc/x\n    source: nope.txt\n")
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Build(context.Background(), Options{Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "build.yml:3: source") {
		t.Errorf("err = %v, want build.yml:3: source", err)
	}
}

func TestBuildRejectsPathDefinedTwice(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "build.yml"), "image: keel/x\nfiles:\n  - path: /a\n    contents: x\n  - path: /a\n    directory: true\n")
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Build(context.Background(), Options{Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "build.yml:5: /a already defined at") {
		t.Errorf("err = %v, want a duplicate-path error", err)
	}
}

func TestBuildTakesDebFilesFromTheTargetArchsDebianPackage(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("no apt-get: deb: files need Debian's tools")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), `image: keel/bb
files:
  - path: /bin/busybox
    deb: busybox-static
    source: /bin/busybox
    mode: "0755"
`)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "s390x": elf.EM_S390} {
		_, img, err := p.Build(context.Background(), Options{Arch: arch, CacheDir: cache})
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		_, entries := readLayer(t, img)
		e, ok := entries["bin/busybox"]
		if !ok {
			t.Fatalf("%s: no bin/busybox in the layer", arch)
		}
		f, err := elf.NewFile(bytes.NewReader(e.data))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != machine {
			t.Errorf("%s: busybox is for %v, want %v", arch, f.Machine, machine)
		}
		if e.hdr.Mode != 0o755 {
			t.Errorf("%s: mode %o", arch, e.hdr.Mode)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "deb", "busybox-static_arm64", "bin", "busybox")); err != nil {
		t.Errorf("the unpacked package is not cached: %v", err)
	}
}

func TestLoadRejectsDebWithoutAnAbsoluteSource(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), "image: keel/bb\nfiles:\n  - path: /bin/busybox\n    deb: busybox-static\n    contents: x\n")
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "build.yml:3") || !strings.Contains(err.Error(), "deb busybox-static needs source") {
		t.Errorf("Load = %v, want a build.yml:3 error about source", err)
	}
}
