package pkg

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/keel-os/keel/rootfs/tarout"
	"github.com/keel-os/keel/rootfs/tree"
)

// layer is the package's layer as it is put together: the tree, and where in build.yml each
// path was defined ("build.yml:12"), so that defining a path twice is an error naming both.
// Parents created on the way have no origin.
type layer struct {
	tree   *tree.Tree
	origin map[string]string
	debs   map[string]*Deb   // the Debian packages deb: files came from, by name
	libs   map[string]string // image paths of the loaders and libraries libs: added → host file
}

func newLayer() *layer {
	return &layer{tree: tree.New(), origin: map[string]string{}, debs: map[string]*Deb{}, libs: map[string]string{}}
}

// add puts n at the absolute image path p, creating missing parent directories.
func (l *layer) add(p string, n *tree.Node, origin string) error {
	key, err := tree.Clean(p)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %s: %w", origin, p, err)
	case key == "":
		return fmt.Errorf("%s: cannot replace the root directory", origin)
	}
	if old, ok := l.origin[key]; ok {
		return fmt.Errorf("%s: %s already defined at %s", origin, p, old)
	}
	if _, err := l.tree.Lookup(key); err == nil && !n.IsDir() {
		return fmt.Errorf("%s: %s must be a directory: other entries are inside it", origin, p)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if parent, err := l.tree.Lookup(dir); err == nil {
			if !parent.IsDir() {
				return fmt.Errorf("%s: parent /%s of %s is not a directory (defined at %s)", origin, dir, p, l.origin[dir])
			}
			break
		}
	}
	l.origin[key] = origin
	return l.tree.Add(key, n)
}

// addHost copies the host file or directory src to the image path p. mode, when non-nil,
// overrides the permission bits of src itself (not of what a directory contains).
func (l *layer) addHost(p, src string, mode *Mode, origin string) error {
	var addErr error
	err := tree.ReadHost(src, func(rel string, n *tree.Node) error {
		if rel == "." {
			if mode != nil {
				n.Mode = n.Type() | mode.perm()
			}
			addErr = l.add(p, n, origin)
		} else {
			addErr = l.add(path.Join(p, rel), n, origin+" ("+rel+")")
		}
		return addErr
	})
	if addErr != nil {
		return addErr
	}
	if err != nil {
		return fmt.Errorf("%s: source: %w", origin, err)
	}
	return nil
}

// addHardLinked puts one file at every path in paths: the tar writer stores the contents
// with the first of them in layer order and makes the others hard links to it.
func (l *layer) addHardLinked(paths []string, data []byte, mode fs.FileMode, origin string) error {
	n := &tree.Node{Mode: mode, Data: data}
	for _, p := range paths {
		if err := l.add(p, n, origin); err != nil {
			return err
		}
	}
	return nil
}

// tarball writes the layer as an uncompressed tar with every mtime set to epoch (see
// package tarout: sorted, owned by 0:0, equal trees give equal bytes).
func (l *layer) tarball(epoch time.Time) ([]byte, error) {
	l.tree.SetModTimes(epoch)
	var buf bytes.Buffer
	if err := tarout.WriteClamped(&buf, l.tree, nil); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}
