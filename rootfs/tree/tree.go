// Package tree is an in-memory file system tree: the root file system of an image as it is
// assembled, before it is written out as a cpio initramfs or a tar archive.
//
// A Tree holds directories, regular files with their contents, symbolic links, character and
// block devices and FIFOs, each with a mode, an owner and a modification time. Device nodes and
// ownership exist only in the tree, so building one needs no privileges.
//
// Paths are slash-separated and relative to the root; a leading "/" is accepted by the helpers
// (AddFile, Lookup, ...) and means the same. Paths are never resolved through symbolic links:
// placing an entry below a symlink is an error (ErrSymlink), so no entry can end up outside the
// tree, whatever the links in it point to. Missing parent directories are created with mode
// 0755, owned by root.
//
// Two paths that lead to the same *Node are hard links to one file. Writers recognise them by
// pointer identity.
package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors returned (wrapped in an *fs.PathError) by Tree methods.
var (
	// ErrEscape is returned for a path that would leave the root ("../x", "a/../../x").
	ErrEscape = errors.New("path escapes the root")
	// ErrSymlink is returned when a path's parent is a symbolic link: the tree never writes
	// through a link.
	ErrSymlink = errors.New("parent is a symbolic link; refusing to write through it")
	// ErrNotDir is returned when a path's parent is neither a directory nor a link.
	ErrNotDir = errors.New("parent is not a directory")
	// ErrNotExist is fs.ErrNotExist.
	ErrNotExist = fs.ErrNotExist
)

// Mode bits of the file types a tree can hold. A regular file has no type bits.
const (
	ModeDir     = fs.ModeDir
	ModeSymlink = fs.ModeSymlink
	ModeChar    = fs.ModeDevice | fs.ModeCharDevice
	ModeBlock   = fs.ModeDevice
	ModeFifo    = fs.ModeNamedPipe
)

// permBits are the mode bits other than the file type: permissions, setuid, setgid, sticky.
const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// Node is one file: what an inode is to a disk file system. Reaching the same *Node through
// two paths makes them hard links. A Node obtained from Lookup or Walk may be modified (to
// change a mode or an owner, say); its Mode type bits and a directory's entries are managed by
// the Tree.
type Node struct {
	// Mode holds the file type (ModeDir, ModeSymlink, ModeChar, ModeBlock, ModeFifo or none
	// for a regular file), the permission bits and fs.ModeSetuid, fs.ModeSetgid, fs.ModeSticky.
	Mode    fs.FileMode
	UID     int
	GID     int
	ModTime time.Time
	// Data is a regular file's contents. It is shared, never modified, between clones.
	Data []byte
	// Target is a symbolic link's target, verbatim.
	Target string
	// Major and Minor are a device's numbers.
	Major, Minor uint32

	children map[string]*Node
}

// IsDir reports whether n is a directory.
func (n *Node) IsDir() bool { return n.Mode&fs.ModeType == fs.ModeDir }

// IsRegular reports whether n is a regular file.
func (n *Node) IsRegular() bool { return n.Mode&fs.ModeType == 0 }

// IsSymlink reports whether n is a symbolic link.
func (n *Node) IsSymlink() bool { return n.Mode&fs.ModeType == fs.ModeSymlink }

// Type returns the node's file type bits.
func (n *Node) Type() fs.FileMode { return n.Mode & fs.ModeType }

// Perm returns the permission, setuid, setgid and sticky bits.
func (n *Node) Perm() fs.FileMode { return n.Mode & permBits }

// Size is the length of a regular file's contents or a symlink's target, and 0 otherwise.
func (n *Node) Size() int64 {
	switch {
	case n.IsRegular():
		return int64(len(n.Data))
	case n.IsSymlink():
		return int64(len(n.Target))
	}
	return 0
}

// Names returns the names of a directory's entries, sorted.
func (n *Node) Names() []string {
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// UnixMode returns the mode in the encoding of stat(2), tar and cpio: S_IFMT type bits,
// S_ISUID, S_ISGID, S_ISVTX and the permission bits.
func (n *Node) UnixMode() uint32 {
	m := uint32(n.Mode.Perm())
	if n.Mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if n.Mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if n.Mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	switch n.Type() {
	case ModeDir:
		m |= 0o040000
	case ModeSymlink:
		m |= 0o120000
	case ModeChar:
		m |= 0o020000
	case ModeBlock:
		m |= 0o060000
	case ModeFifo:
		m |= 0o010000
	default:
		m |= 0o100000
	}
	return m
}

// ModeFromUnix converts a mode in the encoding of stat(2), tar and cpio (S_IFMT type bits,
// S_ISUID, S_ISGID, S_ISVTX, permissions) to an fs.FileMode. Sockets and unknown types come
// out as regular files.
func ModeFromUnix(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	switch m & 0o170000 {
	case 0o040000:
		mode |= ModeDir
	case 0o120000:
		mode |= ModeSymlink
	case 0o020000:
		mode |= ModeChar
	case 0o060000:
		mode |= ModeBlock
	case 0o010000:
		mode |= ModeFifo
	}
	return mode
}

// perm returns the permission, setuid, setgid and sticky bits of m, which may hold them as
// fs.FileMode bits or, for convenience, as Unix ones (0o4755 is setuid).
func perm(m fs.FileMode) fs.FileMode {
	return m&permBits | ModeFromUnix(uint32(m&0o7777))&permBits
}

// validType reports whether the tree can hold a node of type t.
func validType(t fs.FileMode) bool {
	switch t {
	case 0, ModeDir, ModeSymlink, ModeChar, ModeBlock, ModeFifo:
		return true
	}
	return false
}

// Tree is an in-memory file system tree. The zero value is not usable; call New.
type Tree struct {
	root *Node
}

// New returns a tree holding only its root, a directory with mode 0755 owned by root.
func New() *Tree {
	return &Tree{root: newDir(0o755, 0, 0)}
}

func newDir(mode fs.FileMode, uid, gid int) *Node {
	return &Node{Mode: fs.ModeDir | perm(mode), UID: uid, GID: gid, children: map[string]*Node{}}
}

// Root returns the root directory, whose mode and owner may be changed.
func (t *Tree) Root() *Node { return t.root }

// Clean turns p into the tree's canonical form: slash-separated, relative, without "." or ".."
// elements; "" is the root. A leading "/" is dropped. A path that climbs above the root is
// ErrEscape.
func Clean(p string) (string, error) {
	c := path.Clean("/" + p)
	// path.Clean("/"+p) resolves ".." lexically and never climbs above "/"; compare with the
	// relative cleaning to detect an attempt to do so.
	rel := path.Clean(strings.TrimLeft(p, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", ErrEscape
	}
	return strings.TrimPrefix(c, "/"), nil
}

// split returns the cleaned parent and base name of p, which must not be the root.
func split(p string) (dir, name string, err error) {
	c, err := Clean(p)
	if err != nil {
		return "", "", err
	}
	if c == "" {
		return "", "", errors.New("is the root")
	}
	i := strings.LastIndexByte(c, '/')
	if i < 0 {
		return "", c, nil
	}
	return c[:i], c[i+1:], nil
}

// walkDir returns the directory at cleaned path dir. With create, missing directories are
// created (mode 0755, root). It never follows symbolic links.
func (t *Tree) walkDir(dir string, create bool) (*Node, error) {
	n := t.root
	if dir == "" {
		return n, nil
	}
	done := ""
	for _, name := range strings.Split(dir, "/") {
		if done == "" {
			done = name
		} else {
			done += "/" + name
		}
		c, ok := n.children[name]
		switch {
		case !ok && create:
			c = newDir(0o755, 0, 0)
			n.children[name] = c
		case !ok:
			return nil, ErrNotExist
		case c.IsSymlink():
			return nil, fmt.Errorf("%w: %q -> %q", ErrSymlink, done, c.Target)
		case !c.IsDir():
			return nil, fmt.Errorf("%w: %q", ErrNotDir, done)
		}
		n = c
	}
	return n, nil
}

// Lookup returns the node at p, without following symbolic links (a symlink at p is returned
// as such; one among p's parents is ErrSymlink).
func (t *Tree) Lookup(p string) (*Node, error) {
	c, err := Clean(p)
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: p, Err: err}
	}
	if c == "" {
		return t.root, nil
	}
	dir, name, _ := split(c)
	d, err := t.walkDir(dir, false)
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: p, Err: err}
	}
	n, ok := d.children[name]
	if !ok {
		return nil, &fs.PathError{Op: "lookup", Path: p, Err: ErrNotExist}
	}
	return n, nil
}

// ReadFile returns the contents of the regular file at p.
func (t *Tree) ReadFile(p string) ([]byte, error) {
	n, err := t.Lookup(p)
	if err != nil {
		return nil, err
	}
	if !n.IsRegular() {
		return nil, fmt.Errorf("/%s is not a regular file", strings.TrimPrefix(p, "/"))
	}
	return n.Data, nil
}

// Add places n at p, creating missing parents. An existing directory at p that n also is
// keeps its entries and takes n's mode, owner and time; anything else at p is replaced (with
// everything below it). The tree owns n afterwards.
func (t *Tree) Add(p string, n *Node) error {
	if err := t.add(p, n); err != nil {
		return &fs.PathError{Op: "add", Path: p, Err: err}
	}
	return nil
}

func (t *Tree) add(p string, n *Node) error {
	if !validType(n.Type()) {
		return fmt.Errorf("unsupported file type %v", n.Type())
	}
	c, err := Clean(p)
	if err != nil {
		return err
	}
	if c == "" {
		if !n.IsDir() {
			return errors.New("the root must be a directory")
		}
		setMeta(t.root, n)
		return nil
	}
	dir, name, _ := split(c)
	d, err := t.walkDir(dir, true)
	if err != nil {
		return err
	}
	if old, ok := d.children[name]; ok && old.IsDir() && n.IsDir() {
		setMeta(old, n)
		return nil
	}
	if n.IsDir() && n.children == nil {
		n.children = map[string]*Node{}
	}
	d.children[name] = n
	return nil
}

func setMeta(dst, src *Node) {
	dst.Mode = fs.ModeDir | src.Mode&permBits
	dst.UID, dst.GID, dst.ModTime = src.UID, src.GID, src.ModTime
}

// AddDir adds a directory at p (see Add: an existing directory keeps its entries).
//
// In AddDir, AddFile and AddDevice, mode gives the permission bits and setuid, setgid and
// sticky either as fs.ModeSetuid... or as Unix bits (0o4755); file type bits are ignored.
func (t *Tree) AddDir(p string, mode fs.FileMode, uid, gid int) error {
	return t.Add(p, &Node{Mode: fs.ModeDir | perm(mode), UID: uid, GID: gid})
}

// AddFile adds a regular file with contents data at p, replacing what was there. The tree
// keeps data; the caller must not modify it afterwards.
func (t *Tree) AddFile(p string, mode fs.FileMode, uid, gid int, data []byte) error {
	return t.Add(p, &Node{Mode: perm(mode), UID: uid, GID: gid, Data: data})
}

// AddSymlink adds a symbolic link to target at p, replacing what was there.
func (t *Tree) AddSymlink(p, target string, uid, gid int) error {
	return t.Add(p, &Node{Mode: fs.ModeSymlink | 0o777, UID: uid, GID: gid, Target: target})
}

// AddDevice adds a device or FIFO at p; typ is ModeChar, ModeBlock or ModeFifo.
func (t *Tree) AddDevice(p string, typ, mode fs.FileMode, uid, gid int, major, minor uint32) error {
	switch typ {
	case ModeChar, ModeBlock, ModeFifo:
	default:
		return &fs.PathError{Op: "add", Path: p, Err: fmt.Errorf("not a device type: %v", typ)}
	}
	return t.Add(p, &Node{Mode: typ | perm(mode), UID: uid, GID: gid, Major: major, Minor: minor})
}

// Link makes p a hard link to the existing non-directory at target, replacing what was at p.
func (t *Tree) Link(p, target string) error {
	n, err := t.Lookup(target)
	if err != nil {
		return &fs.PathError{Op: "link", Path: p, Err: fmt.Errorf("target %q: %w", target, errors.Unwrap(err))}
	}
	if n.IsDir() {
		return &fs.PathError{Op: "link", Path: p, Err: fmt.Errorf("target %q is a directory", target)}
	}
	if err := t.add(p, n); err != nil {
		return &fs.PathError{Op: "link", Path: p, Err: err}
	}
	return nil
}

// Remove removes p and everything below it. Removing a missing path is not an error; removing
// the root empties the tree.
func (t *Tree) Remove(p string) error {
	c, err := Clean(p)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	if c == "" {
		t.root.children = map[string]*Node{}
		return nil
	}
	dir, name, _ := split(c)
	d, err := t.walkDir(dir, false)
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	delete(d.children, name)
	return nil
}

// Walk calls fn for every entry below the root (not the root itself), parents before their
// children and the entries of a directory sorted by name, with each entry's cleaned path
// ("bin", "bin/sh"). If fn returns fs.SkipDir for a directory, its entries are skipped; any
// other error stops the walk and is returned.
func (t *Tree) Walk(fn func(p string, n *Node) error) error {
	err := walk(t.root, "", fn)
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

func walk(d *Node, dir string, fn func(string, *Node) error) error {
	for _, name := range d.Names() {
		n := d.children[name]
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		err := fn(p, n)
		if err == fs.SkipDir && n.IsDir() {
			continue
		}
		if err != nil {
			return err
		}
		if n.IsDir() {
			if err := walk(n, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Clone returns a deep copy of t. Hard links within t stay hard links within the copy; file
// contents are shared (they are never modified in place).
func (t *Tree) Clone() *Tree {
	return &Tree{root: clone(t.root, map[*Node]*Node{})}
}

func clone(n *Node, seen map[*Node]*Node) *Node {
	if c, ok := seen[n]; ok {
		return c
	}
	c := *n
	seen[n] = &c
	if n.IsDir() {
		c.children = make(map[string]*Node, len(n.children))
		for name, child := range n.children {
			c.children[name] = clone(child, seen)
		}
	}
	return &c
}

// Graft lays a copy of sub over t at prefix, like unpacking sub there: directories present in
// both are merged (taking sub's mode, owner and time), any other entry of sub replaces what t
// has at its path. sub itself is neither modified nor shared, so one tree can be grafted in
// several places (and stay cached) safely. Missing directories leading to prefix are created.
func (t *Tree) Graft(prefix string, sub *Tree) error {
	c, err := Clean(prefix)
	if err != nil {
		return &fs.PathError{Op: "graft", Path: prefix, Err: err}
	}
	seen := map[*Node]*Node{}
	root := clone(sub.root, seen)
	if c == "" {
		setMeta(t.root, root)
		merge(t.root, root)
		return nil
	}
	dir, name, _ := split(c)
	d, err := t.walkDir(dir, true)
	if err != nil {
		return &fs.PathError{Op: "graft", Path: prefix, Err: err}
	}
	if old, ok := d.children[name]; ok && old.IsDir() {
		setMeta(old, root)
		merge(old, root)
		return nil
	}
	d.children[name] = root
	return nil
}

// merge moves the entries of src (a fresh copy) into dst.
func merge(dst, src *Node) {
	for name, s := range src.children {
		if d, ok := dst.children[name]; ok && d.IsDir() && s.IsDir() {
			setMeta(d, s)
			merge(d, s)
			continue
		}
		dst.children[name] = s
	}
}

// SetModTimes sets the modification time of every entry, the root included, to mtime.
func (t *Tree) SetModTimes(mtime time.Time) {
	t.root.ModTime = mtime
	_ = t.Walk(func(_ string, n *Node) error {
		n.ModTime = mtime
		return nil
	})
}

// SourceDateEpoch returns the time in $SOURCE_DATE_EPOCH (seconds since 1970), to which
// writers clamp modification times for reproducible output, and whether it is set. It is the
// one reader of the variable: a value that is not a non-negative integer is an error.
func SourceDateEpoch() (time.Time, bool, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return time.Time{}, false, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, false, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a non-negative number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), true, nil
}

// Epoch is the time given to what has no meaningful time of its own (generated files, the
// entries of a package layer, an image's creation): $SOURCE_DATE_EPOCH when it is set, else
// the Unix epoch.
func Epoch() (time.Time, error) {
	e, ok, err := SourceDateEpoch()
	switch {
	case err != nil:
		return time.Time{}, err
	case !ok:
		return time.Unix(0, 0).UTC(), nil
	}
	return e, nil
}
