package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A LinuxKit user's file names linuxkit/* system images: keel build takes Keel's packages
// from the local store instead, offline, and says so with the file and line of each.
func TestBuildSubstitutesLinuxKitSystemImagesFromTheLocalStore(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir, cache := t.TempDir(), t.TempDir()
	storeImages(t, cache, map[string]v1.Image{
		"keel/kernel:dev": testImage(t, map[string]string{"kernel": "not really a bzImage", "kernel.tar": modulesTar(t)}, nil, ""),
		"keel/init:dev":   testImage(t, map[string]string{"sbin/init": "keel pid one"}, nil, ""),
		"keel/getty:dev":  testImage(t, map[string]string{"usr/bin/getty": "keel getty"}, []string{"/usr/bin/getty"}, `{"pid": "host"}`),
	})
	yml := writeYAML(t, dir, "linuxkit.yml", `kernel:
  image: linuxkit/kernel:6.6.71
  cmdline: "console=tty0 console=ttyS0"
init:
  - linuxkit/init:8eea386739975a43af558eec757a7dcb3a3d2e7b
  - linuxkit/runc:667e7ea2c426a2460ca21e3da065a57dbb3369c9
  - linuxkit/containerd:a988a1a8bcbacb2c0c4a2c3f6b1e8c1d8b7e9f00
services:
  - name: getty
    image: linuxkit/getty:v1.0.0
    env:
     - INSECURE=true
`)
	out := filepath.Join(dir, "out")
	code, _, stderr := keel(t, "build", "--arch", "amd64", "--cache", cache, "--offline", "--format", "tar", "-o", out, yml)
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"keel build: substitute " + yml + ":2: kernel: image linuxkit/kernel:6.6.71 → keel/kernel:dev",
		"keel build: substitute " + yml + ":6: init[1] linuxkit/runc:667e7ea2c426a2460ca21e3da065a57dbb3369c9: dropped, keel/init already holds it",
		"keel build: substitute " + yml + `:10: services[0] "getty": image linuxkit/getty:v1.0.0 → keel/getty:dev`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "linuxkit.tar"))
	if err != nil || !strings.Contains(string(data), "keel pid one") || !strings.Contains(string(data), "keel getty") {
		t.Errorf("the tar lacks Keel's init or getty: %v", err)
	}

	// --no-substitute asks for the originals, which offline means: not found, named.
	code, _, stderr = keel(t, "build", "--arch", "amd64", "--cache", cache, "--offline", "--no-substitute", "--format", "tar", "-o", filepath.Join(dir, "orig"), yml)
	if code == 0 || !strings.Contains(stderr, "linuxkit/") || strings.Contains(stderr, "substitute") {
		t.Errorf("--no-substitute: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "orig", "linuxkit.tar")); !os.IsNotExist(err) {
		t.Errorf("a failed build left output: %v", err)
	}
}

func TestValidateChecksLinuxKitFilesAgainstTheSubstitutes(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	storeImages(t, cache, map[string]v1.Image{
		"keel/getty:dev": testImage(t, map[string]string{"usr/bin/getty": "keel getty"}, []string{"/usr/bin/getty"}, `{"pid": "host"}`),
	})
	yml := writeYAML(t, dir, "lk.yml", "services:\n  - name: getty\n    image: linuxkit/getty:v1.0.0\n    env: [INSECURE=true]\n")
	code, stdout, stderr := keel(t, "validate", "--arch", "amd64", "--cache", cache, yml)
	if code != 0 || !strings.Contains(stdout, "1 images checked, 0 not checked") || !strings.Contains(stderr, "keel validate: substitute") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}
