package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// LinuxKit's build.yml keys: org prefixes the image, arches are built in one run (those Keel
// does not build are named and skipped) and pushed as one multi-arch index.
func TestPkgBuildTakesLinuxKitsOrgAndArchesAndPushesOneIndex(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir, cache := t.TempDir(), t.TempDir()
	writeYAML(t, dir, "build.yml", `org: testorg
image: motd
network: true
dependents: [../other]
arches:
  - amd64
  - arm64
  - riscv64
files:
  - path: /etc/motd
    contents: "hello\n"
`)
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/testorg/motd:dev"
	code, stdout, stderr := keel(t, "pkg", "build", "--cache", cache, "--push", ref, dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"testorg/motd:dev sha256:", "(amd64)", "(arm64)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "skipping arches Keel does not build: [riscv64]") {
		t.Errorf("stderr does not name the skipped arch: %s", stderr)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("pushed ref is not an index: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range m.Manifests {
		plats = append(plats, d.Platform.String())
	}
	if got := strings.Join(plats, " "); got != "linux/amd64 linux/arm64" {
		t.Errorf("index platforms %q", got)
	}

	// An arch the package does not list is refused, naming the line of arches:.
	code, _, stderr = keel(t, "pkg", "build", "--cache", cache, "--arch", "s390x", dir)
	if code == 0 || !strings.Contains(stderr, filepath.Join(dir, "build.yml")+":5: s390x is not among the package's arches") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// A LinuxKit package is a Dockerfile: Keel says it cannot build one instead of making an
// empty image.
func TestPkgBuildRefusesADockerfilePackageClearly(t *testing.T) {
	cache := t.TempDir()
	bare := t.TempDir()
	writeYAML(t, bare, "Dockerfile", "FROM scratch\n")
	code, _, stderr := keel(t, "pkg", "build", "--cache", cache, bare)
	if code == 0 || !strings.Contains(stderr, "has a Dockerfile and no build.yml: keel pkg build runs no Dockerfiles") {
		t.Errorf("no build.yml: exit %d, stderr %q", code, stderr)
	}
	lk := t.TempDir()
	writeYAML(t, lk, "Dockerfile", "FROM scratch\n")
	writeYAML(t, lk, "build.yml", "image: getty\norg: linuxkit\nconfig:\n  pid: host\n")
	code, _, stderr = keel(t, "pkg", "build", "--cache", cache, lk)
	if code == 0 || !strings.Contains(stderr, "a LinuxKit package built from its Dockerfile") {
		t.Errorf("LinuxKit build.yml: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cache, "store", "index.json")); err == nil {
		data, _ := os.ReadFile(filepath.Join(cache, "store", "index.json"))
		if strings.Contains(string(data), "linuxkit/getty") {
			t.Errorf("an image was stored: %s", data)
		}
	}
}

func TestPkgBuildNamesLinuxKitsDockerfileKeysAsTheReason(t *testing.T) {
	dir := t.TempDir()
	writeYAML(t, dir, "build.yml", "image: x\nbuildArgs: [A=b]\nfiles:\n  - path: /etc/motd\n    contents: hi\n")
	code, _, stderr := keel(t, "pkg", "build", "--cache", t.TempDir(), dir)
	if code == 0 || !strings.Contains(stderr, filepath.Join(dir, "build.yml")+":2: buildArgs: a LinuxKit package built from its Dockerfile") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
