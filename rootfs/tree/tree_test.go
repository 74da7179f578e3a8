package tree

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func paths(t *testing.T, tr *Tree) []string {
	t.Helper()
	var got []string
	if err := tr.Walk(func(p string, n *Node) error {
		got = append(got, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCleanRejectsPathsClimbingAboveTheRoot(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		"/":         "",
		".":         "",
		"./a/b/":    "a/b",
		"/a//b":     "a/b",
		"a/../b":    "b",
		"a/./b/..":  "a",
		"//etc/x/.": "etc/x",
	} {
		got, err := Clean(in)
		if err != nil || got != want {
			t.Errorf("Clean(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "../x", "a/../../x", "/../etc/passwd", "./../x"} {
		if _, err := Clean(in); !errors.Is(err, ErrEscape) {
			t.Errorf("Clean(%q) error = %v, want ErrEscape", in, err)
		}
	}
}

func TestAddCreatesMissingParentsAsRootOwned0755Dirs(t *testing.T) {
	tr := New()
	if err := tr.AddFile("/etc/ssh/sshd_config", 0o600, 1, 2, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc", "etc/ssh"} {
		n, err := tr.Lookup(p)
		if err != nil {
			t.Fatal(err)
		}
		if !n.IsDir() || n.Perm() != 0o755 || n.UID != 0 || n.GID != 0 {
			t.Errorf("%s: mode %v uid %d gid %d", p, n.Mode, n.UID, n.GID)
		}
	}
	n, err := tr.Lookup("etc/ssh/sshd_config")
	if err != nil {
		t.Fatal(err)
	}
	if !n.IsRegular() || n.Perm() != 0o600 || n.UID != 1 || n.GID != 2 || string(n.Data) != "x" {
		t.Errorf("file: %+v", n)
	}
}

func TestWalkVisitsParentsBeforeChildrenInSortedOrder(t *testing.T) {
	tr := New()
	for _, p := range []string{"b/z", "a-b", "a/c", "a/b/d", "c"} {
		if err := tr.AddFile(p, 0o644, 0, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a", "a/b", "a/b/d", "a/c", "a-b", "b", "b/z", "c"}
	if got := paths(t, tr); !reflect.DeepEqual(got, want) {
		t.Errorf("walk = %q, want %q", got, want)
	}
}

func TestAddRefusesToPlaceEntriesBelowASymlink(t *testing.T) {
	tr := New()
	if err := tr.AddSymlink("etc", "/host/etc", 0, 0); err != nil {
		t.Fatal(err)
	}
	err := tr.AddFile("etc/passwd", 0o644, 0, 0, nil)
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("AddFile below symlink: %v, want ErrSymlink", err)
	}
	if _, err := tr.Lookup("etc/passwd"); !errors.Is(err, ErrSymlink) {
		t.Errorf("Lookup below symlink: %v, want ErrSymlink", err)
	}
	if err := tr.AddFile("f", 0o644, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddFile("f/x", 0o644, 0, 0, nil); !errors.Is(err, ErrNotDir) {
		t.Errorf("AddFile below a file: %v, want ErrNotDir", err)
	}
}

func TestAddDirOverDirKeepsEntriesAndOtherTypesReplace(t *testing.T) {
	tr := New()
	must(t, tr.AddFile("d/f", 0o644, 0, 0, nil))
	must(t, tr.AddDir("d", 0o700, 5, 5))
	n, _ := tr.Lookup("d")
	if n.Perm() != 0o700 || n.UID != 5 {
		t.Errorf("dir metadata not updated: %v %d", n.Mode, n.UID)
	}
	if _, err := tr.Lookup("d/f"); err != nil {
		t.Errorf("dir entries lost: %v", err)
	}
	must(t, tr.AddSymlink("d", "elsewhere", 0, 0))
	if _, err := tr.Lookup("d/f"); err == nil {
		t.Error("symlink over dir kept the dir's entries")
	}
}

func TestLinkSharesOneNodeAndRefusesDirectoriesAndMissingTargets(t *testing.T) {
	tr := New()
	must(t, tr.AddFile("bin/busybox", 0o755, 0, 0, []byte("bb")))
	must(t, tr.Link("bin/sh", "/bin/busybox"))
	a, _ := tr.Lookup("bin/busybox")
	b, _ := tr.Lookup("bin/sh")
	if a != b {
		t.Error("hard link does not share the node")
	}
	if err := tr.Link("x", "bin"); err == nil {
		t.Error("hard link to a directory accepted")
	}
	if err := tr.Link("x", "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("hard link to missing target: %v", err)
	}
}

func TestDevicesAndOwnershipNeedNoPrivileges(t *testing.T) {
	tr := New()
	must(t, tr.AddDevice("dev/console", ModeChar, 0o600, 0, 5, 5, 1))
	must(t, tr.AddDevice("dev/sda", ModeBlock, 0o660, 0, 6, 8, 0))
	must(t, tr.AddDevice("run/fifo", ModeFifo, 0o644, 1000, 1000, 0, 0))
	n, _ := tr.Lookup("dev/console")
	if n.UnixMode() != 0o020600 || n.Major != 5 || n.Minor != 1 || n.GID != 5 {
		t.Errorf("console: %o %d:%d", n.UnixMode(), n.Major, n.Minor)
	}
	n, _ = tr.Lookup("dev/sda")
	if n.UnixMode() != 0o060660 || n.Major != 8 {
		t.Errorf("sda: %o", n.UnixMode())
	}
	n, _ = tr.Lookup("run/fifo")
	if n.UnixMode() != 0o010644 || n.UID != 1000 {
		t.Errorf("fifo: %o", n.UnixMode())
	}
	if err := tr.AddDevice("x", ModeDir, 0o755, 0, 0, 0, 0); err == nil {
		t.Error("AddDevice accepted a directory type")
	}
}

func TestUnixModeEncodesSpecialBits(t *testing.T) {
	n := &Node{Mode: 0o755 | fs.ModeSetuid | fs.ModeSetgid}
	if got := n.UnixMode(); got != 0o106755 {
		t.Errorf("UnixMode = %o", got)
	}
	d := &Node{Mode: fs.ModeDir | 0o777 | fs.ModeSticky}
	if got := d.UnixMode(); got != 0o041777 {
		t.Errorf("UnixMode = %o", got)
	}
}

func TestAddHelpersAcceptUnixSpecialBits(t *testing.T) {
	tr := New()
	must(t, tr.AddFile("usr/bin/passwd", 0o4755, 0, 0, nil))
	must(t, tr.AddDir("tmp", 0o1777, 0, 0))
	must(t, tr.AddFile("usr/bin/wall", 0o755|fs.ModeSetgid, 0, 5, nil))
	for p, want := range map[string]uint32{"usr/bin/passwd": 0o104755, "tmp": 0o041777, "usr/bin/wall": 0o102755} {
		if n, _ := tr.Lookup(p); n.UnixMode() != want {
			t.Errorf("%s: %o, want %o", p, n.UnixMode(), want)
		}
	}
	for _, m := range []uint32{0o100644, 0o104755, 0o041777, 0o120777, 0o020600, 0o060660, 0o010644} {
		if got := (&Node{Mode: ModeFromUnix(m)}).UnixMode(); got != m {
			t.Errorf("ModeFromUnix(%o) round trip = %o", m, got)
		}
	}
}

func TestGraftCopiesSoTheSourceTreeCanBeReused(t *testing.T) {
	img := New()
	must(t, img.AddFile("bin/app", 0o755, 0, 0, []byte("app")))
	must(t, img.Link("bin/app2", "bin/app"))

	sys := New()
	must(t, sys.Graft("/containers/services/a/rootfs", img))
	must(t, sys.Graft("containers/services/b/rootfs", img))

	a, err := sys.Lookup("containers/services/a/rootfs/bin/app")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := sys.Lookup("containers/services/a/rootfs/bin/app2")
	b, _ := sys.Lookup("containers/services/b/rootfs/bin/app")
	if a != a2 {
		t.Error("hard link inside a graft lost")
	}
	if a == b {
		t.Error("two grafts of one tree share nodes (they would be written as hard links)")
	}
	src, _ := img.Lookup("bin/app")
	if a == src {
		t.Error("graft shares nodes with its source")
	}
	a.Mode = 0o700
	must(t, sys.AddFile("containers/services/a/rootfs/bin/extra", 0o644, 0, 0, nil))
	if src.Perm() != 0o755 {
		t.Error("changing a graft changed the source")
	}
	if _, err := img.Lookup("bin/extra"); err == nil {
		t.Error("adding to a graft added to the source")
	}
}

func TestGraftAtRootMergesDirectoriesAndReplacesFiles(t *testing.T) {
	sys := New()
	must(t, sys.AddFile("etc/hostname", 0o644, 0, 0, []byte("old")))
	must(t, sys.AddFile("etc/keep", 0o644, 0, 0, nil))
	img := New()
	must(t, img.AddFile("etc/hostname", 0o644, 0, 0, []byte("new")))
	must(t, img.AddFile("init", 0o755, 0, 0, nil))
	img.Root().Mode = fs.ModeDir | 0o700
	must(t, sys.Graft("/", img))
	want := []string{"etc", "etc/hostname", "etc/keep", "init"}
	if got := paths(t, sys); !reflect.DeepEqual(got, want) {
		t.Errorf("walk = %q, want %q", got, want)
	}
	n, _ := sys.Lookup("etc/hostname")
	if string(n.Data) != "new" {
		t.Errorf("hostname = %q", n.Data)
	}
	if sys.Root().Perm() != 0o700 {
		t.Errorf("root mode = %v", sys.Root().Mode)
	}
}

func TestGraftRefusesPrefixBelowSymlink(t *testing.T) {
	sys := New()
	must(t, sys.AddSymlink("containers", "/tmp", 0, 0))
	if err := sys.Graft("containers/x/rootfs", New()); !errors.Is(err, ErrSymlink) {
		t.Errorf("Graft below symlink: %v", err)
	}
}

func TestRemoveDeletesSubtreeAndIgnoresMissing(t *testing.T) {
	tr := New()
	must(t, tr.AddFile("a/b/c", 0o644, 0, 0, nil))
	must(t, tr.AddFile("a/d", 0o644, 0, 0, nil))
	must(t, tr.Remove("a/b"))
	must(t, tr.Remove("nope/x"))
	if got := paths(t, tr); !reflect.DeepEqual(got, []string{"a", "a/d"}) {
		t.Errorf("walk = %q", got)
	}
	if err := tr.Remove("../a"); !errors.Is(err, ErrEscape) {
		t.Errorf("Remove(../a) = %v", err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	tr := New()
	must(t, tr.AddFile("a", 0o644, 0, 0, []byte("1")))
	c := tr.Clone()
	must(t, c.AddFile("b", 0o644, 0, 0, nil))
	n, _ := c.Lookup("a")
	n.UID = 7
	if got := paths(t, tr); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("original changed: %q", got)
	}
	if n, _ := tr.Lookup("a"); n.UID != 0 {
		t.Error("clone shares nodes")
	}
}

func TestSourceDateEpochReadsTheEnvironment(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	ts, ok, err := SourceDateEpoch()
	if err != nil || !ok || !ts.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("SourceDateEpoch = %v %v %v", ts, ok, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, _, err := SourceDateEpoch(); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad value: %v", err)
	}
	os.Unsetenv("SOURCE_DATE_EPOCH")
	if _, ok, err := SourceDateEpoch(); ok || err != nil {
		t.Errorf("unset: %v %v", ok, err)
	}
}

func TestEpochIsSourceDateEpochOrTheUnixEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if e, err := Epoch(); err != nil || !e.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("set: Epoch = %v, %v", e, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "-1")
	if _, err := Epoch(); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("negative: err = %v", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if e, err := Epoch(); err != nil || e.Unix() != 0 || e.Location() != time.UTC {
		t.Errorf("empty: Epoch = %v, %v", e, err)
	}
}

func TestSetModTimesStampsEveryEntryAndTheRoot(t *testing.T) {
	tr := New()
	must(t, tr.AddFile("a/b/c", 0o644, 0, 0, nil))
	must(t, tr.AddSymlink("l", "a", 0, 0))
	mtime := time.Unix(1234, 0)
	tr.SetModTimes(mtime)
	if !tr.Root().ModTime.Equal(mtime) {
		t.Errorf("root time = %v", tr.Root().ModTime)
	}
	must(t, tr.Walk(func(p string, n *Node) error {
		if !n.ModTime.Equal(mtime) {
			t.Errorf("%s time = %v", p, n.ModTime)
		}
		return nil
	}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadFileReturnsARegularFilesContentsAndRefusesOthers(t *testing.T) {
	tr := New()
	if err := tr.AddFile("etc/passwd", 0o644, 0, 0, []byte("root:x:0:0::/root:/bin/sh\n")); err != nil {
		t.Fatal(err)
	}
	if data, err := tr.ReadFile("/etc/passwd"); err != nil || string(data) != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("ReadFile(/etc/passwd) = %q, %v", data, err)
	}
	if _, err := tr.ReadFile("etc"); err == nil || !strings.Contains(err.Error(), "/etc is not a regular file") {
		t.Errorf("ReadFile(etc) error = %v; want it to say /etc is not a regular file", err)
	}
	if _, err := tr.ReadFile("missing"); err == nil {
		t.Error("ReadFile(missing) gave no error")
	}
}
