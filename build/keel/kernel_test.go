package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/build/kernel"
	"github.com/keel-os/keel/build/pkg"
)

// The kernel stored as keel/kernel:dev stays; other superseded kernels go, and the command
// says what it removed and freed.
func TestKernelPruneKeepsTheStoredDevKernelAndReportsWhatItFreed(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc: the current kernel cannot be told, so all stay")
	}
	cache := t.TempDir()
	root := filepath.Join(cache, "kernel")
	tarball := writeTemp(t, "linux.tar.xz", "not really a kernel source")
	for dir, data := range map[string]string{
		"amd64-0000000000000000": "the dev kernel",
		"amd64-1111111111111111": "an old kernel, 34 bytes long......",
	} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		if err := os.WriteFile(filepath.Join(root, dir, kernel.KernelFile), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := openStore(cache)
	if err != nil {
		t.Fatal(err)
	}
	mode := pkg.Mode(0o644)
	p := &pkg.Package{
		Dir: filepath.Join(root, "amd64-0000000000000000"), File: "test", Image: "keel/kernel",
		Files: []pkg.File{{Path: "/" + kernel.KernelFile, Source: kernel.KernelFile, Mode: &mode}},
	}
	if _, _, err := p.Build(context.Background(), pkg.Options{Arch: "amd64", Store: store.PutPlatform}); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := kernelCmd([]string{"prune", "--dry-run", "--cache", cache, "--source", tarball}, &out, &errOut); err != nil {
		t.Fatalf("prune --dry-run: %v\n%s", err, errOut.String())
	}
	old := filepath.Join(root, "amd64-1111111111111111")
	want := "would remove " + old + " (0.0 MB)\nkernel cache: would free 0.0 MB in 1 directories\n"
	if out.String() != want {
		t.Errorf("dry run printed\n%s\nwant\n%s", out.String(), want)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("dry run removed %s", old)
	}

	out.Reset()
	if err := kernelCmd([]string{"prune", "--cache", cache, "--source", tarball}, &out, &errOut); err != nil {
		t.Fatalf("prune: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "removed "+old+" ") {
		t.Errorf("prune printed %q", out.String())
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("%s is still there", old)
	}
	if _, err := os.Stat(filepath.Join(root, "amd64-0000000000000000", kernel.KernelFile)); err != nil {
		t.Errorf("the dev kernel went: %v", err)
	}
}

func TestKernelPruneRefusesArguments(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := kernelCmd([]string{"prune", "--cache", t.TempDir(), "extra"}, &out, &errOut); err != errUsage {
		t.Errorf("err = %v, want errUsage", err)
	}
}
