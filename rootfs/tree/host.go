package tree

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadHost reads the host file or directory src, to be copied into a tree: it calls fn with
// the slash-separated path of each entry relative to src ("." for src itself) and a new Node
// holding the entry's type, permission bits (with setuid, setgid and sticky), contents or
// link target, owned by root, with a zero ModTime. fn may change the node and add it
// wherever it likes.
//
// src itself is followed if it is a symbolic link; a directory is read recursively, parents
// before their entries and entries in lexical order, and the links inside it are kept as
// links. Host hard links become separate files. Device nodes, FIFOs and sockets are an
// error. An error returned by fn stops the walk and is returned as is.
func ReadHost(src string, fn func(rel string, n *Node) error) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		n, err := hostNode(src, fi)
		if err != nil {
			return err
		}
		return fn(".", n)
	}
	if src, err = filepath.EvalSymlinks(src); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, hp)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n, err := hostNode(hp, fi)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), n)
	})
}

// hostNode reads the host file p, whose (lstat) information is fi.
func hostNode(p string, fi fs.FileInfo) (*Node, error) {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		return &Node{Mode: m & permBits, Data: data}, nil
	case m.IsDir():
		return &Node{Mode: ModeDir | m&permBits}, nil
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		return &Node{Mode: ModeSymlink | 0o777, Target: target}, nil
	}
	return nil, fmt.Errorf("%s: not a regular file, directory or symlink", p)
}
