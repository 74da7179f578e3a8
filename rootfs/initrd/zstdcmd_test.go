package initrd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/rootfs/tree"
	"github.com/klauspost/compress/zstd"
)

// zstdTool is the zstd command, or a skip (a failure under KEEL_INTEGRATION=require, as in
// make test, whose machine has it).
func zstdTool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		if os.Getenv("KEEL_INTEGRATION") == "require" {
			t.Fatalf("zstd command not installed (KEEL_INTEGRATION=require)")
		}
		t.Skip("zstd command not installed")
	}
}

// binaryTree is a tree holding a slice of this test binary: machine code, which the encoders
// compress as they compress an image's programs.
func binaryTree(t *testing.T, size int) *tree.Tree {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > size {
		b = b[:size]
	}
	tr := tree.New()
	if err := tr.AddFile("init", 0o755, 0, 0, b); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestZstdMaxIsSmallerThanZstdAndUnpacksWithinZstdsWindow(t *testing.T) {
	zstdTool(t)
	tr := binaryTree(t, 2<<20)
	raw := write(t, tr, Options{Compression: None})
	best := write(t, tr, Options{Compression: Zstd})
	max := write(t, tr, Options{Compression: ZstdMax})
	// The kernel allocates the frame's window to unpack it: ZstdMax must need no more
	// memory than Zstd.
	dec, err := zstd.NewReader(bytes.NewReader(max), zstd.WithDecoderMaxWindow(32<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if b, err := io.ReadAll(dec); err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("unzstd within a 32 MiB window: %v, equal %v", err, bytes.Equal(b, raw))
	}
	if len(max) >= len(best) {
		t.Errorf("zstd-max %d bytes, not smaller than zstd's %d", len(max), len(best))
	}
	t.Logf("%d bytes: zstd %d, zstd-max %d", len(raw), len(best), len(max))
}

func TestZstdMaxIsByteIdenticalForTheSameTree(t *testing.T) {
	zstdTool(t)
	a := write(t, sample(t, true), Options{Compression: ZstdMax})
	b := write(t, sample(t, true), Options{Compression: ZstdMax})
	if !bytes.Equal(a, b) {
		t.Error("two writes differ")
	}
}

func TestZstdMaxWithoutTheZstdCommandSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var buf bytes.Buffer
	err := Write(&buf, sample(t, false), Options{Compression: ZstdMax})
	if err == nil || !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "zstd-max") ||
		!strings.Contains(err.Error(), "package zstd") {
		t.Fatalf("err = %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written", buf.Len())
	}
}

func TestZstdMaxPassesOnWhatAFailingZstdSaid(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'zstd: option --ultra unknown' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "zstd"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	// A small archive fits in the pipe before zstd exits; a large one meets the closed pipe.
	for name, tr := range map[string]*tree.Tree{"small": sample(t, false), "large": binaryTree(t, 4<<20)} {
		err := Write(io.Discard, tr, Options{Compression: ZstdMax})
		if err == nil || !strings.Contains(err.Error(), "option --ultra unknown") {
			t.Errorf("%s archive: err = %v, want zstd's message", name, err)
		}
	}
}

func TestZstdMaxReportsTheOutputsError(t *testing.T) {
	zstdTool(t)
	w := &failWriter{n: 10}
	err := Write(w, binaryTree(t, 1<<20), Options{Compression: ZstdMax})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
}
