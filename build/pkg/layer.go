package pkg

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// entry is one file system object of the layer.
type entry struct {
	typ    byte // tar.TypeReg, TypeDir, TypeSymlink or TypeLink
	mode   int64
	data   []byte // contents of a regular file
	link   string // symlink target, or for a hard link the layer name of its target
	origin string // where it was defined, e.g. "build.yml:12"; "" for an implied parent
}

// tree is the layer's contents keyed by path without the leading slash ("usr/bin/getty").
type tree map[string]*entry

// add puts e at the absolute image path p, creating missing parent directories.
func (t tree) add(p string, e *entry) error {
	key := strings.TrimPrefix(path.Clean(p), "/")
	if key == "" || key == "." {
		return fmt.Errorf("%s: cannot replace the root directory", e.origin)
	}
	if old, ok := t[key]; ok {
		switch {
		case old.origin != "":
			return fmt.Errorf("%s: %s already defined at %s", e.origin, p, old.origin)
		case e.typ != tar.TypeDir:
			return fmt.Errorf("%s: %s must be a directory: other entries are inside it", e.origin, p)
		}
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		parent, ok := t[dir]
		if ok && parent.typ != tar.TypeDir {
			return fmt.Errorf("%s: parent /%s of %s is not a directory (defined at %s)", e.origin, dir, p, parent.origin)
		}
		if ok {
			break // its own parents exist already
		}
		t[dir] = &entry{typ: tar.TypeDir, mode: 0o755}
	}
	t[key] = e
	return nil
}

// addHost copies the host file or directory src to the image path p. mode, when non-nil,
// overrides the permission bits of src itself (not of what a directory contains).
func (t tree) addHost(p, src string, mode *Mode, origin string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("%s: source: %w", origin, err)
	}
	if !fi.IsDir() {
		return t.addHostEntry(p, src, fi, mode, origin)
	}
	// Walk the directory itself when src is a symlink to one; links inside are kept.
	if src, err = filepath.EvalSymlinks(src); err != nil {
		return fmt.Errorf("%s: source: %w", origin, err)
	}
	return filepath.WalkDir(src, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: source: %w", origin, err)
		}
		rel, err := filepath.Rel(src, hp)
		if err != nil {
			return fmt.Errorf("%s: source: %w", origin, err)
		}
		ip, m, o := p, mode, origin
		if rel != "." {
			ip, m, o = path.Join(p, filepath.ToSlash(rel)), nil, origin+" ("+filepath.ToSlash(rel)+")"
		}
		info, err := os.Lstat(hp)
		if err != nil {
			return fmt.Errorf("%s: source: %w", origin, err)
		}
		return t.addHostEntry(ip, hp, info, m, o)
	})
}

func (t tree) addHostEntry(p, src string, fi fs.FileInfo, mode *Mode, origin string) error {
	e := &entry{mode: tarMode(fi.Mode()), origin: origin}
	if mode != nil {
		e.mode = int64(*mode)
	}
	switch {
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("%s: source: %w", origin, err)
		}
		e.typ, e.data = tar.TypeReg, data
	case fi.IsDir():
		e.typ = tar.TypeDir
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("%s: source: %w", origin, err)
		}
		e.typ, e.link, e.mode = tar.TypeSymlink, target, 0o777
	default:
		return fmt.Errorf("%s: source %s: unsupported file type %s", origin, src, fi.Mode().Type())
	}
	return t.add(p, e)
}

// addHardLinked puts the same contents at every path in paths: the first path in layer
// order holds the data and the others are hard links to it, so a tar reader always meets
// the target before its links.
func (t tree) addHardLinked(paths []string, data []byte, mode int64, origin string) error {
	sorted := append([]string(nil), paths...)
	sort.Slice(sorted, func(i, j int) bool { return layerName(sorted[i]) < layerName(sorted[j]) })
	for i, p := range sorted {
		e := &entry{typ: tar.TypeReg, mode: mode, data: data, origin: origin}
		if i > 0 {
			e = &entry{typ: tar.TypeLink, mode: mode, link: layerName(sorted[0]), origin: origin}
		}
		if err := t.add(p, e); err != nil {
			return err
		}
	}
	return nil
}

func layerName(p string) string { return strings.TrimPrefix(path.Clean(p), "/") }

// tarMode turns fs mode bits into tar's: permissions plus setuid, setgid and sticky.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// tarball writes the tree as an uncompressed tar: entries in path order, owned by 0:0,
// every mtime set to epoch, so equal trees give equal bytes.
func (t tree) tarball(epoch time.Time) ([]byte, error) {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, k := range keys {
		e := t[k]
		hdr := &tar.Header{
			Typeflag: e.typ,
			Name:     k,
			Mode:     e.mode,
			ModTime:  epoch,
			Linkname: e.link,
		}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", k, err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, fmt.Errorf("layer entry %s: %w", k, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}
