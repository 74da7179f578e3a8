package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Paths PID 1 creates or mounts on for a container's runtime.json lie in trees an image or an
// earlier container wrote: a symlink there must not take a mkdir or a mount out of the tree.
// These helpers resolve a path inside a root as if the root were / (a symlink to /etc means
// ROOT/etc), create missing directories without following a symlink out of it, and hand
// back an O_PATH handle, which mount(2) reaches through /proc/self/fd: the directory checked
// is the one mounted on.

// mkdirInRoot creates the directory unsafePath inside root with its missing parents and
// returns an O_PATH handle to it.
func mkdirInRoot(root, unsafePath string, mode os.FileMode) (*os.File, error) {
	r, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d, err := pathrs.MkdirAllHandle(r, unsafePath, mode)
	if err != nil {
		return nil, fmt.Errorf("mkdir %s in %s: %w", unsafePath, root, err)
	}
	return d, nil
}

// openInRoot opens unsafePath inside root as an O_PATH handle, resolved as mkdirInRoot does.
func openInRoot(root, unsafePath string) (*os.File, error) {
	f, err := pathrs.OpenInRoot(root, unsafePath)
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", unsafePath, root, err)
	}
	return f, nil
}

// createInRoot creates the empty file unsafePath inside root, unless it exists, with its
// missing parent directories, and returns an O_PATH handle to it. The last component is
// never followed when it is a symlink.
func createInRoot(root, unsafePath string, mode os.FileMode) (*os.File, error) {
	dir, base := filepath.Split(filepath.Clean(unsafePath))
	if base == "" || base == "." || base == ".." || base == "/" {
		return nil, fmt.Errorf("create %s in %s: not a file name", unsafePath, root)
	}
	d, err := mkdirInRoot(root, dir, 0o755)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fd, err := unix.Openat(int(d.Fd()), base, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return nil, fmt.Errorf("create %s in %s: %w", unsafePath, root, err)
	}
	unix.Close(fd)
	fd, err = unix.Openat(int(d.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", unsafePath, root, err)
	}
	return os.NewFile(uintptr(fd), unsafePath), nil
}

// fdPath is the path through which a system call reaches the file a handle holds.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }
