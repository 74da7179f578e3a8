package tarout

import (
	"bytes"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
)

// fuzzTree builds a tree from lines "op path arg": d (directory), f (file, contents), s
// (symlink, target), h (hard link, target), c, b (devices, major:minor), p (fifo), u (owner,
// uid:gid), m (octal mode bits), t (mtime, Unix seconds), r (remove). Operations the tree
// refuses are skipped.
func fuzzTree(ops string) *tree.Tree {
	tr := tree.New()
	num := func(s string, base int) int64 { n, _ := strconv.ParseInt(s, base, 64); return n }
	pair := func(s string) (int64, int64) { a, b, _ := strings.Cut(s, ":"); return num(a, 10), num(b, 10) }
	for _, line := range strings.Split(ops, "\n") {
		op, rest, _ := strings.Cut(line, " ")
		p, arg, _ := strings.Cut(rest, " ")
		switch op {
		case "d":
			tr.AddDir(p, 0o755, 0, 0)
		case "f":
			tr.AddFile(p, 0o644, 0, 0, []byte(arg))
		case "s":
			tr.AddSymlink(p, arg, 0, 0)
		case "h":
			tr.Link(p, arg)
		case "c", "b", "p":
			typ := map[string]fs.FileMode{"c": tree.ModeChar, "b": tree.ModeBlock, "p": tree.ModeFifo}[op]
			major, minor := pair(arg)
			if typ == tree.ModeFifo {
				major, minor = 0, 0 // only devices have numbers
			}
			tr.AddDevice(p, typ, 0o600, 0, 0, uint32(major), uint32(minor))
		case "u", "m", "t":
			n, err := tr.Lookup(p)
			if err != nil || n == tr.Root() {
				continue
			}
			switch op {
			case "u":
				uid, gid := pair(arg)
				n.UID, n.GID = int(uid), int(gid)
			case "m":
				n.Mode = n.Mode&fs.ModeType | tree.ModeFromUnix(uint32(num(arg, 8))&0o7777)
			case "t":
				n.ModTime = time.Unix(num(arg, 10), num(arg, 10)%1e9)
			}
		case "r":
			tr.Remove(p)
		}
	}
	return tr
}

// FuzzWriteClamped writes a fuzzed tree as a tar archive and applies it as a layer to an
// empty tree: writing fails only naming the entry, and the tree read back is the tree
// written, times clamped and truncated to seconds and hard links kept. Names that are
// whiteouts in a layer are skipped.
func FuzzWriteClamped(f *testing.F) {
	f.Add("d etc\nf etc/passwd root:x:0:0\nm etc/passwd 600\nu etc/passwd 0:42\ns lib usr/lib\nd usr/lib\nf bin/busybox ELF\nh bin/sh bin/busybox\nh usr/bin/env bin/busybox", int64(1700000000))
	f.Add("c dev/console 5:1\nb dev/sda 8:0\np run/initctl\nd tmp\nm tmp 1777\nt tmp 4102444800\nt etc -5", int64(0))
	f.Add("f a x\nr a\nf a/b c\nu a/b 4294967296:-1\nf "+strings.Repeat("long/", 40)+"name y", int64(-1))
	f.Add("f na\x00me x\nf \u00e9t\u00e9 y\nf big "+strings.Repeat("x", 600), int64(1<<40))
	f.Fuzz(func(t *testing.T, ops string, clampUnix int64) {
		src := fuzzTree(ops)
		whiteout := false
		src.Walk(func(p string, n *tree.Node) error {
			for _, el := range strings.Split(p, "/") {
				whiteout = whiteout || strings.HasPrefix(el, ".wh.")
			}
			return nil
		})
		if whiteout {
			t.Skip("a name is a whiteout in a layer")
		}
		clamp := time.Unix(clampUnix, 0)
		var buf bytes.Buffer
		if err := WriteClamped(&buf, src, &clamp); err != nil {
			if !strings.HasPrefix(err.Error(), "tar: ") {
				t.Fatalf("error %q does not name the entry", err)
			}
			return
		}
		back := tree.New()
		if err := tree.ApplyTar(back, bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("archive written does not apply: %v", err)
		}
		want := flatten(t, src)
		for i := range want {
			m := min(want[i].ModTime, clampUnix)
			want[i].ModTime = max(m, 0)
		}
		if got := flatten(t, back); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip differs:\n%+v\n%+v", want, got)
		}
	})
}
