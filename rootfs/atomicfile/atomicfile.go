// Package atomicfile writes output files atomically: the data goes to a temporary file in the
// destination's directory, which is renamed over the destination only once it is complete. A
// failed or abandoned write leaves the destination as it was (absent, or its old contents)
// and removes the temporary file.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is an output file being written. Write to it, then Commit; Close without Commit
// discards it.
type File struct {
	f      *os.File
	path   string
	perm   fs.FileMode
	closed bool
}

// Create starts writing the file at path, which will have mode perm (not subject to umask)
// once committed.
func Create(path string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{f: f, path: path, perm: perm}, nil
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// OSFile is the temporary file behind f, for writers that need WriteAt or Truncate (disk
// images) or a path to hand another program. Close and Commit still belong to f.
func (f *File) OSFile() *os.File { return f.f }

// Name returns the destination path.
func (f *File) Name() string { return f.path }

// Commit flushes the file to disk and renames it to its destination.
func (f *File) Commit() error {
	if f.closed {
		return fmt.Errorf("commit %s: already closed", f.path)
	}
	f.closed = true
	err := f.f.Chmod(f.perm)
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.f.Name())
		return fmt.Errorf("commit %s: %w", f.path, err)
	}
	return nil
}

// Close discards the file unless it was committed. It is safe to defer Close and call Commit.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.f.Close()
	if rerr := os.Remove(f.f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// WriteFile writes the file at path with the output of fn, atomically: if fn (or writing)
// fails, path is left as it was.
func WriteFile(path string, perm fs.FileMode, fn func(w io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fn(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}
