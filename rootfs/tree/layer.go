package tree

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OCI whiteout markers: "dir/.wh.name" deletes dir/name from the layers below; a
// "dir/.wh..wh..opq" entry hides everything the layers below have in dir.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Unpack returns the tree of img: its layers applied in order to an empty tree.
func Unpack(img v1.Image) (*Tree, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("unpack image: %w", err)
	}
	t := New()
	for _, l := range layers {
		if err := ApplyLayer(t, l); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ApplyLayer applies an image layer to t with the semantics of OCI layer changesets (see
// ApplyTar). Errors name the layer's digest.
func ApplyLayer(t *Tree, layer v1.Layer) error {
	d, err := layer.Digest()
	if err != nil {
		return fmt.Errorf("apply layer: digest: %w", err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("apply layer %s: %w", d, err)
	}
	defer rc.Close()
	if err := ApplyTar(t, rc); err != nil {
		return fmt.Errorf("apply layer %s: %w", d, err)
	}
	return nil
}

// EntryError is an error about one entry of a layer.
type EntryError struct {
	Name string // the entry's name, as in the archive
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %q: %v", e.Name, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

type entry struct {
	hdr  *tar.Header
	path string // cleaned
	data []byte
}

// ApplyTar applies an uncompressed layer tar to t, as a container runtime unpacks a layer
// over the ones below it:
//
//   - "dir/.wh.name" removes dir/name, and "dir/.wh..wh..opq" removes all of dir's entries,
//     of the layers below (whiteouts never hide entries of their own layer);
//   - an entry replaces what is at its path, except that a directory over a directory only
//     updates its mode, owner and time;
//   - hard links point at entries already in the tree (from this layer or one below).
//
// The layer is refused, before anything is changed, if an entry's name or a hard link's target
// is absolute or climbs above the root with "..". Entries are placed without following
// symbolic links: an entry whose parent is a symlink is an error (ErrSymlink), as is a hard
// link to a missing entry or to a directory. If an error occurs after that, t may have been
// partly changed.
func ApplyTar(t *Tree, r io.Reader) error {
	entries, err := readLayer(r)
	if err != nil {
		return err
	}
	// Whiteouts apply to the layers below, whatever their position in the archive.
	var rest []entry
	for _, e := range entries {
		dir, base := path.Split(e.path)
		if !strings.HasPrefix(base, whiteoutPrefix) {
			rest = append(rest, e)
			continue
		}
		if err := whiteout(t, strings.TrimSuffix(dir, "/"), base); err != nil {
			return &EntryError{Name: e.hdr.Name, Err: err}
		}
	}
	for _, e := range rest {
		if err := apply(t, e); err != nil {
			return &EntryError{Name: e.hdr.Name, Err: err}
		}
	}
	return nil
}

// readLayer reads and checks every entry of a layer.
func readLayer(r io.Reader) ([]entry, error) {
	tr := tar.NewReader(r)
	var entries []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %w", err)
		}
		p, err := layerPath(hdr.Name)
		if err != nil {
			return nil, &EntryError{Name: hdr.Name, Err: err}
		}
		if hdr.Typeflag == tar.TypeLink {
			if _, err := layerPath(hdr.Linkname); err != nil {
				return nil, &EntryError{Name: hdr.Name, Err: fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)}
			}
		}
		e := entry{hdr: hdr, path: p}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse: // the reader turns the old TypeRegA into TypeReg
			if e.data, err = io.ReadAll(tr); err != nil {
				return nil, &EntryError{Name: hdr.Name, Err: fmt.Errorf("read contents: %w", err)}
			}
		case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default:
			return nil, &EntryError{Name: hdr.Name, Err: fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)}
		}
		entries = append(entries, e)
	}
}

// layerPath cleans the name of a layer entry. Layer paths are relative to the root: an
// absolute name, or one that climbs above the root, is refused.
func layerPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		if strings.Trim(name, "/") == "" {
			return "", nil // "/" is the root
		}
		return "", errors.New("absolute path in layer")
	}
	p, err := Clean(name)
	if err != nil {
		return "", err
	}
	return p, nil
}

func whiteout(t *Tree, dir, base string) error {
	d, err := t.walkDir(dir, false)
	if err != nil {
		// Nothing below can be hidden under a missing directory, or under a link or a file.
		return nil
	}
	if base == whiteoutOpaque {
		d.children = map[string]*Node{}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // other aufs metadata (.wh..wh.plnk, ...): ignored
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid whiteout %q", base)
	}
	delete(d.children, name)
	return nil
}

func apply(t *Tree, e entry) error {
	h := e.hdr
	if h.Typeflag == tar.TypeLink {
		target, _ := layerPath(h.Linkname)
		n, err := t.Lookup(target)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", h.Linkname, errors.Unwrap(err))
		}
		if n.IsDir() {
			return fmt.Errorf("hard link to %q: target is a directory", h.Linkname)
		}
		if target == e.path {
			return nil
		}
		return t.add(e.path, n)
	}
	n := &Node{
		Mode:    ModeFromUnix(uint32(h.Mode) & 0o7777),
		UID:     h.Uid,
		GID:     h.Gid,
		ModTime: h.ModTime.Truncate(1e9).UTC(),
	}
	switch h.Typeflag {
	case tar.TypeDir:
		n.Mode |= ModeDir
	case tar.TypeSymlink:
		n.Mode |= ModeSymlink
		n.Target = h.Linkname
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		n.Mode |= map[byte]fs.FileMode{tar.TypeChar: ModeChar, tar.TypeBlock: ModeBlock, tar.TypeFifo: ModeFifo}[h.Typeflag]
		if h.Devmajor < 0 || h.Devminor < 0 || h.Devmajor > 1<<32-1 || h.Devminor > 1<<32-1 {
			return fmt.Errorf("device number %d:%d out of range", h.Devmajor, h.Devminor)
		}
		n.Major, n.Minor = uint32(h.Devmajor), uint32(h.Devminor)
	default:
		n.Data = e.data
	}
	return t.add(e.path, n)
}
