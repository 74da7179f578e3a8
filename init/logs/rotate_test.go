package logs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRotationKeepsMaxFilesAndBoundsTotalSize(t *testing.T) {
	dir := t.TempDir()
	const maxSize = 1 << 20
	m := New(Options{Dir: dir, MaxSize: maxSize, MaxFiles: 3})
	w := m.Writer("src", false)
	text := strings.Repeat("x", 1000-28) // 1000 bytes per file line with timestamp and newline
	line := []byte(text + "\n")
	for written := 0; written < 5<<20; written += len(line) {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if m.Errors() != 0 {
		t.Errorf("%d write errors", m.Errors())
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var total int64
	for _, e := range entries {
		names = append(names, e.Name())
		info, _ := e.Info()
		if info.Size() > maxSize {
			t.Errorf("%s is %d bytes, more than MaxSize", e.Name(), info.Size())
		}
		total += info.Size()
	}
	if want := []string{"src.log", "src.log.1", "src.log.2"}; !slices.Equal(names, want) {
		t.Errorf("files = %v, want %v", names, want)
	}
	if total > 3*maxSize+1000 {
		t.Errorf("total size %d > 3 MiB + one line", total)
	}
}

func TestExistingFileIsAppendedAndItsSizeCounts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "src.log")
	old := "previous boot\n"
	os.WriteFile(path, []byte(old), 0o644)

	m := New(Options{Dir: dir, MaxSize: int64(len(old)) + 40, Now: clock(start, 0)})
	defer m.Close()
	w := m.Writer("src", false)
	w.Write([]byte("one\n")) // 32 bytes: fits after the old content
	if got, want := readFile(t, path), old+"2026-11-23T16:00:00.123456Z one\n"; got != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
	w.Write([]byte("two\n")) // would overflow: rotates
	if got, want := readFile(t, path+".1"), old+"2026-11-23T16:00:00.123456Z one\n"; got != want {
		t.Errorf("rotated file = %q, want %q", got, want)
	}
	if got, want := readFile(t, path), "2026-11-23T16:00:00.123456Z two\n"; got != want {
		t.Errorf("current file = %q, want %q", got, want)
	}
}

func TestSingleFileRotationTruncates(t *testing.T) {
	dir := t.TempDir()
	m := New(Options{Dir: dir, MaxSize: 40, MaxFiles: 1})
	defer m.Close()
	w := m.Writer("src", false)
	w.Write([]byte("one\ntwo\n"))
	got := readFile(t, filepath.Join(dir, "src.log"))
	if !strings.HasSuffix(got, " two\n") || strings.Contains(got, "one") {
		t.Errorf("file = %q, want only the last line", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "src.log.1")); err == nil {
		t.Error("src.log.1 exists with MaxFiles 1")
	}
}
