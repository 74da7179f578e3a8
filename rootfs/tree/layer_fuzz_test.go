package tree

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuzzEntrySize skips archives with a larger entry: a sparse entry of a few bytes can
// declare gigabytes of zeros, which the layer reader would hold in memory.
const maxFuzzEntrySize = 1 << 20

// fuzzBase is the tree a fuzzed layer is applied to: something for whiteouts to remove and a
// symbolic link to refuse writing through.
func fuzzBase(t testing.TB) *Tree {
	tr := New()
	for _, err := range []error{
		tr.AddDir("etc", 0o755, 0, 0),
		tr.AddFile("etc/passwd", 0o644, 0, 0, []byte("root:x:0:0::/root:/bin/sh\n")),
		tr.AddDir("usr/bin", 0o755, 0, 0),
		tr.AddFile("usr/bin/sh", 0o755, 0, 0, []byte("#!")),
		tr.AddSymlink("bin", "usr/bin", 0, 0),
		tr.AddSymlink("up", "../../..", 0, 0),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// listing describes every node of a tree, one line each.
func listing(tr *Tree) string {
	var b strings.Builder
	tr.Walk(func(p string, n *Node) error {
		fmt.Fprintf(&b, "%s %v %d:%d %q %d %d:%d\n", p, n.Mode, n.UID, n.GID, n.Target, len(n.Data), n.Major, n.Minor)
		return nil
	})
	return b.String()
}

type scanned struct {
	entries  int
	elements int   // path elements of all names: the most nodes the layer can add
	data     int64 // declared contents of regular files
	refused  bool  // the layer must be refused before the tree is changed
	last     *tar.Header
	lastPath string
}

// scan reads the archive as ApplyTar's contract describes it.
func scan(data []byte) (s scanned, skip bool) {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return s, false
		}
		if err != nil {
			s.refused = true
			return s, false
		}
		if h.Size > maxFuzzEntrySize {
			return s, true
		}
		s.entries++
		s.elements += strings.Count(h.Name, "/") + 1
		p, bad := fuzzLayerPath(h.Name)
		if h.Typeflag == tar.TypeLink {
			if _, badLink := fuzzLayerPath(h.Linkname); badLink {
				bad = true
			}
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse:
			s.data += h.Size
		case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default:
			bad = true
		}
		if bad {
			s.refused = true
		}
		if !strings.HasPrefix(filepath.Base("/"+p), whiteoutPrefix) {
			s.last, s.lastPath = h, p
		}
	}
}

// fuzzLayerPath is the documented rule for entry names: relative (or exactly the root), not
// climbing above the root.
func fuzzLayerPath(name string) (string, bool) {
	if strings.HasPrefix(name, "/") && strings.Trim(name, "/") != "" {
		return "", true
	}
	p, err := Clean(name)
	return p, err != nil
}

// fuzzTar writes a layer of hdrs, each regular file holding its own name.
func fuzzTar(f *testing.F, hdrs []tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h.Mode = 0o755
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(&h); err != nil {
			f.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			io.WriteString(tw, h.Name)
		}
	}
	if err := tw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// gnuSparseTar is an archive of 1.5 KiB holding an old GNU sparse file of 8 GiB of zeros
// (archive/tar does not write sparse files).
func gnuSparseTar() []byte {
	b := make([]byte, 3*512)
	h := b[:512]
	for off, field := range map[int]string{
		0: "zeros", 100: "0000644\x00", 108: "0000000\x00", 116: "0000000\x00",
		124: "00000000000\x00", 136: "00000000000\x00", 148: "        ", 156: "S",
		257: "ustar  \x00", 386: "00000000000\x00", 398: "00000000000\x00", 483: "77777777777\x00",
	} {
		copy(h[off:], field)
	}
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// FuzzApplyTar applies a fuzzed layer to a small tree. A layer with an absolute or escaping
// name, an unsupported entry or a broken archive is refused without changing the tree; the
// tree afterwards holds only clean relative paths, never a directory twice, at most the
// nodes and bytes the layer declares, and the layer's last entry at its path.
func FuzzApplyTar(f *testing.F) {
	seeds := [][]tar.Header{
		{dir("etc/"), file("etc/hostname"), symlink("etc/localtime", "/usr/share/zoneinfo/UTC"), hardlink("etc/hosts", "etc/hostname")},
		{file("etc/.wh.passwd"), dir("usr/"), file("usr/.wh..wh..opq"), file("usr/lib/libc.so")},
		{file("../escape")},
		{file("/etc/shadow")},
		{hardlink("x", "../../etc/shadow")},
		{file("bin/evil")},
		{file("up/evil")},
		{symlink("etc", "/"), file("etc/evil")},
		{dir("/"), dir("./a/../b/"), file("b//c")},
		{{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, {Name: "fifo", Typeflag: tar.TypeFifo}},
		{hardlink("l", "etc"), file("etc/.wh...")},
	}
	for _, hdrs := range seeds {
		f.Add(fuzzTar(f, hdrs))
	}
	f.Add(gnuSparseTar())
	f.Fuzz(checkApplyTar)
}

// checkApplyTar applies the layer data to a small tree and checks the invariants of
// FuzzApplyTar.
func checkApplyTar(t *testing.T, data []byte) {
	s, skip := scan(data)
	if skip {
		t.Skip("an entry declares more than maxFuzzEntrySize bytes")
	}
	tr := fuzzBase(t)
	before := listing(tr)
	baseNodes := strings.Count(before, "\n")
	err := ApplyTar(tr, bytes.NewReader(data))
	if s.refused {
		if err == nil {
			t.Fatal("layer applied, want it refused")
		}
		if after := listing(tr); after != before {
			t.Fatalf("refused layer (%v) changed the tree:\n%s\nbecame\n%s", err, before, after)
		}
		return
	}
	nodes, size := 0, int64(0)
	dirs, files := map[*Node]string{}, map[*Node]bool{}
	tr.Walk(func(p string, n *Node) error {
		nodes++
		if c, err := Clean(p); err != nil || c != p || p == "" || strings.HasPrefix(p, "/") {
			t.Errorf("path %q is not clean and relative", p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == "" || el == "." || el == ".." {
				t.Errorf("path %q has element %q", p, el)
			}
		}
		if n.IsDir() {
			if q, dup := dirs[n]; dup {
				t.Fatalf("directory at %q is also at %q", p, q)
			}
			dirs[n] = p
		}
		if n.IsRegular() && !files[n] { // hard links share a node
			files[n] = true
			size += int64(len(n.Data))
		}
		return nil
	})
	if nodes > baseNodes+s.elements {
		t.Errorf("tree has %d nodes, more than the %d of the base and the %d path elements of the layer", nodes, baseNodes, s.elements)
	}
	if base := int64(len("root:x:0:0::/root:/bin/sh\n") + len("#!")); size > base+s.data {
		t.Errorf("tree holds %d bytes of contents, more than the base's %d and the layer's %d", size, base, s.data)
	}
	if err != nil || s.last == nil {
		return
	}
	n, lerr := tr.Lookup(s.lastPath)
	if lerr != nil {
		t.Fatalf("last entry %q: %v", s.last.Name, lerr)
	}
	want := map[byte]func() bool{
		tar.TypeReg: n.IsRegular, tar.TypeGNUSparse: n.IsRegular, tar.TypeDir: n.IsDir, tar.TypeSymlink: n.IsSymlink,
		tar.TypeLink: func() bool { return !n.IsDir() },
		tar.TypeChar: func() bool { return n.Type() == ModeChar }, tar.TypeBlock: func() bool { return n.Type() == ModeBlock },
		tar.TypeFifo: func() bool { return n.Type() == ModeFifo },
	}[s.last.Typeflag]
	if want != nil && !want() {
		t.Errorf("last entry %q (type %q) is %v in the tree", s.last.Name, s.last.Typeflag, n.Mode)
	}
}

// FuzzApplyTarEntries is FuzzApplyTar with layers written by archive/tar from lines
// "T name arg", T being the entry's type flag ('0' file with contents arg, '5' directory,
// '2' symlink and '1' hard link to arg, '3', '4' devices, '6' fifo, anything else
// unsupported), so that the fuzzer explores entries rather than header checksums.
func FuzzApplyTarEntries(f *testing.F) {
	for _, s := range []string{
		"5 etc/\n0 etc/hostname box\n2 etc/localtime /usr/share/zoneinfo/UTC\n1 etc/hosts etc/hostname",
		"0 etc/.wh.passwd\n5 usr/\n0 usr/.wh..wh..opq\n0 usr/lib/libc.so ELF",
		"0 ../escape x\n0 /etc/shadow x\n1 x ../../etc/shadow",
		"0 bin/evil x\n0 up/evil x\n2 etc /\n0 etc/evil x",
		"5 /\n5 ./a/../b/\n0 b//c x\n3 dev/null\n6 fifo\n1 l etc\n0 etc/.wh... x\nx weird",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entries string) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, line := range strings.Split(entries, "\n") {
			if len(line) < 2 {
				continue
			}
			name, arg, _ := strings.Cut(line[2:], " ")
			h := &tar.Header{Typeflag: line[0], Name: name, Mode: 0o755, Format: tar.FormatPAX}
			switch h.Typeflag {
			case tar.TypeReg:
				h.Size = int64(len(arg))
			case tar.TypeSymlink, tar.TypeLink:
				h.Linkname = arg
			}
			if tw.WriteHeader(h) != nil {
				continue
			}
			if h.Typeflag == tar.TypeReg {
				io.WriteString(tw, arg)
			}
		}
		if err := tw.Close(); err != nil {
			t.Skip(err)
		}
		checkApplyTar(t, buf.Bytes())
	})
}
