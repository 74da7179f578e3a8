package assemble

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/tree"
)

func TestFileSourceDirectoryRefusesAFifo(t *testing.T) {
	src := t.TempDir()
	fifo := filepath.Join(src, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	cfg := &spec.Config{Files: []spec.File{{Path: "srv", Source: src, Pos: spec.Pos{File: "m.yml", Line: 3}}}}
	err := testAssembler(cfg).files(tree.New())
	if err == nil || !strings.HasPrefix(err.Error(), `m.yml:3: files "srv": `) || !strings.Contains(err.Error(), fifo+": not a regular file, directory or symlink") {
		t.Fatalf("error %v; want one naming the entry and the fifo", err)
	}
}
