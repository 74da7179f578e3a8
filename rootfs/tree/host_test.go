package tree

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// readHost collects what ReadHost reports, by relative path, and the order of the paths.
func readHost(t *testing.T, src string) ([]string, map[string]*Node) {
	t.Helper()
	var order []string
	got := map[string]*Node{}
	if err := ReadHost(src, func(rel string, n *Node) error {
		order = append(order, rel)
		got[rel] = n
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return order, got
}

func TestReadHostReadsADirectoryParentsFirstKeepingLinksInside(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "d", "sub"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "d", "sub", "f"), []byte("x"), 0o640))
	must(t, os.WriteFile(filepath.Join(dir, "d", "a"), []byte("a"), 0o755))
	must(t, os.Chmod(filepath.Join(dir, "d", "a"), fs.ModeSetuid|0o755))
	must(t, os.Symlink("sub/f", filepath.Join(dir, "d", "l")))
	must(t, os.Chmod(filepath.Join(dir, "d"), 0o711))

	order, got := readHost(t, filepath.Join(dir, "d"))
	if want := []string{".", "a", "l", "sub", "sub/f"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order = %q, want %q", order, want)
	}
	for rel, want := range map[string]fs.FileMode{
		".":     ModeDir | 0o711,
		"a":     fs.ModeSetuid | 0o755,
		"l":     ModeSymlink | 0o777,
		"sub":   ModeDir | 0o750,
		"sub/f": 0o640,
	} {
		if n := got[rel]; n == nil || n.Mode != want || n.UID != 0 || !n.ModTime.IsZero() {
			t.Errorf("%s = %+v, want mode %v, root, no time", rel, n, want)
		}
	}
	if string(got["sub/f"].Data) != "x" || got["l"].Target != "sub/f" {
		t.Errorf("contents %q, link target %q", got["sub/f"].Data, got["l"].Target)
	}
}

func TestReadHostFollowsTheSourceItselfWhenItIsALink(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "real"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "real", "f"), []byte("x"), 0o644))
	must(t, os.Symlink("real", filepath.Join(dir, "dirlink")))
	must(t, os.Symlink("real/f", filepath.Join(dir, "filelink")))

	if order, got := readHost(t, filepath.Join(dir, "dirlink")); !reflect.DeepEqual(order, []string{".", "f"}) || !got["."].IsDir() {
		t.Errorf("link to a directory: %q", order)
	}
	if _, got := readHost(t, filepath.Join(dir, "filelink")); !got["."].IsRegular() || string(got["."].Data) != "x" {
		t.Errorf("link to a file: %+v", got["."])
	}
}

func TestReadHostRefusesAFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Skip(err)
	}
	err := ReadHost(dir, func(string, *Node) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "fifo: not a regular file, directory or symlink") {
		t.Errorf("err = %v", err)
	}
}

func TestReadHostReturnsTheCallbacksErrorAsIs(t *testing.T) {
	want := fs.ErrExist
	if err := ReadHost(t.TempDir(), func(string, *Node) error { return want }); err != want {
		t.Errorf("err = %v, want %v", err, want)
	}
}
