package pkg

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConcatJoinsMatchingFilesInNameOrderEachEndingInANewline(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), `image: keel/certs
files:
  - path: /etc/ssl/certs/bundle.crt
    source: certs
    concat: "*.crt"
`)
	writeFile(t, filepath.Join(dir, "certs", "b.crt"), "B\n")
	writeFile(t, filepath.Join(dir, "certs", "a.crt"), "A") // no final newline
	writeFile(t, filepath.Join(dir, "certs", "C.crt"), "C\n")
	writeFile(t, filepath.Join(dir, "certs", "README"), "not a certificate\n")
	writeFile(t, filepath.Join(dir, "certs", "sub.crt", "x.crt"), "a directory is skipped\n")
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, img, err := p.Build(context.Background(), Options{Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	_, entries := readLayer(t, img)
	e, ok := entries["etc/ssl/certs/bundle.crt"]
	if !ok {
		t.Fatal("no bundle in the layer")
	}
	if got, want := string(e.data), "C\nA\nB\n"; got != want {
		t.Errorf("bundle %q, want %q", got, want)
	}
	if e.hdr.Mode != 0o644 {
		t.Errorf("mode %o, want 644", e.hdr.Mode)
	}
}

func TestConcatOfADebDirectoryIsListedUnderThePackage(t *testing.T) {
	cache := t.TempDir()
	fakeDeb(t, cache, "ca-certificates", "arm64", map[string]string{
		"usr/share/ca-certificates/mozilla/a.crt": "A\n",
	}, &Deb{Package: "ca-certificates", Version: "20250419", Arch: "all"})
	got := debsOf(t, `image: keel/certs
files:
  - path: /etc/ssl/certs/ca-certificates.crt
    deb: ca-certificates
    source: /usr/share/ca-certificates/mozilla
    concat: "*.crt"
`, cache)
	want := []Deb{{Package: "ca-certificates", Version: "20250419", Arch: "all", Files: []string{"/etc/ssl/certs/ca-certificates.crt"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("debs %+v, want %+v", got, want)
	}
}

func TestConcatMatchingNothingNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), "image: keel/certs\nfiles:\n  - path: /b\n    source: certs\n    concat: \"*.pem\"\n")
	writeFile(t, filepath.Join(dir, "certs", "a.crt"), "A\n")
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Build(context.Background(), Options{Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "build.yml:3") || !strings.Contains(err.Error(), `matches "*.pem"`) {
		t.Errorf("err %v, want a build.yml:3 error that nothing matches", err)
	}
}

func TestLoadRejectsConcatWithoutSourceOrWithABadPattern(t *testing.T) {
	for yml, want := range map[string]string{
		"  - path: /b\n    contents: x\n    concat: \"*\"\n":     "concat needs source",
		"  - path: /b\n    source: d\n    concat: \"[\"\n":       "not a file name pattern",
		"  - path: /b\n    source: d\n    concat: \"a/*.crt\"\n": "not a file name pattern",
	} {
		_, err := Parse("build.yml", []byte("image: keel/x\nfiles:\n"+yml))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "build.yml:3") {
			t.Errorf("%q: err %v, want build.yml:3 ... %s", yml, err, want)
		}
	}
}

func TestAptDownloadFetchesAnArchAllPackageAsAll(t *testing.T) {
	var calls []string
	run := func(_ context.Context, _ string, argv ...string) ([]byte, error) {
		calls = append(calls, strings.Join(argv, " "))
		if strings.HasSuffix(argv[len(argv)-1], ":s390x") {
			return []byte("E: Can't select candidate version from package ca-certificates:s390x as it has no candidate\n"), errors.New("exit status 100")
		}
		return nil, nil
	}
	if err := aptDownload(context.Background(), t.TempDir(), "ca-certificates", "s390x", run); err != nil {
		t.Fatal(err)
	}
	want := []string{"apt-get download ca-certificates:s390x", "apt-get download ca-certificates:all"}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("ran %q, want %q", calls, want)
	}
}

func TestAptDownloadReportsOtherFailuresWithoutTryingAll(t *testing.T) {
	var calls int
	run := func(context.Context, string, ...string) ([]byte, error) {
		calls++
		return []byte("E: Unable to locate package nosuch\n"), errors.New("exit status 100")
	}
	err := aptDownload(context.Background(), t.TempDir(), "nosuch", "arm64", run)
	if err == nil || !strings.Contains(err.Error(), "Unable to locate package") || calls != 1 {
		t.Errorf("err %v after %d runs, want apt's message after one", err, calls)
	}
}
