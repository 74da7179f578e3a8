package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/onboot/internal/disk"
)

func needE2fsprogs(t *testing.T) {
	t.Helper()
	for _, p := range []string{"mke2fs", "e2fsck", "resize2fs"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("no %s (e2fsprogs)", p)
		}
	}
}

// formatted returns an image file of size bytes with a GPT, one partition and ext4 on it,
// holding a file, as format leaves a disk.
func formatted(t *testing.T, size int64, scheme string) (string, disk.Part) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vda")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	part, err := disk.Create(f, size, 512, scheme, "data")
	if err != nil {
		t.Fatal(err)
	}
	if err := disk.Run("mke2fs", "-q", "-F", "-t", "ext4", "-L", "data", "-E", "offset="+itoa(part.Offset(512)), p, itoa(part.Size(512)>>10)+"k"); err != nil {
		t.Fatal(err)
	}
	return p, part
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fsIn(t *testing.T, path string, part disk.Part) disk.FS {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, ok, err := disk.ReadFS(io.NewSectionReader(f, part.Offset(512), 1<<30), 1<<30)
	if err != nil || !ok {
		t.Fatalf("no filesystem: %v", err)
	}
	return fs
}

func newExtender(out *bytes.Buffer) *extender {
	return &extender{sys: disk.Host, out: out, wait: time.Second, fsck: disk.Fsck, run: disk.Run}
}

func TestExtendGrowsThePartitionAndFilesystemOfAnEnlargedDisk(t *testing.T) {
	for _, scheme := range []string{disk.SchemeGPT, disk.SchemeDOS} {
		t.Run(scheme, func(t *testing.T) {
			needE2fsprogs(t)
			img, part := formatted(t, 32<<20, scheme)
			before := fsIn(t, img, part)
			if err := os.Truncate(img, 96<<20); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if code := newExtender(&out).main([]string{img}); code != 0 {
				t.Fatalf("extend = %d\n%s", code, out.String())
			}
			after := fsIn(t, img, part)
			if after.UUID != before.UUID || after.Label != "data" {
				t.Errorf("filesystem replaced: %+v, was %+v", after, before)
			}
			if after.Size < 90<<20 || before.Size > 32<<20 {
				t.Errorf("filesystem size %d MiB, was %d MiB; want about 95", after.Size>>20, before.Size>>20)
			}
			if !strings.Contains(out.String(), "partition 1 grown to 94 MiB") && !strings.Contains(out.String(), "partition 1 grown to 95 MiB") {
				t.Errorf("log:\n%s", out.String())
			}
			if err := disk.Fsck(img+"?offset="+itoa(part.Offset(512)), true); err != nil {
				t.Errorf("fsck after extend: %v", err)
			}
			// the next boot finds nothing to do
			out.Reset()
			calls := 0
			e := newExtender(&out)
			e.run = func(string, ...string) error { calls++; return nil }
			if code := e.main([]string{img}); code != 0 || calls != 0 || out.Len() != 0 {
				t.Errorf("second extend = %d, %d resize2fs runs\n%s", code, calls, out.String())
			}
		})
	}
}

func TestExtendFinishesAFilesystemLeftSmallerThanItsPartition(t *testing.T) {
	needE2fsprogs(t)
	img, part := formatted(t, 32<<20, disk.SchemeGPT)
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// as if the machine stopped after the partition grew
	if _, grown, err := disk.Grow(f, 64<<20, 512); err != nil || !grown {
		t.Fatalf("Grow = %v, %v", grown, err)
	}
	f.Close()
	var out bytes.Buffer
	if code := newExtender(&out).main([]string{img}); code != 0 || !strings.Contains(out.String(), "ext4 on partition 1 grown") {
		t.Fatalf("extend = %d\n%s", code, out.String())
	}
	if fs := fsIn(t, img, part); fs.Size < 60<<20 {
		t.Errorf("filesystem %d MiB, want about 63", fs.Size>>20)
	}
}

func TestExtendOfANamedDiskWithoutATableFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vdb")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := newExtender(&out).main([]string{p}); code != 1 || !strings.Contains(out.String(), "no partition table") {
		t.Errorf("extend = %d\n%s", code, out.String())
	}
}

func TestExtendWithoutDisksSkipsThoseWithoutATable(t *testing.T) {
	root := t.TempDir()
	sys := disk.Sys{Block: filepath.Join(root, "block"), Dev: filepath.Join(root, "dev")}
	for _, d := range []string{"block/vda", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sys.Dev, "vda"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e := newExtender(&out)
	e.sys = sys
	if code := e.main(nil); code != 0 || out.Len() != 0 {
		t.Errorf("extend = %d\n%s", code, out.String())
	}
}

func TestExtendRejectsOtherFilesystems(t *testing.T) {
	var out bytes.Buffer
	if code := newExtender(&out).main([]string{"-type", "btrfs"}); code != 2 {
		t.Errorf("extend -type btrfs = %d", code)
	}
}
