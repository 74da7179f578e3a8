package tree

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
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

// Default limits of Unpack, ApplyLayer and ApplyTar: a layer is unpacked into memory, and a
// few kilobytes of compressed or sparse layer can claim gigabytes.
const (
	DefaultMaxFileSize  = 256 << 20 // 256 MiB: one regular file
	DefaultMaxImageSize = 2 << 30   // 2 GiB: all the layers of an image
)

// ErrTooLarge is returned (wrapped) when unpacking would exceed a size limit.
var ErrTooLarge = errors.New("size limit exceeded")

// Option sets a limit of Unpack, ApplyLayer and ApplyTar.
type Option func(*limits)

// MaxFileSize caps the size of each regular file; 0 keeps DefaultMaxFileSize, n < 0 is no
// limit (a tar header alone can then claim any amount of memory).
func MaxFileSize(n int64) Option { return func(l *limits) { l.file = pick(n, DefaultMaxFileSize) } }

// MaxImageSize caps the data unpacked: the regular files' contents, 512 bytes for each entry,
// and anything after a layer's end-of-archive marker, summed over the layers of the image (for
// Unpack) or of the one layer (ApplyLayer, ApplyTar). 0 keeps DefaultMaxImageSize, n < 0 is
// no limit.
func MaxImageSize(n int64) Option { return func(l *limits) { l.image = pick(n, DefaultMaxImageSize) } }

func pick(n, def int64) int64 {
	switch {
	case n == 0:
		return def
	case n < 0:
		return math.MaxInt64
	}
	return n
}

type limits struct {
	file, image int64
	used        int64 // of image
}

func newLimits(opts []Option) *limits {
	l := &limits{file: DefaultMaxFileSize, image: DefaultMaxImageSize}
	for _, o := range opts {
		o(l)
	}
	return l
}

// take accounts n more bytes of what makes up the image.
func (l *limits) take(n int64) error {
	if n > l.image-l.used {
		return fmt.Errorf("image unpacks to more than %s: %w", sizeString(l.image), ErrTooLarge)
	}
	l.used += n
	return nil
}

// sizeString formats n bytes in the largest binary unit dividing it.
func sizeString(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Unpack returns the tree of img: its layers applied in order to an empty tree.
func Unpack(img v1.Image, opts ...Option) (*Tree, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("unpack image: %w", err)
	}
	lim := newLimits(opts)
	t := New()
	for _, l := range layers {
		if err := applyLayer(t, l, lim); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ApplyLayer applies an image layer to t with the semantics of OCI layer changesets (see
// ApplyTar). The layer is read to its end, so that a reader verifying its digest sees all of
// it. Errors name the layer's digest.
func ApplyLayer(t *Tree, layer v1.Layer, opts ...Option) error {
	return applyLayer(t, layer, newLimits(opts))
}

func applyLayer(t *Tree, layer v1.Layer, lim *limits) error {
	d, err := layer.Digest()
	if err != nil {
		return fmt.Errorf("apply layer: digest: %w", err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("apply layer %s: %w", d, err)
	}
	defer rc.Close()
	if err := applyTar(t, rc, lim); err != nil {
		return fmt.Errorf("apply layer %s: %w", d, err)
	}
	// What follows the end-of-archive marker is padding, but it is part of the layer.
	limit := lim.image - lim.used
	if limit < math.MaxInt64 {
		limit++ // one byte too many tells an overflow
	}
	n, err := io.Copy(io.Discard, io.LimitReader(rc, limit))
	if err != nil {
		return fmt.Errorf("apply layer %s: %w", d, err)
	}
	if err := lim.take(n); err != nil {
		return fmt.Errorf("apply layer %s: after the end of the archive: %w", d, err)
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
//
// Regular files are read into memory, each only after its size was checked against the
// limits (see MaxFileSize and MaxImageSize).
func ApplyTar(t *Tree, r io.Reader, opts ...Option) error {
	return applyTar(t, r, newLimits(opts))
}

func applyTar(t *Tree, r io.Reader, lim *limits) error {
	entries, err := readLayer(r, lim)
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
func readLayer(r io.Reader, lim *limits) ([]entry, error) {
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
		if err := lim.take(blockSize); err != nil {
			return nil, &EntryError{Name: hdr.Name, Err: err}
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse: // the reader turns the old TypeRegA into TypeReg
			if e.data, err = readContents(tr, hdr.Size, lim); err != nil {
				return nil, &EntryError{Name: hdr.Name, Err: err}
			}
		case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default:
			return nil, &EntryError{Name: hdr.Name, Err: fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)}
		}
		entries = append(entries, e)
	}
}

// blockSize is the size of a tar header, counted for each entry against the image's limit.
const blockSize = 512

// readContents reads a regular file's size bytes (its size once a sparse file's holes are
// filled in), once they are known to fit the limits.
func readContents(r io.Reader, size int64, lim *limits) ([]byte, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative size %d", size)
	}
	if size > lim.file {
		return nil, fmt.Errorf("file of %s is over the %s limit for one file: %w", sizeString(size), sizeString(lim.file), ErrTooLarge)
	}
	if err := lim.take(size); err != nil {
		return nil, fmt.Errorf("file of %s: %w", sizeString(size), err)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("read contents: %w", err)
	}
	return data, nil
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
