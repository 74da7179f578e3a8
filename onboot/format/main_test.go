package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/onboot/internal/disk"
)

func needMke2fs(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Skip("no mke2fs (e2fsprogs)")
	}
}

// newDisk creates a sparse image file of size bytes in dir, holding data at offset 0.
func newDisk(t *testing.T, dir, name string, size int64, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// fsOf reads the filesystem in the first partition of the GPT image at path.
func fsOf(t *testing.T, path string) (disk.FS, bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := disk.Size(f)
	const start = 1 << 20
	fs, ok, err := disk.ReadFS(io.NewSectionReader(f, start, size-start), size-start)
	if err != nil {
		t.Fatal(err)
	}
	return fs, ok
}

func runFormat(t *testing.T, sys disk.Sys, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(args, &out, sys)
	return code, out.String()
}

func TestFormatPartitionsAndFormatsABlankDeviceOnceOnly(t *testing.T) {
	needMke2fs(t)
	dev := newDisk(t, t.TempDir(), "vda", 64<<20, "")
	code, out := runFormat(t, disk.Host, "-label", "data", dev)
	if code != 0 || !strings.Contains(out, "gpt partition table, ext4 labelled data") {
		t.Fatalf("format = %d\n%s", code, out)
	}
	fs, ok := fsOf(t, dev)
	if !ok || fs.Type != disk.Ext || fs.Label != "data" {
		t.Fatalf("partition 1 holds %+v, %v; want ext4 labelled data", fs, ok)
	}
	// the next boot: the disk has a table, so it is left as it is
	code, out = runFormat(t, disk.Host, "-label", "data", dev)
	if code != 0 || !strings.Contains(out, "holds a gpt: left untouched") {
		t.Errorf("second format = %d\n%s", code, out)
	}
	if again, _ := fsOf(t, dev); again.UUID != fs.UUID {
		t.Errorf("the filesystem was made again: uuid %s, was %s", again.UUID, fs.UUID)
	}
	// -force formats it anew
	if code, out = runFormat(t, disk.Host, "-force", "-label", "new", dev); code != 0 {
		t.Fatalf("format -force = %d\n%s", code, out)
	}
	if again, _ := fsOf(t, dev); again.UUID == fs.UUID || again.Label != "new" {
		t.Errorf("after -force: %+v, was %+v", again, fs)
	}
}

func TestFormatLeavesADeviceWithAFilesystemAlone(t *testing.T) {
	needMke2fs(t)
	dev := newDisk(t, t.TempDir(), "vdc", 16<<20, "")
	if err := disk.Run("mke2fs", "-q", "-F", "-t", "ext4", "-L", "keep", dev); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	code, out := runFormat(t, disk.Host, dev)
	if code != 0 || !strings.Contains(out, "holds a ext4: left untouched") {
		t.Errorf("format = %d\n%s", code, out)
	}
	after, _ := os.ReadFile(dev)
	if !bytes.Equal(before, after) {
		t.Error("format changed a disk holding a filesystem")
	}
}

func TestFormatWithoutADevicePicksTheFirstBlankDisk(t *testing.T) {
	needMke2fs(t)
	root := t.TempDir()
	dev := filepath.Join(root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	sys := disk.Sys{Block: filepath.Join(root, "block"), Class: filepath.Join(root, "class"), Dev: dev}
	for _, d := range []string{"vda", "vdb", "vdc", "loop0"} {
		if err := os.MkdirAll(filepath.Join(sys.Block, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	newDisk(t, dev, "loop0", 16<<20, "")                                   // never a candidate
	newDisk(t, dev, "vda", 16<<20, strings.Repeat("\x00", 510)+"\x55\xaa") // a DOS table
	newDisk(t, dev, "vdb", 32<<20, "")
	newDisk(t, dev, "vdc", 32<<20, "")
	code, out := runFormat(t, sys, "-verbose", "-label", "first")
	if code != 0 || !strings.Contains(out, "vda holds a dos: skipped") {
		t.Fatalf("format = %d\n%s", code, out)
	}
	if fs, ok := fsOf(t, filepath.Join(dev, "vdb")); !ok || fs.Label != "first" {
		t.Errorf("vdb holds %+v, %v", fs, ok)
	}
	if _, ok := fsOf(t, filepath.Join(dev, "vdc")); ok {
		t.Error("vdc was formatted too")
	}
	// a second -label run takes vdc, then there is nothing left
	if code, _ = runFormat(t, sys, "-label", "second"); code != 0 {
		t.Fatal("second format failed")
	}
	if fs, ok := fsOf(t, filepath.Join(dev, "vdc")); !ok || fs.Label != "second" {
		t.Errorf("vdc holds %+v, %v", fs, ok)
	}
	code, out = runFormat(t, sys)
	if code != 0 || !strings.Contains(out, "no blank disk") {
		t.Errorf("third format = %d\n%s", code, out)
	}
}

func TestFormatWritesADOSTableOnRequest(t *testing.T) {
	needMke2fs(t)
	dev := newDisk(t, t.TempDir(), "vda", 16<<20, "")
	if code, out := runFormat(t, disk.Host, "-partition", "dos", dev); code != 0 {
		t.Fatalf("format = %d\n%s", code, out)
	}
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sig, _ := disk.Probe(f, 16<<20); sig != disk.DOS {
		t.Errorf("table = %q, want dos", sig)
	}
	if fs, ok := fsOf(t, dev); !ok || fs.Type != disk.Ext {
		t.Errorf("partition holds %+v, %v", fs, ok)
	}
}

func TestFormatRejectsBadOptions(t *testing.T) {
	for _, args := range [][]string{{"-type", "xfs"}, {"-partition", "bsd"}, {"a", "b"}, {"-label", "seventeen-letters"}, {"-nope"}} {
		if code, out := runFormat(t, disk.Host, args...); code != 2 {
			t.Errorf("format %q = %d, want 2\n%s", args, code, out)
		}
	}
}

func TestFormatRefusesACharacterDevice(t *testing.T) {
	if code, out := runFormat(t, disk.Host, "/dev/null"); code != 1 || !strings.Contains(out, "not a block device") {
		t.Errorf("format /dev/null = %d\n%s", code, out)
	}
}

// loopDevice attaches path to a loop device that scans partitions and returns it; the test
// skips unless it runs as root with losetup.
func loopDevice(t *testing.T, path string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("no losetup")
	}
	out, err := exec.Command("losetup", "--find", "--show", "--partscan", path).CombinedOutput()
	if err != nil {
		t.Skipf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", dev).Run() })
	return dev
}

func TestFormatMakesTheKernelSeeTheNewPartition(t *testing.T) {
	needMke2fs(t)
	img := newDisk(t, t.TempDir(), "disk.img", 64<<20, "")
	// a table written before attaching shows whether this kernel reads GPTs at all
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = disk.Create(f, 64<<20, 512, disk.SchemeGPT, "")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dev := loopDevice(t, img)
	part := disk.PartitionPath(dev, 1)
	if disk.WaitBlock(part, 2*time.Second) != nil {
		t.Skip("this kernel does not read GPTs on loop devices (CONFIG_EFI_PARTITION)")
	}
	code, out := runFormat(t, disk.Host, "-force", "-label", "loop", dev)
	if code != 0 {
		t.Fatalf("format %s = %d\n%s", dev, code, out)
	}
	if !disk.IsBlock(part) {
		t.Fatalf("%s is not a block device after format", part)
	}
	p, err := os.Open(part)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	size, _ := disk.Size(p)
	if fs, ok, err := disk.ReadFS(p, size); err != nil || !ok || fs.Label != "loop" {
		t.Errorf("%s holds %+v, %v, %v", part, fs, ok, err)
	}
}
