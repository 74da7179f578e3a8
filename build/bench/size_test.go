package bench

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/keel-os/keel/rootfs/initrd"
	"github.com/keel-os/keel/rootfs/tree"
)

// smallImage is a tree laid out like a Keel image, with known file sizes.
func smallImage(t *testing.T) *tree.Tree {
	t.Helper()
	tr := tree.New()
	add := func(p string, n int) {
		if err := tr.AddFile(p, 0o755, 0, 0, bytes.Repeat([]byte{'x'}, n)); err != nil {
			t.Fatal(err)
		}
	}
	add("init", 1000)
	for _, l := range []string{"sbin/poweroff", "sbin/reboot"} {
		if err := tr.Link(l, "init"); err != nil { // hard links: counted once, as /init
			t.Fatal(err)
		}
	}
	add("usr/bin/containerd", 500)
	add("usr/bin/containerd-shim-runc-v2", 300)
	add("usr/bin/runc", 200)
	add("usr/bin/ctr", 100)
	add("containers/onboot/000-sysctl/config.json", 10)
	add("containers/onboot/000-sysctl/rootfs/usr/bin/sysctl", 40)
	add("containers/services/getty/config.json", 20)
	add("containers/services/getty/rootfs/usr/bin/getty", 60)
	add("lib/modules/6.1.0/kernel/a.ko", 70)
	add("lib/modules/6.1.0/modules.dep", 7)
	add("etc/hostname", 5)
	if err := tr.AddSymlink("bin/sh", "busybox", 0, 0); err != nil { // 7 bytes of target
		t.Fatal(err)
	}
	return tr
}

func TestBreakdownOfAnInitrdCountsEachPartAndHardLinksOnce(t *testing.T) {
	for _, c := range []initrd.Compression{initrd.Zstd, initrd.Gzip, initrd.None} {
		t.Run(string(c), func(t *testing.T) {
			var buf bytes.Buffer
			if err := initrd.Write(&buf, smallImage(t), initrd.Options{Compression: c}); err != nil {
				t.Fatal(err)
			}
			var raw bytes.Buffer
			if err := initrd.WriteCPIO(&raw, smallImage(t), nil); err != nil {
				t.Fatal(err)
			}
			files, n, err := ReadInitrd(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(raw.Len()) {
				t.Errorf("uncompressed size %d, want %d", n, raw.Len())
			}
			want := []Part{
				{"/init", 1000, 1, nil},
				{"/usr/bin/containerd", 500, 1, nil},
				{"/usr/bin/containerd-shim-runc-v2", 300, 1, nil},
				{"/usr/bin/runc", 200, 1, nil},
				{"/usr/bin/ctr", 100, 1, nil},
				{"/containers/onboot/000-sysctl", 50, 2, nil},
				{"/containers/services/getty", 80, 2, nil},
				{"/lib/modules", 77, 2, nil},
				{"other", 12, 2, nil},
			}
			if got := Breakdown(files); !reflect.DeepEqual(got, want) {
				t.Errorf("parts %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestBreakdownLeavesOutPartsTheImageLacks(t *testing.T) {
	got := Breakdown([]File{{Path: "init", Inode: 1, Size: 10}, {Path: "dev", Inode: 2}})
	if !reflect.DeepEqual(got, []Part{{"/init", 10, 1, nil}}) {
		t.Errorf("parts %+v, want only /init", got)
	}
}

func TestBreakdownCountsAMultiCallBinaryOnceUnderInitWithItsOtherNamesAsLinks(t *testing.T) {
	files := []File{
		{Path: "init", Inode: 7},
		{Path: "sbin/poweroff", Inode: 7},
		{Path: "usr/bin/containerd", Inode: 7},
		{Path: "usr/bin/ctr", Inode: 7, Size: 3000}, // the last name carries the contents
		{Path: "usr/bin/runc", Inode: 8, Size: 100},
	}
	want := []Part{
		{"/init", 3000, 1, []string{"/usr/bin/containerd", "/usr/bin/ctr"}},
		{"/usr/bin/runc", 100, 1, nil},
	}
	if got := Breakdown(files); !reflect.DeepEqual(got, want) {
		t.Errorf("parts %+v\nwant %+v", got, want)
	}
}

func TestReadInitrdRejectsWhatIsNotAnInitramfs(t *testing.T) {
	if _, _, err := ReadInitrd(bytes.NewReader([]byte("MZ not an initrd"))); err == nil {
		t.Error("ReadInitrd accepted a non-initramfs")
	}
}

func TestFloorTreeHasInitAndConsoleDevice(t *testing.T) {
	tr, err := floorTree([]byte("ELF"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := tr.Lookup("init")
	if err != nil || !n.IsRegular() || n.Perm()&0o111 == 0 {
		t.Errorf("/init: %+v, %v; want an executable file", n, err)
	}
	c, err := tr.Lookup("dev/console")
	if err != nil || c.Type() != tree.ModeChar || c.Major != 5 || c.Minor != 1 {
		t.Errorf("/dev/console: %+v, %v; want char device 5:1", c, err)
	}
}
