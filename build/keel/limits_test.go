package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildMaxFileSizeRefusesLargerFileNamingImageLayerAndPath(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir := t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf("init:\n  - %s/keel/init:1\n", host))
	out := filepath.Join(dir, "out")
	// "init" holds "pid one", 7 bytes.
	code, _, stderr := keel(t, "build", "--cache", t.TempDir(), "-o", out, "--max-file-size", "4", yml)
	if code == 0 {
		t.Fatal("build succeeded")
	}
	for _, want := range []string{`image "` + host + `/keel/init:1"`, "apply layer sha256:", `entry "init"`, "over the 4 bytes limit", "--max-file-size 4"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error %q does not name %s", stderr, want)
		}
	}
	if code, _, stderr := keel(t, "build", "--cache", t.TempDir(), "-o", out, "--format", "tar", "--max-file-size", "7", yml); code != 0 {
		t.Errorf("7-byte limit: exit %d: %s", code, stderr)
	}
	if code, _, stderr := keel(t, "build", "--max-image-size", "lots", yml); code == 0 || !strings.Contains(stderr, "--max-image-size") {
		t.Errorf("bad size: exit %d: %s", code, stderr)
	}
}
