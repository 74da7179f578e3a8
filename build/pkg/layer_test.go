package pkg

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
)

func file(data string) *tree.Node { return &tree.Node{Mode: 0o644, Data: []byte(data)} }

func lookup(t *testing.T, l *layer, p string) *tree.Node {
	t.Helper()
	n, err := l.tree.Lookup(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLayerRejectsPathDefinedTwice(t *testing.T) {
	l := newLayer()
	if err := l.add("/etc/motd", file(""), "build.yml:3"); err != nil {
		t.Fatal(err)
	}
	err := l.add("/etc/motd", file(""), "build.yml:7")
	if err == nil || !strings.Contains(err.Error(), "build.yml:7: /etc/motd already defined at build.yml:3") {
		t.Errorf("err = %v", err)
	}
}

func TestLayerRejectsFileUnderNonDirectory(t *testing.T) {
	l := newLayer()
	if err := l.add("/bin", &tree.Node{Mode: tree.ModeSymlink | 0o777, Target: "usr/bin"}, "build.yml:3"); err != nil {
		t.Fatal(err)
	}
	err := l.add("/bin/sh", file(""), "build.yml:5")
	if err == nil || !strings.Contains(err.Error(), "parent /bin of /bin/sh is not a directory (defined at build.yml:3)") {
		t.Errorf("err = %v", err)
	}
}

func TestLayerRejectsNonDirectoryOverImpliedParent(t *testing.T) {
	l := newLayer()
	if err := l.add("/bin/sh", file(""), "build.yml:3"); err != nil {
		t.Fatal(err)
	}
	err := l.add("/bin", &tree.Node{Mode: tree.ModeSymlink | 0o777, Target: "usr/bin"}, "build.yml:5")
	if err == nil || !strings.Contains(err.Error(), "/bin must be a directory") {
		t.Errorf("err = %v", err)
	}
}

func TestLayerRejectsTheRoot(t *testing.T) {
	if err := newLayer().add("/", &tree.Node{Mode: tree.ModeDir | 0o755}, "build.yml:3"); err == nil || !strings.Contains(err.Error(), "build.yml:3: cannot replace the root") {
		t.Errorf("err = %v", err)
	}
}

func TestLayerExplicitDirectoryOverridesImpliedParentMode(t *testing.T) {
	l := newLayer()
	if err := l.add("/root/.profile", file(""), "build.yml:3"); err != nil {
		t.Fatal(err)
	}
	if err := l.add("/root", &tree.Node{Mode: tree.ModeDir | 0o700}, "build.yml:5"); err != nil {
		t.Fatal(err)
	}
	if n := lookup(t, l, "root"); n.Perm() != 0o700 {
		t.Errorf("root mode = %v, want 0700", n.Mode)
	}
	lookup(t, l, "root/.profile")
}

func TestHardLinksPointAtFirstPathInLayerOrder(t *testing.T) {
	l := newLayer()
	if err := l.addHardLinked([]string{"/usr/bin/b", "/a", "/usr/bin/c"}, []byte("x"), 0o755, "build.yml:2"); err != nil {
		t.Fatal(err)
	}
	tb, err := l.tarball(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	order, entries := readTar(t, bytes.NewReader(tb))
	if strings.Join(order, " ") != "a usr/ usr/bin/ usr/bin/b usr/bin/c" {
		t.Errorf("order = %q", order)
	}
	if e := entries["a"]; e.hdr.Typeflag != '0' || string(e.data) != "x" {
		t.Errorf("a = %+v, want the data holder", e.hdr)
	}
	for _, k := range []string{"usr/bin/b", "usr/bin/c"} {
		if h := entries[k].hdr; h.Typeflag != '1' || h.Linkname != "a" || h.Mode != 0o755 {
			t.Errorf("%s = %+v, want a hard link to a", k, h)
		}
	}
}

func TestTarballIsByteIdenticalForEqualTreesAndStampsEveryEntry(t *testing.T) {
	mk := func() *layer {
		l := newLayer()
		for _, p := range []string{"/z", "/a/b", "/m/n/o"} {
			if err := l.add(p, file(p), p); err != nil {
				t.Fatal(err)
			}
		}
		return l
	}
	epoch := time.Unix(1700000000, 0)
	a, err := mk().tarball(epoch)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mk().tarball(epoch)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("tarballs differ")
	}
	order, entries := readTar(t, bytes.NewReader(a))
	for _, name := range order {
		if h := entries[name].hdr; !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v, owner %d:%d; want %v, 0:0", name, h.ModTime, h.Uid, h.Gid, epoch)
		}
	}
}

func TestAddHostCopiesDirectoryBehindSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "real", "sub", "f"), "x")
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	l := newLayer()
	mode := Mode(0o700)
	if err := l.addHost("/opt/d", filepath.Join(dir, "link"), &mode, "build.yml:4"); err != nil {
		t.Fatal(err)
	}
	if n := lookup(t, l, "opt/d"); !n.IsDir() || n.Perm() != 0o700 {
		t.Errorf("opt/d = %+v, want a 0700 directory", n)
	}
	if n := lookup(t, l, "opt/d/sub/f"); string(n.Data) != "x" {
		t.Errorf("opt/d/sub/f = %+v, want the copied file", n)
	}
}

func TestAddHostNamesTheEntryDefinedTwice(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "etc", "motd"), "x")
	l := newLayer()
	if err := l.add("/opt/etc/motd", file(""), "build.yml:3"); err != nil {
		t.Fatal(err)
	}
	err := l.addHost("/opt", dir, nil, "build.yml:4")
	if err == nil || err.Error() != "build.yml:4 (etc/motd): /opt/etc/motd already defined at build.yml:3" {
		t.Errorf("err = %v", err)
	}
}
