package squashfs

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
)

func needTools(t *testing.T) {
	t.Helper()
	for _, c := range []string{Command, "unsquashfs"} {
		if _, err := exec.LookPath(c); err != nil {
			if os.Getenv("KEEL_INTEGRATION") == "require" {
				t.Fatalf("%s: %v", c, err)
			}
			t.Skipf("%s not installed (Debian package squashfs-tools)", c)
		}
	}
}

func sampleTree(t *testing.T) *tree.Tree {
	t.Helper()
	tr := tree.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tr.AddDir("bin", 0o755, 0, 0))
	must(tr.AddFile("bin/su", 0o4755, 0, 0, []byte("setuid")))
	must(tr.AddFile("init", 0o755, 0, 0, bytes.Repeat([]byte("keel"), 100_000)))
	must(tr.AddDir("home/user", 0o700, 1000, 1001))
	must(tr.AddFile("home/user/notes", 0o600, 1000, 1001, []byte("mine\n")))
	must(tr.AddSymlink("sbin/init", "/init", 0, 0))
	must(tr.Link("bin/init2", "init"))
	must(tr.AddDevice("dev/console", fs.ModeCharDevice|fs.ModeDevice, 0o600, 0, 0, 5, 1))
	must(tr.AddDir("tmp", fs.ModeSticky|0o777, 0, 0))
	tr.SetModTimes(time.Unix(1_700_000_000, 0))
	return tr
}

func write(t *testing.T, tr *tree.Tree, opts Options) []byte {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "root.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, tr, opts); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// listing is unsquashfs's long listing of img with numeric owners.
func listing(t *testing.T, img []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "root.img")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("unsquashfs", "-lln", p).CombinedOutput()
	if err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	// One space between fields, whatever the column widths.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

func TestTheImageHoldsOwnersModesLinksAndDevicesOfTheTree(t *testing.T) {
	needTools(t)
	list := listing(t, write(t, sampleTree(t), Options{Epoch: time.Unix(1_800_000_000, 0)}))
	for _, want := range []string{
		"drwxr-xr-x 0/0 ",
		"-rwsr-xr-x 0/0 6 2027-01-15 08:00 squashfs-root/bin/su",
		"drwx------ 1000/1001",
		"-rw------- 1000/1001 5 2027-01-15 08:00 squashfs-root/home/user/notes",
		"lrwxrwxrwx 0/0 5 2027-01-15 08:00 squashfs-root/sbin/init -> /init",
		"crw------- 0/0 5, 1 2027-01-15 08:00 squashfs-root/dev/console",
		"drwxrwxrwt 0/0",
		"squashfs-root/bin/init2",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("listing lacks %q:\n%s", want, list)
		}
	}
}

func TestTwoWritesOfOneTreeAreByteIdenticalAndEveryTimeIsTheEpoch(t *testing.T) {
	needTools(t)
	epoch := time.Unix(1_600_000_000, 0)
	a := write(t, sampleTree(t), Options{Epoch: epoch})
	b := write(t, sampleTree(t), Options{Epoch: epoch})
	if !bytes.Equal(a, b) {
		t.Fatal("two images of one tree differ")
	}
	for _, line := range strings.Split(strings.TrimSpace(listing(t, a)), "\n") {
		if !strings.Contains(line, " 2020-09-13 12:26 ") {
			t.Errorf("a time is not the epoch: %s", line)
		}
	}
	// The superblock's creation time (bytes 8..12, little endian) is the epoch.
	if got := uint32(a[8]) | uint32(a[9])<<8 | uint32(a[10])<<16 | uint32(a[11])<<24; got != uint32(epoch.Unix()) {
		t.Errorf("mkfs time %d, want %d", got, epoch.Unix())
	}
}

func TestHardLinksAreOneInode(t *testing.T) {
	needTools(t)
	// mksquashfs stores identical contents once anyway: only the extracted files tell a hard
	// link from a copy.
	p := filepath.Join(t.TempDir(), "root.img")
	if err := os.WriteFile(p, write(t, sampleTree(t), Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if out, err := exec.Command("unsquashfs", "-no-xattrs", "-d", dir, p, "init", "bin/init2", "bin/su").CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	stat := func(name string) os.FileInfo {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	if !os.SameFile(stat("init"), stat("bin/init2")) {
		t.Error("init and bin/init2 are two files, not one hard-linked inode")
	}
	if os.SameFile(stat("init"), stat("bin/su")) {
		t.Error("init and bin/su share an inode")
	}
}

func TestABadBlockSizeOrAMissingCommandIsAnError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "root.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, tree.New(), Options{BlockSize: 3000}); err == nil || !strings.Contains(err.Error(), "block size 3000") {
		t.Errorf("block size 3000: %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if err := Write(f, tree.New(), Options{}); err == nil || !strings.Contains(err.Error(), "squashfs-tools") {
		t.Errorf("without mksquashfs: %v", err)
	}
}

func TestTheImageIsUncompressedUnlessZstdIsAsked(t *testing.T) {
	needTools(t)
	tr := sampleTree(t)
	superblock := func(img []byte) string {
		p := filepath.Join(t.TempDir(), "root.img")
		if err := os.WriteFile(p, img, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("unsquashfs", "-s", p).CombinedOutput()
		if err != nil {
			t.Fatalf("unsquashfs -s: %v\n%s", err, out)
		}
		return string(out)
	}
	plain, zstd := write(t, tr, Options{}), write(t, tr, Options{Compression: Zstd})
	if s := superblock(plain); !strings.Contains(s, "Data is uncompressed") || !strings.Contains(s, "Block size 131072") {
		t.Errorf("default image:\n%s", s)
	}
	if s := superblock(zstd); !strings.Contains(s, "Compression zstd") || !strings.Contains(s, "Data is compressed") || !strings.Contains(s, "Block size 1048576") {
		t.Errorf("zstd image:\n%s", s)
	}
	if len(zstd)*4 > len(plain) {
		t.Errorf("zstd image %d bytes, uncompressed %d: 400 KB of one word should shrink", len(zstd), len(plain))
	}
	if _, err := ParseCompression("xz"); err == nil || !strings.Contains(err.Error(), "want none or zstd") {
		t.Errorf("xz: %v", err)
	}
}
