// Package initrd writes a tree as a Linux initramfs: a "newc" (SVR4, no CRC) cpio archive,
// optionally compressed with gzip or zstd (the Go encoder, or zstd's own command at its
// highest level).
//
// The output is a function of the tree alone: entries are written parents first in sorted
// order, except that the contents of regular files come last, largest first (so that files
// which share code lie within the compressor's window); inode numbers are assigned in the
// order written, and modification times are clamped to $SOURCE_DATE_EPOCH (or
// Options.SourceDateEpoch) when set, so writing the same tree twice gives byte-identical
// archives. Hard links are written the newc way: every name of a file
// carries the same inode number and link count, and the contents go with the last name, as
// GNU cpio writes them and as both GNU cpio and the kernel read them.
package initrd

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is the compression of an initramfs.
type Compression string

// Supported compressions.
const (
	None Compression = "none"
	Gzip Compression = "gzip"
	// Zstd is zstd at its best level with a 32 MiB window, which spans the Go binaries an
	// image holds, so their shared code compresses once; the kernel needs the window to unpack.
	Zstd Compression = "zstd"
	// ZstdFast is a faster level with an 8 MiB window, for quick development builds.
	ZstdFast Compression = "zstd-fast"
	// ZstdMax is the zstd command at its highest level with Zstd's window: smaller and as
	// quick to unpack, but many times slower to write, for images whose size matters most.
	ZstdMax Compression = "zstd-max"
)

// ParseCompression parses "gzip", "zstd", "zstd-fast", "zstd-max" or "none"; "" is Gzip.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(strings.ToLower(s)); c {
	case "":
		return Gzip, nil
	case None, Gzip, Zstd, ZstdFast, ZstdMax:
		return c, nil
	}
	return "", fmt.Errorf("unknown initrd compression %q (want gzip, zstd, zstd-fast, zstd-max or none)", s)
}

// Options control Write.
type Options struct {
	// Compression defaults to Gzip.
	Compression Compression
	// SourceDateEpoch, if set, is the latest modification time written; later times are
	// clamped to it. If nil, $SOURCE_DATE_EPOCH is used when set.
	SourceDateEpoch *time.Time
}

// Write writes t to w as a compressed newc cpio archive.
func Write(w io.Writer, t *tree.Tree, opts Options) error {
	clamp := opts.SourceDateEpoch
	if clamp == nil {
		e, ok, err := tree.SourceDateEpoch()
		if err != nil {
			return err
		}
		if ok {
			clamp = &e
		}
	}
	c := opts.Compression
	if c == "" {
		c = Gzip
	}
	switch c {
	case None:
		return WriteCPIO(w, t, clamp)
	case Gzip:
		zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		if err := WriteCPIO(zw, t, clamp); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		return nil
	case ZstdMax:
		return writeZstdCommand(w, t, clamp)
	case Zstd, ZstdFast:
		// The kernel accepts windows up to 128 MiB; the stream encoder's output does not
		// depend on its concurrency, so the archive stays reproducible.
		level, window := zstd.SpeedBestCompression, 32<<20
		if c == ZstdFast {
			level, window = zstd.SpeedBetterCompression, 8<<20
		}
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(level), zstd.WithWindowSize(window))
		if err != nil {
			return err
		}
		if err := WriteCPIO(zw, t, clamp); err != nil {
			zw.Close()
			return err
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown initrd compression %q", c)
}

// trailer is the name of the entry ending a newc archive.
const trailer = "TRAILER!!!"

// pathMax is Linux's PATH_MAX, which counts the terminating NUL.
const pathMax = 4096

type record struct {
	path     string
	node     *tree.Node
	contents bool // the name that carries a regular file's contents
}

// WriteCPIO writes t to w as an uncompressed newc cpio archive: the root as ".", then every
// entry by its relative path ("bin/sh"). If clamp is not nil, later modification times are
// clamped to it. A name or symlink target the kernel would misread or skip (a NUL byte,
// "TRAILER!!!", PATH_MAX bytes or more, an empty target) is an error.
func WriteCPIO(w io.Writer, t *tree.Tree, clamp *time.Time) error {
	// The root comes first, as ".": the kernel applies its mode, owner and time to the
	// initramfs root (which is otherwise tmpfs's 1777).
	recs := []record{{path: ".", node: t.Root()}}
	links := map[*tree.Node]int{t.Root(): 1}
	subdirs := map[*tree.Node]int{}
	parent := map[string]*tree.Node{"": t.Root()}
	if err := t.Walk(func(p string, n *tree.Node) error {
		// The kernel reads names up to a NUL, and stops unpacking at the trailer's name.
		if strings.ContainsRune(p, 0) {
			return fmt.Errorf("cpio: %q: a name with a NUL byte cannot be written", p)
		}
		if p == trailer {
			return fmt.Errorf("cpio: %q: the name of the archive's end marker cannot be written", p)
		}
		// The kernel skips names and targets of PATH_MAX bytes or more, and empty targets.
		if len(p) >= pathMax {
			return fmt.Errorf("cpio: %.64q...: name longer than %d bytes", p, pathMax-1)
		}
		if n.IsSymlink() && (n.Target == "" || len(n.Target) >= pathMax) {
			return fmt.Errorf("cpio: %q: symbolic link target must be 1 to %d bytes, not %d", p, pathMax-1, len(n.Target))
		}
		recs = append(recs, record{path: p, node: n})
		links[n]++
		if n.IsDir() {
			parent[p] = n
			i := strings.LastIndexByte(p, '/')
			dir := ""
			if i >= 0 {
				dir = p[:i]
			}
			subdirs[parent[dir]]++
		}
		return nil
	}); err != nil {
		return err
	}

	recs = contentsLast(recs, links)

	bw := bufio.NewWriterSize(w, 1<<16)
	cw := &countWriter{w: bw}
	ino := map[*tree.Node]uint32{}
	for _, r := range recs {
		n := r.node
		num, ok := ino[n]
		if !ok {
			num = uint32(len(ino) + 1)
			ino[n] = num
		}
		h := header{
			ino:       num,
			mode:      n.UnixMode(),
			nlink:     uint32(links[n]),
			mtime:     mtime(n.ModTime, clamp),
			rdevMajor: n.Major,
			rdevMinor: n.Minor,
		}
		if n.UID < 0 || n.GID < 0 || int64(n.UID) > 1<<32-1 || int64(n.GID) > 1<<32-1 {
			return fmt.Errorf("cpio: %s: uid/gid %d/%d out of range", r.path, n.UID, n.GID)
		}
		h.uid, h.gid = uint32(n.UID), uint32(n.GID)
		var data []byte
		switch {
		case n.IsDir():
			h.nlink = uint32(2 + subdirs[n])
		case n.IsSymlink():
			data = []byte(n.Target)
		case r.contents:
			data = n.Data
		}
		if int64(len(data)) > 1<<32-1 {
			return fmt.Errorf("cpio: %s: file too large for newc (%d bytes)", r.path, len(data))
		}
		h.size = uint32(len(data))
		if err := writeEntry(cw, r.path, h, data); err != nil {
			return fmt.Errorf("cpio: %s: %w", r.path, err)
		}
	}
	if err := writeEntry(cw, trailer, header{nlink: 1}, nil); err != nil {
		return fmt.Errorf("cpio: trailer: %w", err)
	}
	// Pad to a 512-byte block, as cpio(1) does.
	if pad := (512 - cw.n%512) % 512; pad > 0 {
		if _, err := cw.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// contentsLast moves the entries that carry regular files' contents (the last of their hard
// links, the newc way) to the end, largest first, others staying in walk order: the Go
// binaries, which share much code, then lie within one compressor window. The kernel and
// cpio(1) create a file at its first name and fill it when the contents come.
func contentsLast(recs []record, links map[*tree.Node]int) []record {
	seen := map[*tree.Node]int{}
	var rest, contents []record
	for _, r := range recs {
		n := r.node
		seen[n]++
		if n.IsRegular() && len(n.Data) > 0 && seen[n] == links[n] {
			r.contents = true
			contents = append(contents, r)
			continue
		}
		rest = append(rest, r)
	}
	sort.SliceStable(contents, func(i, j int) bool {
		return len(contents[i].node.Data) > len(contents[j].node.Data)
	})
	return append(rest, contents...)
}

func mtime(t time.Time, clamp *time.Time) uint32 {
	if clamp != nil && t.After(*clamp) {
		t = *clamp
	}
	s := t.Unix()
	if t.IsZero() || s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

type header struct {
	ino, mode, uid, gid, nlink, mtime, size uint32
	rdevMajor, rdevMinor                    uint32
}

// writeEntry writes one newc header, the NUL-terminated name and the data, each padded to a
// multiple of four bytes.
func writeEntry(w *countWriter, name string, h header, data []byte) error {
	// c_magic c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor
	// c_rdevmajor c_rdevminor c_namesize c_check
	_, err := fmt.Fprintf(w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		h.ino, h.mode, h.uid, h.gid, h.nlink, h.mtime, h.size, 0, 0,
		h.rdevMajor, h.rdevMinor, len(name)+1, 0)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, name); err != nil {
		return err
	}
	if _, err := w.Write(make([]byte, 1+pad4(110+len(name)+1))); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err = w.Write(make([]byte, pad4(len(data))))
	return err
}

func pad4(n int) int { return (4 - n%4) % 4 }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
