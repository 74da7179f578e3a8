package tree

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerTar builds an uncompressed layer. Headers with Typeflag TypeReg take their contents
// from Linkname-free bodies in data, keyed by name.
func layerTar(t *testing.T, hdrs []tar.Header, data map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h := h
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		body := data[h.Name]
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dir(name string) tar.Header  { return tar.Header{Name: name, Typeflag: tar.TypeDir} }
func file(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg} }
func symlink(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
}
func hardlink(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}
}

func applyHdrs(t *testing.T, tr *Tree, hdrs []tar.Header, data map[string]string) error {
	t.Helper()
	return ApplyTar(tr, bytes.NewReader(layerTar(t, hdrs, data)))
}

func contents(t *testing.T, tr *Tree, p string) string {
	t.Helper()
	n, err := tr.Lookup(p)
	if err != nil {
		t.Fatalf("lookup %s: %v", p, err)
	}
	return string(n.Data)
}

func TestApplyTarKeepsModeOwnerTimeAndContents(t *testing.T) {
	tr := New()
	mtime := time.Unix(1600000000, 0)
	hdrs := []tar.Header{
		{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime},
		{Name: "./usr/bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 0, Gid: 0, ModTime: mtime},
		{Name: "home/u/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 1000, Gid: 100},
	}
	must(t, applyHdrs(t, tr, hdrs, map[string]string{"./usr/bin/su": "su!"}))
	n, err := tr.Lookup("usr/bin/su")
	if err != nil {
		t.Fatal(err)
	}
	if n.UnixMode() != 0o104755 || string(n.Data) != "su!" || !n.ModTime.Equal(mtime) {
		t.Errorf("su: mode %o data %q mtime %v", n.UnixMode(), n.Data, n.ModTime)
	}
	if n, _ := tr.Lookup("usr/bin"); n == nil || !n.IsDir() || n.Perm() != 0o755 {
		t.Error("implicit parent usr/bin missing or wrong")
	}
	if n, _ := tr.Lookup("home/u"); n.UID != 1000 || n.GID != 100 || n.Perm() != 0o700 {
		t.Errorf("home/u: %d:%d %v", n.UID, n.GID, n.Mode)
	}
}

func TestApplyTarWhiteoutDeletesEntryOfLowerLayer(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{dir("etc/"), file("etc/motd"), file("etc/keep"), dir("var/"), file("var/x")}, nil))
	must(t, applyHdrs(t, tr, []tar.Header{file("etc/.wh.motd"), file(".wh.var"), file(".wh.never-existed")}, nil))
	if got := paths(t, tr); !reflect.DeepEqual(got, []string{"etc", "etc/keep"}) {
		t.Errorf("after whiteout: %q", got)
	}
}

func TestApplyTarWhiteoutNeverHidesEntriesOfItsOwnLayer(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{file("a")}, map[string]string{"a": "lower"}))
	// The whiteout follows the new "a" in the archive; it still only hides the lower "a".
	must(t, applyHdrs(t, tr, []tar.Header{file("a"), file(".wh.a")}, map[string]string{"a": "upper"}))
	if got := contents(t, tr, "a"); got != "upper" {
		t.Errorf("a = %q, want upper", got)
	}
}

func TestApplyTarOpaqueDirectoryHidesLowerEntriesOnly(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{dir("d/"), file("d/old"), dir("d/sub/"), file("d/sub/old"), file("other")}, nil))
	must(t, applyHdrs(t, tr, []tar.Header{dir("d/"), dir("d/sub/"), file("d/sub/new"), file("d/.wh..wh..opq")}, nil))
	want := []string{"d", "d/sub", "d/sub/new", "other"}
	if got := paths(t, tr); !reflect.DeepEqual(got, want) {
		t.Errorf("after opaque: %q, want %q", got, want)
	}
}

func TestApplyTarHardLinksShareContentsWithTarget(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{file("bin/busybox"), hardlink("bin/sh", "bin/busybox")}, map[string]string{"bin/busybox": "BB"}))
	// A later layer links to a file of a lower one.
	must(t, applyHdrs(t, tr, []tar.Header{hardlink("usr/bin/ls", "./bin/busybox")}, nil))
	a, _ := tr.Lookup("bin/busybox")
	for _, p := range []string{"bin/sh", "usr/bin/ls"} {
		if n, _ := tr.Lookup(p); n != a {
			t.Errorf("%s is not a hard link to bin/busybox", p)
		}
	}
	// Replacing one link leaves the others alone, as unpacking a file does (a new inode).
	must(t, applyHdrs(t, tr, []tar.Header{file("bin/sh")}, map[string]string{"bin/sh": "dash"}))
	if contents(t, tr, "bin/busybox") != "BB" || contents(t, tr, "bin/sh") != "dash" {
		t.Error("replacing a hard link changed its sibling")
	}
}

func TestApplyTarRejectsHardLinkToMissingOrEscapingTarget(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"nope", "does not exist"},
		{"../../etc/passwd", "escapes the root"},
		{"/etc/passwd", "absolute path"},
		{"d", "directory"},
		{"l/x", "symbolic link"},
	} {
		tr := New()
		err := applyHdrs(t, tr, []tar.Header{dir("d/"), symlink("l", "/etc"), hardlink("x", tc.target)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"x"`) {
			t.Errorf("hard link to %q: %v, want error naming the entry and %q", tc.target, err, tc.want)
		}
	}
}

func TestApplyTarSymlinksAndDevicesAreRecordedVerbatim(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{
		symlink("lib", "usr/lib"),
		symlink("etc/mtab", "/proc/self/mounts"),
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/loop0", Typeflag: tar.TypeBlock, Mode: 0o660, Gid: 6, Devmajor: 7},
		{Name: "dev/initctl", Typeflag: tar.TypeFifo, Mode: 0o600},
	}, nil))
	if n, _ := tr.Lookup("etc/mtab"); !n.IsSymlink() || n.Target != "/proc/self/mounts" {
		t.Errorf("etc/mtab = %+v", n)
	}
	if n, _ := tr.Lookup("lib"); !n.IsSymlink() || n.Target != "usr/lib" {
		t.Errorf("lib = %+v", n)
	}
	if n, _ := tr.Lookup("dev/null"); n.UnixMode() != 0o020666 || n.Major != 1 || n.Minor != 3 {
		t.Errorf("dev/null = %o %d:%d", n.UnixMode(), n.Major, n.Minor)
	}
	if n, _ := tr.Lookup("dev/loop0"); n.UnixMode() != 0o060660 || n.Major != 7 || n.GID != 6 {
		t.Errorf("dev/loop0 = %o", n.UnixMode())
	}
	if n, _ := tr.Lookup("dev/initctl"); n.UnixMode() != 0o010600 {
		t.Errorf("dev/initctl = %o", n.UnixMode())
	}
}

func TestApplyTarReplacesDirectoryWithFileAndFileWithDirectory(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{dir("a/"), file("a/x"), file("b")}, nil))
	must(t, applyHdrs(t, tr, []tar.Header{file("a"), dir("b/"), file("b/y")}, nil))
	want := []string{"a", "b", "b/y"}
	if got := paths(t, tr); !reflect.DeepEqual(got, want) {
		t.Errorf("walk = %q, want %q", got, want)
	}
}

func TestApplyTarRejectsPathTraversal(t *testing.T) {
	for _, name := range []string{"../../etc/passwd", "a/../../etc/passwd", "..", "./../x"} {
		tr := New()
		must(t, tr.AddFile("keep", 0o644, 0, 0, nil))
		err := applyHdrs(t, tr, []tar.Header{file("ok"), file(name)}, nil)
		if !errors.Is(err, ErrEscape) || !strings.Contains(err.Error(), name) {
			t.Errorf("entry %q: %v, want ErrEscape naming it", name, err)
		}
		if _, err := tr.Lookup("ok"); err == nil {
			t.Errorf("entry %q: layer partly applied before the check", name)
		}
	}
}

func TestApplyTarRejectsAbsolutePaths(t *testing.T) {
	for _, name := range []string{"/etc/passwd", "/../../etc/shadow"} {
		err := applyHdrs(t, New(), []tar.Header{file(name)}, nil)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("entry %q: %v, want an error naming it", name, err)
		}
	}
}

func TestApplyTarRejectsWritingThroughSymlinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdrs []tar.Header
	}{
		{"absolute link", []tar.Header{symlink("a", "/etc"), file("a/passwd")}},
		{"relative link climbing out", []tar.Header{symlink("a", "../../.."), file("a/etc/passwd")}},
		{"link inside the tree", []tar.Header{dir("usr/lib/"), symlink("lib", "usr/lib"), file("lib/libc.so")}},
		{"directory entry", []tar.Header{symlink("a", "/"), dir("a/etc/")}},
		{"symlink entry", []tar.Header{symlink("a", "/"), symlink("a/b", "x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := applyHdrs(t, New(), tc.hdrs, nil)
			if !errors.Is(err, ErrSymlink) {
				t.Fatalf("err = %v, want ErrSymlink", err)
			}
			if !strings.Contains(err.Error(), tc.hdrs[len(tc.hdrs)-1].Name) {
				t.Errorf("error %q does not name the entry", err)
			}
		})
	}
	// The link may come from a lower layer too.
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{symlink("a", "/etc")}, nil))
	if err := applyHdrs(t, tr, []tar.Header{file("a/passwd")}, nil); !errors.Is(err, ErrSymlink) {
		t.Errorf("write through lower layer's link: %v", err)
	}
}

func TestApplyTarReplacingSymlinkWithDirectoryAllowsEntriesBelow(t *testing.T) {
	tr := New()
	must(t, applyHdrs(t, tr, []tar.Header{symlink("a", "/etc")}, nil))
	must(t, applyHdrs(t, tr, []tar.Header{dir("a/"), file("a/passwd")}, nil))
	if n, _ := tr.Lookup("a"); !n.IsDir() {
		t.Error("a is not a directory")
	}
}

func TestApplyLayerErrorNamesLayerDigestAndEntry(t *testing.T) {
	b := layerTar(t, []tar.Header{symlink("a", "/etc"), file("a/passwd")}, nil)
	layer, err := layerFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := layer.Digest()
	err = ApplyLayer(New(), layer)
	if err == nil || !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), `"a/passwd"`) {
		t.Errorf("err = %v, want digest %s and entry a/passwd", err, d)
	}
}

func TestUnpackAppliesImageLayersInOrder(t *testing.T) {
	l1, _ := layerFromBytes(layerTar(t, []tar.Header{file("a"), file("b")}, map[string]string{"a": "1"}))
	l2, _ := layerFromBytes(layerTar(t, []tar.Header{file("a"), file(".wh.b")}, map[string]string{"a": "2"}))
	img, err := mutate.AppendLayers(empty.Image, l1, l2)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Unpack(img)
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(t, tr); !reflect.DeepEqual(got, []string{"a"}) || contents(t, tr, "a") != "2" {
		t.Errorf("walk = %q, a = %q", got, contents(t, tr, "a"))
	}
}

// layerFromBytes returns an image layer holding the uncompressed tar b.
func layerFromBytes(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}
