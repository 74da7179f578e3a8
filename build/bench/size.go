package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// File is one name in an initramfs. Names of one file (hard links) share an inode; in a
// newc archive only one of them carries the contents.
type File struct {
	Path  string `json:"path"` // relative: "init", "usr/bin/containerd"
	Inode int64  `json:"inode"`
	Size  int64  `json:"size"` // bytes of contents (a symlink's target); 0 for directories
}

// ReadInitrd reads an initramfs, a newc cpio archive either uncompressed or compressed with
// gzip or zstd, and returns its entries and the size of the uncompressed archive.
func ReadInitrd(r io.Reader) (files []File, cpioBytes int64, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(4)
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			return nil, 0, fmt.Errorf("initrd: zstd: %w", err)
		}
		defer zr.Close()
		src = zr
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("initrd: gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	case bytes.HasPrefix(magic, []byte("0707")):
	default:
		return nil, 0, fmt.Errorf("initrd: neither a cpio archive nor gzip or zstd (starts %x)", magic)
	}
	cr := &countReader{r: src}
	ar := cpio.NewReader(cr)
	for {
		h, err := ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("initrd: cpio entry %d: %w", len(files)+1, err)
		}
		size := h.Size
		if h.Mode&^cpio.ModePerm == cpio.TypeSymlink {
			size = int64(len(h.Linkname))
		}
		if h.Name == "." {
			continue
		}
		files = append(files, File{Path: strings.TrimPrefix(h.Name, "./"), Inode: h.Inode, Size: size})
	}
	// The trailer is followed by padding (and, compressed, the end of the stream).
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, 0, fmt.Errorf("initrd: after the trailer: %w", err)
	}
	return files, cr.n, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Part is one line of an image's size breakdown.
type Part struct {
	Name  string `json:"name"`  // "/init", "/containers/services/getty", "other"
	Bytes int64  `json:"bytes"` // contents of its files, each file counted once
	Files int    `json:"files"` // files (inodes) with contents
	// Links are other parts that are hard links to this part's file (a multi-call binary,
	// such as an /init that is also /usr/bin/containerd); they have no line of their own.
	Links []string `json:"links,omitempty"`
}

// binaryParts are the files reported on their own, in report order.
var binaryParts = []string{
	"init",
	"usr/bin/containerd",
	"usr/bin/containerd-shim-runc-v2",
	"usr/bin/runc",
	"usr/bin/ctr",
}

const modulesDir = "lib/modules"

// partOf names the part a path belongs to, or "" for the rest: one of binaryParts, a
// container bundle (containers/KIND/NAME) or the kernel modules. rank orders the parts one
// file may belong to: the binaries in binaryParts order come first.
func partOf(p string) (name string, rank int) {
	for i, b := range binaryParts {
		if p == b {
			return "/" + b, i
		}
	}
	if rest, ok := strings.CutPrefix(p, "containers/"); ok {
		if f := strings.SplitN(rest, "/", 3); len(f) >= 2 {
			return "/containers/" + f[0] + "/" + f[1], len(binaryParts)
		}
	}
	if p == modulesDir || strings.HasPrefix(p, modulesDir+"/") {
		return "/" + modulesDir, len(binaryParts)
	}
	return "", len(binaryParts) + 1
}

// Breakdown sums the contents of files by part: each binary of binaryParts, each bundle
// under /containers/KIND/NAME, the kernel modules, and "other". A file with several names
// counts once, for its first-ranked part; its other binary names are that part's Links.
// Parts come in that order, bundles sorted by path; absent parts and an empty "other" are
// left out.
func Breakdown(files []File) []Part {
	type inode struct {
		size  int64
		parts []string // distinct
		ranks []int
	}
	inodes := map[int64]*inode{}
	var order []int64
	for _, f := range files {
		key := f.Inode
		if key == 0 { // no hard-link information: every name is a file of its own
			key = -int64(len(order)) - 1
		}
		in, ok := inodes[key]
		if !ok {
			in = &inode{}
			inodes[key] = in
			order = append(order, key)
		}
		in.size = max(in.size, f.Size)
		if p, rank := partOf(f.Path); p != "" && !slices.Contains(in.parts, p) {
			in.parts = append(in.parts, p)
			in.ranks = append(in.ranks, rank)
		}
	}
	sums := map[string]*Part{}
	for _, k := range order {
		in := inodes[k]
		name, links := "other", []string(nil)
		if len(in.parts) > 0 {
			best := 0
			for i := range in.parts {
				if in.ranks[i] < in.ranks[best] {
					best = i
				}
			}
			name = in.parts[best]
			for i, p := range in.parts {
				if i != best && in.ranks[i] < len(binaryParts) {
					links = append(links, p)
				}
			}
		}
		p := sums[name]
		if p == nil {
			p = &Part{Name: name}
			sums[name] = p
		}
		p.Bytes += in.size
		if in.size > 0 {
			p.Files++
		}
		for _, l := range links {
			if !slices.Contains(p.Links, l) {
				p.Links = append(p.Links, l)
			}
		}
	}
	var out []Part
	for _, b := range binaryParts {
		if p := sums["/"+b]; p != nil {
			out = append(out, *p)
		}
	}
	var bundles []string
	for name := range sums {
		if strings.HasPrefix(name, "/containers/") {
			bundles = append(bundles, name)
		}
	}
	sort.Strings(bundles)
	for _, name := range bundles {
		out = append(out, *sums[name])
	}
	if p := sums["/"+modulesDir]; p != nil {
		out = append(out, *p)
	}
	if p := sums["other"]; p != nil && p.Bytes > 0 {
		out = append(out, *p)
	}
	return out
}
