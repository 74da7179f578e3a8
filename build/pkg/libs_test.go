package pkg

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeLibc6 lays out the host's libc and loader as amd64's libc6 package has them: the
// loader's /lib64 path a symlink into the multiarch directory.
func fakeLibc6(t *testing.T, cache string) {
	t.Helper()
	root := filepath.Join(cache, "deb", "libc6_amd64")
	for _, f := range []string{"libc.so.6", "ld-linux-x86-64.so.2"} {
		data, err := os.ReadFile("/lib/x86_64-linux-gnu/" + f)
		if err != nil {
			t.Skipf("needs an amd64 Debian host: %v", err)
		}
		writeFile(t, filepath.Join(root, "lib/x86_64-linux-gnu", f), string(data))
	}
	if err := os.MkdirAll(filepath.Join(root, "lib64"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", filepath.Join(root, "lib64/ld-linux-x86-64.so.2")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, debInfoFile(root), `{"package":"libc6","version":"2.36-9","arch":"amd64"}`)
}

// buildLibs builds buildYML for amd64 and returns its layer's entries and its debs label.
func buildLibs(t *testing.T, buildYML, cache string) (map[string]layerEntry, []Deb, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), buildYML)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, img, err := p.Build(context.Background(), Options{Arch: "amd64", CacheDir: cache})
	if err != nil {
		return nil, nil, err
	}
	_, entries := readLayer(t, img)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	debs, err := ParseDebsLabel(cf.Config.Labels[DebsLabel])
	if err != nil {
		t.Fatal(err)
	}
	return entries, debs, nil
}

func TestLibsAddsTheLoaderAndSharedLibrariesADebBinaryNeeds(t *testing.T) {
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true")
	}
	cache := t.TempDir()
	fakeLibc6(t, cache)
	fakeDeb(t, cache, "coreutils", "amd64", map[string]string{"bin/true": string(data), "bin/false": string(data)},
		&Deb{Package: "coreutils", Version: "9.1-1", Arch: "amd64"})
	entries, debs, err := buildLibs(t, `image: keel/true
files:
  - path: /bin/true
    deb: coreutils
    source: /bin/true
    libs: [libc6]
  - path: /bin/false
    deb: coreutils
    source: /bin/false
    libs: [libc6]
`, cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"} {
		e, ok := entries[p]
		if !ok {
			t.Errorf("no %s in the layer", p)
			continue
		}
		if p == "lib64/ld-linux-x86-64.so.2" {
			// the loader's two names share one copy: the first in layer order holds it
			if e.hdr.Typeflag != '1' || e.hdr.Linkname != "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" {
				t.Errorf("%s: type %c to %q, want a hard link to the loader", p, e.hdr.Typeflag, e.hdr.Linkname)
			}
			continue
		}
		if e.hdr.Typeflag != '0' || len(e.data) < 1000 {
			t.Errorf("%s: type %c, %d bytes; want the library's contents", p, e.hdr.Typeflag, len(e.data))
		}
	}
	want := []Deb{
		{Package: "coreutils", Version: "9.1-1", Arch: "amd64", Files: []string{"/bin/false", "/bin/true"}},
		{Package: "libc6", Version: "2.36-9", Arch: "amd64", Files: []string{"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}},
	}
	if !reflect.DeepEqual(debs, want) {
		t.Errorf("debs = %+v\nwant %+v", debs, want)
	}
}

func TestLibsNamesTheLibraryNoPackageHas(t *testing.T) {
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true")
	}
	cache := t.TempDir()
	fakeDeb(t, cache, "coreutils", "amd64", map[string]string{"bin/true": string(data)}, &Deb{Package: "coreutils", Version: "9.1-1", Arch: "amd64"})
	fakeDeb(t, cache, "libfoo", "amd64", map[string]string{"usr/share/doc/x": "x"}, &Deb{Package: "libfoo", Version: "1", Arch: "amd64"})
	_, _, err = buildLibs(t, "image: keel/true\nfiles:\n  - path: /bin/true\n    deb: coreutils\n    source: /bin/true\n    libs: [libfoo]\n", cache)
	if err == nil || !strings.Contains(err.Error(), "build.yml:3") || !strings.Contains(err.Error(), "ld-linux-x86-64.so.2, needed by true, is in none of coreutils, libfoo") {
		t.Errorf("err = %v, want the missing loader named with build.yml:3", err)
	}
}

func TestLoadRejectsLibsWithoutDeb(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), "image: keel/x\nfiles:\n  - path: /bin/x\n    source: x\n    libs: [libc6]\n")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "build.yml:3") {
		t.Errorf("Load = %v, want a build.yml:3 error", err)
	}
}

func TestResolveInFollowsSymlinksInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "usr/lib/x/libz.so.1.2"), "z")
	if err := os.MkdirAll(filepath.Join(root, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"usr/lib/x/libz.so.1": "libz.so.1.2", "lib/libz.so.1": "/usr/lib/x/libz.so.1", "lib/loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := resolveIn(root, "/lib/libz.so.1")
	if want := filepath.Join(root, "usr/lib/x/libz.so.1.2"); err != nil || got != want {
		t.Errorf("resolveIn = %s, %v; want %s", got, err, want)
	}
	if _, err := resolveIn(root, "/lib/loop"); err == nil {
		t.Error("resolveIn followed a symlink loop")
	}
}
