package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileCreatesFileWithModeAndNoLeftovers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out-initrd.img")
	if err := WriteFile(p, 0o640, func(w io.Writer) error {
		_, err := io.WriteString(w, "data")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "data" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q", got)
	}
}

func TestWriteFileErrorLeavesNoFinalFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.tar")
	boom := errors.New("boom")
	err := WriteFile(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file exists after a failed write: %v", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

func TestWriteFileErrorKeepsPreviousContents(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.tar")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = WriteFile(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "new but incomplete")
		return errors.New("boom")
	})
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("previous contents replaced: %q", b)
	}
	if err := WriteFile(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("contents %q", b)
	}
}

func TestCloseWithoutCommitDiscards(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "x"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "x")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Close succeeded")
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("leftovers %q", got)
	}
}

func TestCreateInMissingDirectoryFails(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "x"), 0o644); err == nil {
		t.Error("created a file in a missing directory")
	}
}
