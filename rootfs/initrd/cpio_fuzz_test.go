package initrd

import (
	"bytes"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/keel-os/keel/rootfs/tree"
)

// fuzzTree builds a tree from lines "op path arg": d (directory, octal mode), f (file,
// contents), s (symlink, target), h (hard link, target), c, b (devices, major:minor), p
// (fifo), u (owner, uid:gid), m (octal mode bits), t (mtime, Unix seconds), r (remove).
// Operations the tree refuses are skipped.
func fuzzTree(ops string) *tree.Tree {
	tr := tree.New()
	num := func(s string, base int) int64 { n, _ := strconv.ParseInt(s, base, 64); return n }
	pair := func(s string) (int64, int64) { a, b, _ := strings.Cut(s, ":"); return num(a, 10), num(b, 10) }
	for _, line := range strings.Split(ops, "\n") {
		op, rest, _ := strings.Cut(line, " ")
		p, arg, _ := strings.Cut(rest, " ")
		switch op {
		case "d":
			tr.AddDir(p, fs.FileMode(num(arg, 8))&fs.ModePerm, 0, 0)
		case "f":
			tr.AddFile(p, 0o644, 0, 0, []byte(arg))
		case "s":
			tr.AddSymlink(p, arg, 0, 0)
		case "h":
			tr.Link(p, arg)
		case "c", "b", "p":
			typ := map[string]fs.FileMode{"c": tree.ModeChar, "b": tree.ModeBlock, "p": tree.ModeFifo}[op]
			major, minor := pair(arg)
			tr.AddDevice(p, typ, 0o600, 0, 0, uint32(major), uint32(minor))
		case "u", "m", "t":
			n, err := tr.Lookup(p)
			if err != nil {
				continue
			}
			switch op {
			case "u":
				uid, gid := pair(arg)
				n.UID, n.GID = int(uid), int(gid)
			case "m":
				n.Mode = n.Mode&fs.ModeType | tree.ModeFromUnix(uint32(num(arg, 8))&0o7777)
			case "t":
				n.ModTime = time.Unix(num(arg, 10), 0)
			}
		case "r":
			tr.Remove(p)
		}
	}
	return tr
}

// FuzzWriteCPIO writes a fuzzed tree as a newc archive and reads it back, with the test's
// own parser and with the cpio library: every node comes back once per name with its type,
// mode, owner, time (clamped), link target, device numbers and contents (carried by one
// name of a hard-linked file), parents before children; names are relative, clean and
// without NUL, which would cut a name short in the kernel's unpacker.
func FuzzWriteCPIO(f *testing.F) {
	f.Add("d etc 755\nf etc/passwd root:x:0:0\nm etc/passwd 600\nu etc/passwd 0:42\ns lib usr/lib\nd usr/lib 755\nf bin/busybox ELF\nh bin/sh bin/busybox\nh usr/bin/env bin/busybox", int64(1700000000))
	f.Add("c dev/console 5:1\nb dev/sda 8:0\np run/initctl\nd tmp 1777\nm tmp 1777\nt tmp 4102444800\nt . 1", int64(0))
	f.Add("f a x\nr a\nf a/b c\nu a 4294967296:0\nt a -5", int64(-1))
	f.Add("f a\x00b x\nf TRAILER!!! y", int64(0))
	f.Add("s "+strings.Repeat("d/", 2048)+" x\ns long "+strings.Repeat("t", 4096), int64(0))
	f.Add("f big "+strings.Repeat("x", 600)+"\nf empty \nh e2 empty\nf \"quoted name\" q", int64(1<<40))
	f.Fuzz(func(t *testing.T, ops string, clampUnix int64) {
		tr := fuzzTree(ops)
		clamp := time.Unix(clampUnix, 0)
		nodes := map[string]*tree.Node{".": tr.Root()}
		names := map[*tree.Node]int{tr.Root(): 1}
		refuse := tr.Root().UID < 0 || tr.Root().UID > 1<<32-1 || tr.Root().GID < 0 || tr.Root().GID > 1<<32-1
		tr.Walk(func(p string, n *tree.Node) error {
			nodes[p] = n
			names[n]++
			if n.UID < 0 || int64(n.UID) > 1<<32-1 || n.GID < 0 || int64(n.GID) > 1<<32-1 || p == "TRAILER!!!" || strings.ContainsRune(p, 0) ||
				len(p) >= 4096 || (n.IsSymlink() && (n.Target == "" || len(n.Target) >= 4096)) {
				refuse = true
			}
			return nil
		})
		var buf bytes.Buffer
		err := WriteCPIO(&buf, tr, &clamp)
		if refuse {
			if err == nil {
				t.Fatal("tree with an owner out of range, or a name or link target the kernel would misread, written; want an error")
			}
			return
		}
		if err != nil {
			t.Fatalf("WriteCPIO: %v", err)
		}
		entries := parseNewc(t, buf.Bytes())
		if len(entries) != len(nodes) {
			t.Fatalf("%d entries, want one per name: %d", len(entries), len(nodes))
		}
		if entries[0].name != "." {
			t.Errorf("first entry %q, want the root as \".\"", entries[0].name)
		}
		seen := map[string]bool{}
		carried := map[uint32]int{} // inode → entries carrying contents
		inodes := map[*tree.Node]uint32{}
		for _, e := range entries {
			n := nodes[e.name]
			if n == nil || seen[e.name] {
				t.Fatalf("entry %q is not a name of the tree, or comes twice", e.name)
			}
			seen[e.name] = true
			if strings.ContainsRune(e.name, 0) || strings.HasPrefix(e.name, "/") {
				t.Errorf("entry name %q is absolute or has a NUL", e.name)
			}
			if e.name != "." {
				if c, err := tree.Clean(e.name); err != nil || c != e.name {
					t.Errorf("entry name %q is not clean", e.name)
				}
				if i := strings.LastIndexByte(e.name, '/'); i >= 0 && !seen[e.name[:i]] {
					t.Errorf("entry %q comes before its directory", e.name)
				}
			}
			if ino, ok := inodes[n]; ok && ino != e.ino {
				t.Errorf("%q: inode %d, another name of it has %d", e.name, e.ino, ino)
			}
			inodes[n] = e.ino
			if e.mode != n.UnixMode() || e.uid != uint32(n.UID) || e.gid != uint32(n.GID) {
				t.Errorf("%q: mode %o uid %d gid %d, want %o %d %d", e.name, e.mode, e.uid, e.gid, n.UnixMode(), n.UID, n.GID)
			}
			if wantTime := mtime(n.ModTime, &clamp); e.mtime != wantTime || (int64(e.mtime) > clampUnix && clampUnix >= 0) {
				t.Errorf("%q: mtime %d, want %d (clamp %d)", e.name, e.mtime, wantTime, clampUnix)
			}
			switch {
			case n.IsDir():
				if e.data != "" {
					t.Errorf("directory %q has contents", e.name)
				}
			case n.IsSymlink():
				if e.data != n.Target || e.nlink != uint32(names[n]) {
					t.Errorf("symlink %q: target %q nlink %d, want %q %d", e.name, e.data, e.nlink, n.Target, names[n])
				}
			case n.IsRegular():
				if e.nlink != uint32(names[n]) {
					t.Errorf("%q: nlink %d, want %d", e.name, e.nlink, names[n])
				}
				if e.data != "" {
					carried[e.ino]++
					if e.data != string(n.Data) {
						t.Errorf("%q: contents %q, want %q", e.name, e.data, n.Data)
					}
				}
			default:
				if e.rdevMajor != n.Major || e.rdevMinor != n.Minor || e.data != "" {
					t.Errorf("device %q: %d:%d, want %d:%d", e.name, e.rdevMajor, e.rdevMinor, n.Major, n.Minor)
				}
			}
		}
		for n, ino := range inodes {
			if n.IsRegular() && len(n.Data) > 0 && carried[ino] != 1 {
				t.Errorf("inode %d: contents carried by %d names, want 1", ino, carried[ino])
			}
		}

		r := cpio.NewReader(bytes.NewReader(buf.Bytes()))
		count := 0
		for {
			h, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("cpio library: entry %d: %v", count, err)
			}
			if nodes[h.Name] == nil {
				t.Errorf("cpio library reads name %q", h.Name)
			}
			count++
		}
		if count != len(entries) {
			t.Errorf("cpio library reads %d entries, want %d", count, len(entries))
		}
	})
}
