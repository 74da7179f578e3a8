package tarout

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"reflect"
	"testing"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
)

var t0 = time.Unix(1700000000, 0).UTC()

func sample(t *testing.T) *tree.Tree {
	t.Helper()
	tr := tree.New()
	for _, err := range []error{
		tr.AddFile("bin/busybox", 0o755, 0, 0, []byte("bb")),
		tr.Link("bin/sh", "bin/busybox"),
		tr.AddSymlink("lib", "usr/lib", 0, 0),
		tr.AddDir("tmp", 0o777|fs.ModeSticky, 0, 0),
		tr.AddFile("usr/bin/passwd", 0o755|fs.ModeSetuid, 0, 0, []byte("pw")),
		tr.AddFile("home/u/f", 0o600, 1000, 1000, []byte("data")),
		tr.AddDevice("dev/null", tree.ModeChar, 0o666, 0, 0, 1, 3),
		tr.AddDevice("dev/sda", tree.ModeBlock, 0o660, 0, 6, 8, 0),
		tr.AddDevice("dev/fifo", tree.ModeFifo, 0o600, 0, 0, 0, 0),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = tr.Walk(func(p string, n *tree.Node) error { n.ModTime = t0; return nil })
	return tr
}

func write(t *testing.T, tr *tree.Tree) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tr); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type flat struct {
	Path             string
	Mode             fs.FileMode
	UID, GID         int
	ModTime          int64
	Data, Target     string
	Major, Minor     uint32
	LinkedToPrevious bool
}

func flatten(t *testing.T, tr *tree.Tree) []flat {
	t.Helper()
	var out []flat
	seen := map[*tree.Node]bool{}
	_ = tr.Walk(func(p string, n *tree.Node) error {
		out = append(out, flat{p, n.Mode, n.UID, n.GID, n.ModTime.Unix(), string(n.Data), n.Target, n.Major, n.Minor, seen[n]})
		seen[n] = true
		return nil
	})
	return out
}

func TestWriteRoundTripsThroughApplyTar(t *testing.T) {
	src := sample(t)
	back := tree.New()
	if err := tree.ApplyTar(back, bytes.NewReader(write(t, src))); err != nil {
		t.Fatal(err)
	}
	if a, b := flatten(t, src), flatten(t, back); !reflect.DeepEqual(a, b) {
		t.Errorf("round trip differs:\n%+v\n%+v", a, b)
	}
}

func TestWriteEmitsHardLinksAfterTheFirstName(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(write(t, sample(t))))
	hdrs := map[string]*tar.Header{}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name] = h
		names = append(names, h.Name)
		if h.Uname != "" || h.Gname != "" || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: host-dependent fields set: %+v", h.Name, h)
		}
	}
	want := []string{"bin/", "bin/busybox", "bin/sh", "dev/", "dev/fifo", "dev/null", "dev/sda", "home/", "home/u/", "home/u/f", "lib", "tmp/", "usr/", "usr/bin/", "usr/bin/passwd"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names = %q", names)
	}
	if h := hdrs["bin/busybox"]; h.Typeflag != tar.TypeReg || h.Size != 2 {
		t.Errorf("busybox: %+v", h)
	}
	if h := hdrs["bin/sh"]; h.Typeflag != tar.TypeLink || h.Linkname != "bin/busybox" {
		t.Errorf("sh: %+v", h)
	}
	if h := hdrs["usr/bin/passwd"]; h.Mode != 0o4755 {
		t.Errorf("passwd mode %o", h.Mode)
	}
	if h := hdrs["tmp/"]; h.Mode != 0o1777 {
		t.Errorf("tmp mode %o", h.Mode)
	}
}

func TestWriteIsByteIdenticalAndClampsToSourceDateEpoch(t *testing.T) {
	a, b := write(t, sample(t)), write(t, sample(t))
	if !bytes.Equal(a, b) {
		t.Error("two writes differ")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1000")
	back := tree.New()
	if err := tree.ApplyTar(back, bytes.NewReader(write(t, sample(t)))); err != nil {
		t.Fatal(err)
	}
	if n, _ := back.Lookup("home/u/f"); n.ModTime.Unix() != 1000 {
		t.Errorf("mtime %v not clamped", n.ModTime)
	}
}
