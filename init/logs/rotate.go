package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// rotator appends to dir/name and rotates it by size: name is the current file, name.1 the
// previous one, up to name.<maxFiles-1>; the oldest is removed. An existing file is appended to
// and its size counts. After an error the file is reopened on the next write.
type rotator struct {
	dir, name string
	maxSize   int64
	maxFiles  int

	f      *os.File
	size   int64
	closed bool
}

func (r *rotator) path() string { return filepath.Join(r.dir, r.name) }

// write writes p, a whole number of lines, rotating first if p would overflow a non-empty file.
func (r *rotator) write(p []byte) error {
	if r.closed {
		return fmt.Errorf("write %s: %w", r.path(), ErrClosed)
	}
	if r.f == nil {
		if err := r.open(); err != nil {
			return err
		}
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		r.f.Close()
		r.f = nil
		return fmt.Errorf("write %s: %w", r.path(), err)
	}
	return nil
}

func (r *rotator) open() error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	f, err := os.OpenFile(r.path(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// rotate shifts name.i to name.i+1, name to name.1, and opens a new name.
func (r *rotator) rotate() error {
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("rotate %s: %w", r.path(), err)
	}
	cur := r.path()
	if r.maxFiles <= 1 {
		if err := os.Remove(cur); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate: %w", err)
		}
		return r.open()
	}
	old := fmt.Sprintf("%s.%d", cur, r.maxFiles-1)
	if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate: %w", err)
	}
	for i := r.maxFiles - 2; i >= 1; i-- {
		from, to := fmt.Sprintf("%s.%d", cur, i), fmt.Sprintf("%s.%d", cur, i+1)
		if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate: %w", err)
		}
	}
	if err := os.Rename(cur, cur+".1"); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return r.open()
}

func (r *rotator) close() error {
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", r.path(), err)
	}
	return nil
}

// fileName turns a source name into a safe file name: "<source>.log", with any character
// other than letters, digits, '.', '_' and '-' replaced by '_' and no leading dot.
func fileName(source string) string {
	name := strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			return c
		}
		return '_'
	}, source)
	if name == "" || name[0] == '.' {
		name = "_" + name
	}
	return name + ".log"
}
