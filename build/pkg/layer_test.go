package pkg

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTreeRejectsPathDefinedTwice(t *testing.T) {
	tr := tree{}
	if err := tr.add("/etc/motd", &entry{typ: tar.TypeReg, origin: "build.yml:3"}); err != nil {
		t.Fatal(err)
	}
	err := tr.add("/etc/motd", &entry{typ: tar.TypeReg, origin: "build.yml:7"})
	if err == nil || !strings.Contains(err.Error(), "build.yml:7: /etc/motd already defined at build.yml:3") {
		t.Errorf("err = %v", err)
	}
}

func TestTreeRejectsFileUnderNonDirectory(t *testing.T) {
	tr := tree{}
	if err := tr.add("/bin", &entry{typ: tar.TypeSymlink, link: "usr/bin", origin: "build.yml:3"}); err != nil {
		t.Fatal(err)
	}
	err := tr.add("/bin/sh", &entry{typ: tar.TypeReg, origin: "build.yml:5"})
	if err == nil || !strings.Contains(err.Error(), "parent /bin of /bin/sh is not a directory") {
		t.Errorf("err = %v", err)
	}
}

func TestTreeRejectsNonDirectoryOverImpliedParent(t *testing.T) {
	tr := tree{}
	if err := tr.add("/bin/sh", &entry{typ: tar.TypeReg, origin: "build.yml:3"}); err != nil {
		t.Fatal(err)
	}
	err := tr.add("/bin", &entry{typ: tar.TypeSymlink, link: "usr/bin", origin: "build.yml:5"})
	if err == nil || !strings.Contains(err.Error(), "/bin must be a directory") {
		t.Errorf("err = %v", err)
	}
}

func TestTreeExplicitDirectoryOverridesImpliedParentMode(t *testing.T) {
	tr := tree{}
	if err := tr.add("/root/.profile", &entry{typ: tar.TypeReg, mode: 0o644, origin: "build.yml:3"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.add("/root", &entry{typ: tar.TypeDir, mode: 0o700, origin: "build.yml:5"}); err != nil {
		t.Fatal(err)
	}
	if tr["root"].mode != 0o700 {
		t.Errorf("root mode = %o, want 0700", tr["root"].mode)
	}
}

func TestHardLinksPointAtFirstPathInLayerOrder(t *testing.T) {
	tr := tree{}
	if err := tr.addHardLinked([]string{"/usr/bin/b", "/a", "/usr/bin/c"}, []byte("x"), 0o755, "build.yml:2"); err != nil {
		t.Fatal(err)
	}
	if tr["a"].typ != tar.TypeReg || string(tr["a"].data) != "x" {
		t.Errorf("a = %+v, want the data holder", tr["a"])
	}
	for _, k := range []string{"usr/bin/b", "usr/bin/c"} {
		if tr[k].typ != tar.TypeLink || tr[k].link != "a" {
			t.Errorf("%s = %+v, want a hard link to a", k, tr[k])
		}
	}
}

func TestTarballIsByteIdenticalForEqualTrees(t *testing.T) {
	mk := func() tree {
		tr := tree{}
		for _, p := range []string{"/z", "/a/b", "/m/n/o"} {
			if err := tr.add(p, &entry{typ: tar.TypeReg, mode: 0o644, data: []byte(p), origin: p}); err != nil {
				t.Fatal(err)
			}
		}
		return tr
	}
	a, err := mk().tarball(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := mk().tarball(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("tarballs differ")
	}
}

func TestAddHostCopiesDirectoryBehindSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "real", "sub", "f"), "x")
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	tr := tree{}
	mode := Mode(0o700)
	if err := tr.addHost("/opt/d", filepath.Join(dir, "link"), &mode, "build.yml:4"); err != nil {
		t.Fatal(err)
	}
	if e := tr["opt/d"]; e == nil || e.typ != tar.TypeDir || e.mode != 0o700 {
		t.Errorf("opt/d = %+v, want a 0700 directory", e)
	}
	if e := tr["opt/d/sub/f"]; e == nil || string(e.data) != "x" {
		t.Errorf("opt/d/sub/f = %+v, want the copied file", e)
	}
}
