package initrd

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/keel-os/keel/rootfs/tree"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var t0 = time.Unix(1700000000, 0)

func sample(t *testing.T, devices bool) *tree.Tree {
	t.Helper()
	tr := tree.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tr.AddFile("init", 0o755, 0, 0, []byte("#!/bin/sh\necho hi\n")))
	must(tr.AddFile("bin/busybox", 0o755, 0, 0, []byte("busybox binary")))
	must(tr.Link("bin/sh", "bin/busybox"))
	must(tr.Link("usr/bin/env", "bin/busybox"))
	must(tr.AddSymlink("lib", "usr/lib", 0, 0))
	must(tr.AddDir("tmp", 0o777|fs.ModeSticky, 0, 0))
	must(tr.AddFile("etc/shadow", 0o600, 0, 42, []byte("root:*:")))
	must(tr.AddFile("home/user/.profile", 0o644, 1000, 1000, []byte("x")))
	must(tr.AddFile("empty", 0o644, 0, 0, nil))
	if devices {
		must(tr.AddDevice("dev/console", tree.ModeChar, 0o600, 0, 5, 5, 1))
		must(tr.AddDevice("dev/sda", tree.ModeBlock, 0o660, 0, 6, 8, 0))
		must(tr.AddDevice("dev/initctl", tree.ModeFifo, 0o600, 0, 0, 0, 0))
	}
	tr.Root().ModTime = t0
	must(tr.Walk(func(p string, n *tree.Node) error {
		n.ModTime = t0
		return nil
	}))
	return tr
}

func write(t *testing.T, tr *tree.Tree, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tr, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newcEntry is one entry of a newc archive, parsed independently of the code under test.
type newcEntry struct {
	name                                     string
	ino, mode, uid, gid, nlink, mtime        uint32
	devMajor, devMinor, rdevMajor, rdevMinor uint32
	data                                     string
}

func parseNewc(t *testing.T, b []byte) []newcEntry {
	t.Helper()
	var out []newcEntry
	off := 0
	for {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		f := func(i int) uint32 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(v)
		}
		e := newcEntry{ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5),
			devMajor: f(7), devMinor: f(8), rdevMajor: f(9), rdevMinor: f(10)}
		size, namesize := int(f(6)), int(f(11))
		if f(12) != 0 {
			t.Fatal("nonzero check field")
		}
		e.name = string(b[off+110 : off+110+namesize-1])
		if b[off+110+namesize-1] != 0 {
			t.Fatal("name not NUL-terminated")
		}
		off += 110 + namesize
		off += (4 - off%4) % 4
		e.data = string(b[off : off+size])
		off += size
		off += (4 - off%4) % 4
		if e.name == "TRAILER!!!" {
			if len(b)%512 != 0 {
				t.Errorf("archive length %d not a multiple of 512", len(b))
			}
			for _, c := range b[off:] {
				if c != 0 {
					t.Fatal("garbage after trailer")
				}
			}
			return out
		}
		out = append(out, e)
	}
}

func byName(es []newcEntry) map[string]newcEntry {
	m := map[string]newcEntry{}
	for _, e := range es {
		m[e.name] = e
	}
	return m
}

func TestWriteCPIOEncodesEveryFileTypeInNewcFormat(t *testing.T) {
	b := write(t, sample(t, true), Options{Compression: None})
	es := parseNewc(t, b)
	var names []string
	for _, e := range es {
		names = append(names, e.name)
	}
	// Parents first in sorted order; the files with contents last, largest first.
	want := []string{".", "bin", "bin/busybox", "bin/sh", "dev", "dev/console", "dev/initctl", "dev/sda",
		"empty", "etc", "home", "home/user", "lib", "tmp", "usr", "usr/bin",
		"init", "usr/bin/env", "etc/shadow", "home/user/.profile"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q\nwant    %q", names, want)
	}
	m := byName(es)
	check := func(name string, mode uint32, data string) {
		t.Helper()
		e := m[name]
		if e.mode != mode || e.data != data || e.mtime != uint32(t0.Unix()) {
			t.Errorf("%s: mode %o data %q mtime %d; want %o %q %d", name, e.mode, e.data, e.mtime, mode, data, t0.Unix())
		}
	}
	check(".", 0o040755, "")
	check("init", 0o100755, "#!/bin/sh\necho hi\n")
	check("lib", 0o120777, "usr/lib")
	check("tmp", 0o041777, "")
	check("etc/shadow", 0o100600, "root:*:")
	check("dev/console", 0o020600, "")
	check("dev/sda", 0o060660, "")
	check("dev/initctl", 0o010600, "")
	if e := m["dev/console"]; e.rdevMajor != 5 || e.rdevMinor != 1 || e.gid != 5 {
		t.Errorf("console rdev %d:%d gid %d", e.rdevMajor, e.rdevMinor, e.gid)
	}
	if e := m["dev/sda"]; e.rdevMajor != 8 || e.rdevMinor != 0 {
		t.Errorf("sda rdev %d:%d", e.rdevMajor, e.rdevMinor)
	}
	if e := m["home/user/.profile"]; e.uid != 1000 || e.gid != 1000 {
		t.Errorf(".profile owner %d:%d", e.uid, e.gid)
	}
	if e := m["etc/shadow"]; e.gid != 42 || e.nlink != 1 {
		t.Errorf("shadow gid %d nlink %d", e.gid, e.nlink)
	}
	// Directories: 2 links plus one per subdirectory.
	if m["."].nlink != 2+6 || m["."].ino != 1 {
		t.Errorf("root nlink %d ino %d", m["."].nlink, m["."].ino)
	}
	if m["usr"].nlink != 3 || m["usr/bin"].nlink != 2 || m["home"].nlink != 3 {
		t.Errorf("dir nlink usr=%d usr/bin=%d home=%d", m["usr"].nlink, m["usr/bin"].nlink, m["home"].nlink)
	}
	// Inode numbers are distinct except for hard links.
	inos := map[uint32]string{}
	for _, e := range es {
		if prev, ok := inos[e.ino]; ok && !(strings.Contains("bin/busybox bin/sh usr/bin/env", e.name) && strings.Contains("bin/busybox bin/sh usr/bin/env", prev)) {
			t.Errorf("%s and %s share inode %d", prev, e.name, e.ino)
		}
		inos[e.ino] = e.name
	}
}

func TestWriteCPIOWritesFileContentsAfterEverythingElseLargestFirst(t *testing.T) {
	tr := tree.New()
	for _, f := range []struct {
		path string
		size int
	}{{"a/big", 300}, {"a/small", 10}, {"b/mid", 100}, {"b/c/empty", 0}, {"z", 100}} {
		if err := tr.AddFile(f.path, 0o644, 0, 0, bytes.Repeat([]byte{'x'}, f.size)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, e := range parseNewc(t, write(t, tr, Options{Compression: None})) {
		names = append(names, e.name)
	}
	// Equal sizes keep their path order.
	want := []string{".", "a", "b", "b/c", "b/c/empty", "a/big", "b/mid", "z", "a/small"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q\nwant    %q", names, want)
	}
}

func TestWriteCPIOWritesHardLinksTheNewcWay(t *testing.T) {
	m := byName(parseNewc(t, write(t, sample(t, false), Options{Compression: None})))
	bb, sh, env := m["bin/busybox"], m["bin/sh"], m["usr/bin/env"]
	if bb.ino != sh.ino || bb.ino != env.ino {
		t.Errorf("inodes %d %d %d differ", bb.ino, sh.ino, env.ino)
	}
	for _, e := range []newcEntry{bb, sh, env} {
		if e.nlink != 3 || e.mode != 0o100755 {
			t.Errorf("%s: nlink %d mode %o", e.name, e.nlink, e.mode)
		}
	}
	// Contents go with the last name only.
	if bb.data != "" || sh.data != "" || env.data != "busybox binary" {
		t.Errorf("data: %q %q %q", bb.data, sh.data, env.data)
	}
}

func TestWriteCPIOIsReadableByCpioLibrary(t *testing.T) {
	r := cpio.NewReader(bytes.NewReader(write(t, sample(t, true), Options{Compression: None})))
	got := map[string]*cpio.Header{}
	var order []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "init" && string(data) != "#!/bin/sh\necho hi\n" {
			t.Errorf("init contents %q", data)
		}
		got[h.Name] = h
		order = append(order, h.Name)
	}
	// Parents before children.
	seen := map[string]bool{}
	for _, name := range order {
		if dir := filepath.Dir(name); dir != "." && !seen[dir] {
			t.Errorf("%s before its parent %s", name, dir)
		}
		seen[name] = true
	}
	if h := got["lib"]; h == nil || h.Linkname != "usr/lib" || h.Mode&cpio.ModeType != cpio.TypeSymlink {
		t.Errorf("lib: %+v", h)
	}
	if h := got["dev/console"]; h == nil || h.Mode&cpio.ModeType != cpio.TypeChar {
		t.Errorf("dev/console: %+v", h)
	}
	if h := got["home/user/.profile"]; h == nil || h.Uid != 1000 || !h.ModTime.Equal(t0) {
		t.Errorf(".profile: %+v", h)
	}
	if got["bin/sh"].Inode != got["bin/busybox"].Inode || got["bin/sh"].Links != 3 {
		t.Error("hard link not visible to the library")
	}
}

func TestWriteIsByteIdenticalForTheSameTree(t *testing.T) {
	for _, c := range []Compression{None, Gzip, Zstd} {
		t.Run(string(c), func(t *testing.T) {
			tr := sample(t, true)
			a := write(t, tr, Options{Compression: c})
			b := write(t, tr, Options{Compression: c})
			d := write(t, sample(t, true), Options{Compression: c}) // built again from scratch
			if !bytes.Equal(a, b) || !bytes.Equal(a, d) {
				t.Error("two writes differ")
			}
		})
	}
}

func TestWriteCompressesWithGzipOrZstd(t *testing.T) {
	tr := sample(t, true)
	raw := write(t, tr, Options{Compression: None})

	gz := write(t, tr, Options{}) // gzip by default
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("default compression is not gzip: %v", err)
	}
	if b, err := io.ReadAll(zr); err != nil || !bytes.Equal(b, raw) {
		t.Errorf("gunzip: %v, equal %v", err, bytes.Equal(b, raw))
	}

	zs := write(t, tr, Options{Compression: Zstd})
	dec, err := zstd.NewReader(bytes.NewReader(zs))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if b, err := io.ReadAll(dec); err != nil || !bytes.Equal(b, raw) {
		t.Errorf("unzstd: %v, equal %v", err, bytes.Equal(b, raw))
	}
	if bytes.Equal(gz, zs) {
		t.Error("gzip and zstd outputs are equal")
	}
}

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{"": Gzip, "gzip": Gzip, "ZSTD": Zstd, "zstd-max": ZstdMax, "none": None} {
		if got, err := ParseCompression(in); err != nil || got != want {
			t.Errorf("ParseCompression(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseCompression("lz4"); err == nil {
		t.Error("lz4 accepted")
	}
}

func TestSourceDateEpochClampsLaterModTimes(t *testing.T) {
	tr := sample(t, false)
	old := time.Unix(1000, 0)
	n, _ := tr.Lookup("init")
	n.ModTime = old

	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	m := byName(parseNewc(t, write(t, tr, Options{Compression: None})))
	if m["bin/busybox"].mtime != 1600000000 {
		t.Errorf("later time not clamped: %d", m["bin/busybox"].mtime)
	}
	if m["init"].mtime != 1000 {
		t.Errorf("earlier time changed: %d", m["init"].mtime)
	}

	explicit := time.Unix(5000, 0)
	m = byName(parseNewc(t, write(t, tr, Options{Compression: None, SourceDateEpoch: &explicit})))
	if m["bin/busybox"].mtime != 5000 {
		t.Errorf("Options.SourceDateEpoch not used: %d", m["bin/busybox"].mtime)
	}

	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	if err := Write(io.Discard, tr, Options{}); err == nil {
		t.Error("bad SOURCE_DATE_EPOCH accepted")
	}
}

func cpioTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio(1) not installed; skipping the check against GNU cpio")
	}
	return p
}

func TestWriteCPIOIsListedByCpioTool(t *testing.T) {
	bin := cpioTool(t)
	b := write(t, sample(t, true), Options{Compression: None})
	cmd := exec.Command(bin, "-it", "--quiet")
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -it: %v: %s", err, stderr.String())
	}
	var want []string
	for _, e := range parseNewc(t, b) {
		want = append(want, e.name)
	}
	if got := strings.Fields(string(out)); !reflect.DeepEqual(got, want) {
		t.Errorf("cpio -it = %q\nwant %q", got, want)
	}
	if stderr.Len() > 0 {
		t.Errorf("cpio -it complained: %s", stderr.String())
	}
}

func TestWriteCPIOIsExtractedByCpioToolWithHardLinksAndContents(t *testing.T) {
	bin := cpioTool(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "-id", "--quiet", "--no-absolute-filenames")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(write(t, sample(t, false), Options{Compression: None}))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v: %s", err, out)
	}
	var inos []uint64
	for _, p := range []string{"bin/busybox", "bin/sh", "usr/bin/env"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(b) != "busybox binary" {
			t.Errorf("%s: %q, %v", p, b, err)
			continue
		}
		fi, _ := os.Stat(filepath.Join(dir, p))
		inos = append(inos, fi.Sys().(*syscall.Stat_t).Ino)
	}
	if len(inos) == 3 && (inos[0] != inos[1] || inos[0] != inos[2]) {
		t.Errorf("extracted files are not hard links: inodes %v", inos)
	}
	if target, err := os.Readlink(filepath.Join(dir, "lib")); err != nil || target != "usr/lib" {
		t.Errorf("lib -> %q, %v", target, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "empty")); err != nil || len(b) != 0 {
		t.Errorf("empty: %q %v", b, err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteReportsWriterErrors(t *testing.T) {
	for _, c := range []Compression{None, Gzip, Zstd} {
		if err := Write(&failWriter{n: 10}, sample(t, false), Options{Compression: c}); err == nil {
			t.Errorf("%s: write error not reported", c)
		}
	}
}

func TestWriteCPIORefusesNamesTheKernelWouldMisread(t *testing.T) {
	for _, name := range []string{"TRAILER!!!", "etc/pass\x00wd", strings.Repeat("x", 4096)} {
		tr := tree.New()
		if err := tr.AddFile(name, 0o644, 0, 0, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := tr.AddFile("zz-after", 0o644, 0, 0, nil); err != nil {
			t.Fatal(err)
		}
		err := WriteCPIO(io.Discard, tr, nil)
		quoted := strconv.Quote(name)
		quoted = quoted[:min(len(quoted), 20)]
		if err == nil || !strings.Contains(err.Error(), quoted) {
			t.Errorf("WriteCPIO of a file %.40q: error %.100v, want one naming it", name, err)
		}
	}
}

func TestWriteCPIORefusesSymlinkTargetsTheKernelWouldSkip(t *testing.T) {
	for _, target := range []string{"", strings.Repeat("t", 4096)} {
		tr := tree.New()
		if err := tr.AddSymlink("link", target, 0, 0); err != nil {
			t.Fatal(err)
		}
		err := WriteCPIO(io.Discard, tr, nil)
		if err == nil || !strings.Contains(err.Error(), `"link": symbolic link target must be 1 to 4095 bytes`) {
			t.Errorf("WriteCPIO of a symlink to %d bytes: error %v", len(target), err)
		}
	}
}
