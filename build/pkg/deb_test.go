package pkg

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// fakeDeb puts an unpacked Debian package into cache as debRoot leaves it, so a build takes
// deb: files from it without apt-get. info nil leaves no version record, as older caches.
func fakeDeb(t *testing.T, cache, name, arch string, files map[string]string, info *Deb) {
	t.Helper()
	root := filepath.Join(cache, "deb", name+"_"+arch)
	for p, data := range files {
		writeFile(t, filepath.Join(root, p), data)
	}
	if info != nil {
		b, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, debInfoFile(root), string(b))
	}
}

// debsOf returns the parsed DebsLabel of a package built from buildYML with cache.
func debsOf(t *testing.T, buildYML, cache string) []Deb {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), buildYML)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, img, err := p.Build(context.Background(), Options{Arch: "arm64", CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels[ConfigLabel] == "" {
		t.Errorf("label %s lost beside %s", ConfigLabel, DebsLabel)
	}
	debs, err := ParseDebsLabel(cf.Config.Labels[DebsLabel])
	if err != nil {
		t.Fatal(err)
	}
	return debs
}

func TestBuildLabelsTheImageWithTheDebianPackagesFilesCameFrom(t *testing.T) {
	cache := t.TempDir()
	fakeDeb(t, cache, "busybox-static", "arm64", map[string]string{"bin/busybox": "bb"},
		&Deb{Package: "busybox-static", Version: "1:1.35.0-4+b3", Arch: "arm64"})
	fakeDeb(t, cache, "ca-certificates", "arm64", map[string]string{"etc/ssl/certs/ca.pem": "pem"},
		&Deb{Package: "ca-certificates", Version: "20230311", Arch: "all"})
	got := debsOf(t, `image: keel/bb
files:
  - path: /etc/ssl/certs/ca.pem
    deb: ca-certificates
    source: /etc/ssl/certs/ca.pem
  - path: /usr/bin/busybox
    deb: busybox-static
    source: /bin/busybox
  - path: /bin/busybox
    deb: busybox-static
    source: /bin/busybox
  - path: /etc/motd
    contents: hi
`, cache)
	want := []Deb{
		{Package: "busybox-static", Version: "1:1.35.0-4+b3", Arch: "arm64", Files: []string{"/bin/busybox", "/usr/bin/busybox"}},
		{Package: "ca-certificates", Version: "20230311", Arch: "all", Files: []string{"/etc/ssl/certs/ca.pem"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("debs = %+v\nwant %+v", got, want)
	}
}

func TestBuildWithoutDebFilesHasNoDebsLabel(t *testing.T) {
	if got := debsOf(t, "image: keel/x\nfiles:\n  - path: /etc/motd\n    contents: hi\n", t.TempDir()); got != nil {
		t.Errorf("debs = %+v, want none", got)
	}
}

func TestBuildFromADebCachedWithoutVersionRecordsAnEmptyVersion(t *testing.T) {
	cache := t.TempDir()
	fakeDeb(t, cache, "busybox-static", "arm64", map[string]string{"bin/busybox": "bb"}, nil)
	got := debsOf(t, "image: keel/bb\nfiles:\n  - path: /bin/busybox\n    deb: busybox-static\n    source: /bin/busybox\n", cache)
	want := []Deb{{Package: "busybox-static", Arch: "arm64", Files: []string{"/bin/busybox"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("debs = %+v, want %+v", got, want)
	}
}

func TestDebRootRejectsAVersionRecordForAnotherPackage(t *testing.T) {
	cache := t.TempDir()
	fakeDeb(t, cache, "busybox-static", "arm64", map[string]string{"bin/busybox": "bb"}, &Deb{Package: "busybox", Version: "1", Arch: "arm64"})
	if _, _, err := debRoot(context.Background(), "busybox-static", "arm64", cache); err == nil {
		t.Error("debRoot accepted a record naming another package")
	}
}

func TestParseControlReadsPackageVersionAndArchitecture(t *testing.T) {
	got, err := parseControl("Package: busybox-static\nVersion: 1:1.35.0-4+b3\nArchitecture: s390x\n")
	want := Deb{Package: "busybox-static", Version: "1:1.35.0-4+b3", Arch: "s390x"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseControl = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseControl("Package: x\n"); err == nil {
		t.Error("parseControl accepted fields without Version and Architecture")
	}
}

func TestParseDebsLabelRejectsEntriesWithoutPackageOrArch(t *testing.T) {
	for _, v := range []string{`[{"version":"1","arch":"amd64"}]`, `[{"package":"x"}]`, `{`} {
		if _, err := ParseDebsLabel(v); err == nil {
			t.Errorf("ParseDebsLabel(%s) succeeded", v)
		}
	}
}

// TestUnpackDebRecordsTheVersionDpkgDebReads builds a small .deb with dpkg-deb, unpacks it
// as debRoot does after apt-get download, and checks that a later debRoot reads its version.
func TestUnpackDebRecordsTheVersionDpkgDebReads(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "DEBIAN", "control"), "Package: keel-test\nVersion: 2:1.0-3+b1\nArchitecture: s390x\nMaintainer: nobody <nobody@example.com>\nDescription: test\n")
	writeFile(t, filepath.Join(src, "bin", "tool"), "tool")
	deb := filepath.Join(t.TempDir(), "keel-test.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	cache := t.TempDir()
	root := filepath.Join(cache, "deb", "keel-test_s390x")
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	want := Deb{Package: "keel-test", Version: "2:1.0-3+b1", Arch: "s390x"}
	got, info, err := unpackDeb(context.Background(), deb, filepath.Join(t.TempDir(), "x"), root)
	if err != nil {
		t.Fatal(err)
	}
	if got != root || !reflect.DeepEqual(info, want) {
		t.Errorf("unpackDeb = %s, %+v; want %s, %+v", got, info, root, want)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "tool")); err != nil {
		t.Errorf("not unpacked: %v", err)
	}
	got, info, err = debRoot(context.Background(), "keel-test", "s390x", cache)
	if err != nil || got != root || !reflect.DeepEqual(info, want) {
		t.Errorf("debRoot from the cache = %s, %+v, %v; want %+v", got, info, err, want)
	}
}
