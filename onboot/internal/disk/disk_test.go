package disk

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// image returns a sparse file of size bytes with data written at each offset.
func image(t *testing.T, size int64, data map[int64]string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off, s := range data {
		if _, err := f.WriteAt([]byte(s), off); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func probe(t *testing.T, f *os.File) string {
	t.Helper()
	size, err := Size(f)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Probe(f, size)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func need(t *testing.T, prog string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		t.Skipf("no %s", prog)
	}
}

func TestProbeFindsEachSignature(t *testing.T) {
	const mb = 1 << 20
	for name, c := range map[string]struct {
		data map[int64]string
		want string
	}{
		"zeros":          {nil, ""},
		"dos":            {map[int64]string{510: "\x55\xaa"}, DOS},
		"gpt":            {map[int64]string{510: "\x55\xaa", 512: "EFI PART"}, GPT},
		"gpt backup":     {map[int64]string{8*mb - 512: "EFI PART"}, GPT},
		"ext":            {map[int64]string{1024 + 56: "\x53\xef"}, Ext},
		"xfs":            {map[int64]string{0: "XFSB"}, XFS},
		"btrfs":          {map[int64]string{65536 + 64: "_BHRfS_M"}, Btrfs},
		"swap 4k":        {map[int64]string{4096 - 10: "SWAPSPACE2"}, Swap},
		"swap 64k":       {map[int64]string{65536 - 10: "SWAPSPACE2"}, Swap},
		"luks":           {map[int64]string{0: "LUKS\xba\xbe\x00\x02"}, LUKS},
		"data elsewhere": {map[int64]string{3 * mb: "hello"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if got := probe(t, image(t, 8*mb, c.data)); got != c.want {
				t.Errorf("Probe = %q, want %q", got, c.want)
			}
		})
	}
}

func TestProbeCallsADeviceSmallerThanAnySignatureBlank(t *testing.T) {
	if got := probe(t, image(t, 600, nil)); got != "" {
		t.Errorf("Probe = %q, want blank", got)
	}
}

func TestProbeRecognisesWhatMkfsAndMkswapWrite(t *testing.T) {
	for prog, want := range map[string]string{"mke2fs": Ext, "mkswap": Swap} {
		t.Run(prog, func(t *testing.T) {
			need(t, prog)
			f := image(t, 16<<20, nil)
			args := []string{f.Name()}
			if prog == "mke2fs" {
				args = []string{"-q", "-F", "-t", "ext4", f.Name()}
			}
			if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", prog, err, out)
			}
			if got := probe(t, f); got != want {
				t.Errorf("Probe = %q, want %q", got, want)
			}
		})
	}
}

func TestCreateWritesAGPTWithOneLinuxPartitionOverTheDisk(t *testing.T) {
	const size = 64 << 20
	f := image(t, size, nil)
	part, err := Create(f, size, 512, SchemeGPT, "data")
	if err != nil {
		t.Fatal(err)
	}
	if part.Number != 1 || part.Start != 2048 || part.End != size/512-34 {
		t.Errorf("partition = %+v, want 1 from 2048 to %d", part, size/512-34)
	}
	if got := probe(t, f); got != GPT {
		t.Errorf("Probe = %q, want gpt", got)
	}
	tbl, err := gpt.Read(f, 512, 512)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Verify(f, size); err != nil {
		t.Errorf("Verify: %v", err)
	}
	p := tbl.Partitions[0]
	if p.Type != gpt.LinuxFilesystem || p.Name != "data" || p.Start != 2048 || p.GUID == "" {
		t.Errorf("entry = %+v", p)
	}
	// a second table has other GUIDs: they are random
	g := image(t, size, nil)
	if _, err := Create(g, size, 512, SchemeGPT, "data"); err != nil {
		t.Fatal(err)
	}
	tbl2, err := gpt.Read(g, 512, 512)
	if err != nil {
		t.Fatal(err)
	}
	if tbl2.GUID == tbl.GUID || tbl2.Partitions[0].GUID == p.GUID {
		t.Errorf("two disks got the same GUIDs %s %s", tbl.GUID, p.GUID)
	}
	if _, err := exec.LookPath("blkid"); err == nil {
		out, err := exec.Command("blkid", "-p", "-o", "export", f.Name()).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PTTYPE=gpt") {
			t.Errorf("blkid -p: %v\n%s", err, out)
		}
	}
}

func TestCreateWritesADOSTable(t *testing.T) {
	const size = 16 << 20
	f := image(t, size, nil)
	part, err := Create(f, size, 512, SchemeDOS, "")
	if err != nil {
		t.Fatal(err)
	}
	if part.Start != 2048 || part.End != size/512-1 {
		t.Errorf("partition = %+v", part)
	}
	if got := probe(t, f); got != DOS {
		t.Errorf("Probe = %q, want dos", got)
	}
	b := make([]byte, 16)
	if _, err := f.ReadAt(b, 446); err != nil {
		t.Fatal(err)
	}
	if b[4] != 0x83 {
		t.Errorf("partition type %#x, want 0x83", b[4])
	}
}

func TestCreateRejectsAnUnknownScheme(t *testing.T) {
	f := image(t, 16<<20, nil)
	if _, err := Create(f, 16<<20, 512, "bsd", ""); err == nil {
		t.Error("Create accepted partition table bsd")
	}
}

// mkfsAt makes an ext4 filesystem labelled label in part of the disk image f, as format
// does on a file.
func mkfsAt(t *testing.T, f *os.File, part Part, label string) {
	t.Helper()
	need(t, "mke2fs")
	err := Run("mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-E", "offset="+itoa(part.Offset(512)), f.Name(), itoa(part.Size(512)/1024)+"k")
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// section is the partition part of f as its own reader, for ReadFS.
func section(f *os.File, part Part) *io.SectionReader {
	return io.NewSectionReader(f, part.Offset(512), part.Size(512))
}

func TestReadFSReadsTheLabelAndUUIDMke2fsWrote(t *testing.T) {
	const size = 64 << 20
	f := image(t, size, nil)
	part, err := Create(f, size, 512, SchemeGPT, "data")
	if err != nil {
		t.Fatal(err)
	}
	mkfsAt(t, f, part, "persist")
	fs, ok, err := ReadFS(section(f, part), part.Size(512))
	if err != nil || !ok {
		t.Fatalf("ReadFS = %v, %v", ok, err)
	}
	if fs.Type != Ext || fs.Label != "persist" || len(fs.UUID) != 36 || fs.Size > part.Size(512) || fs.Size < part.Size(512)-4096 {
		t.Errorf("fs = %+v", fs)
	}
	if _, err := exec.LookPath("blkid"); err == nil {
		out, err := exec.Command("blkid", "-p", "-o", "export", "-O", itoa(part.Offset(512)), f.Name()).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "UUID="+fs.UUID) || !strings.Contains(string(out), "TYPE=ext4") {
			t.Errorf("blkid -p -O: %v\n%s\nwant UUID=%s", err, out, fs.UUID)
		}
	}
	// the disk itself is not blank: it has the table
	if got := probe(t, f); got != GPT {
		t.Errorf("Probe(disk) = %q", got)
	}
}

func TestReadFSSaysNoForAnythingElse(t *testing.T) {
	f := image(t, 1<<20, map[int64]string{4096 - 10: "SWAPSPACE2"})
	if _, ok, err := ReadFS(f, 1<<20); ok || err != nil {
		t.Errorf("ReadFS(swap) = %v, %v; want no filesystem", ok, err)
	}
}

func TestGrowMovesTheBackupGPTAndExtendsTheLastPartition(t *testing.T) {
	const small, big = 32 << 20, 96 << 20
	f := image(t, small, nil)
	part, err := Create(f, small, 512, SchemeGPT, "data")
	if err != nil {
		t.Fatal(err)
	}
	mkfsAt(t, f, part, "grow")
	if err := f.Truncate(big); err != nil {
		t.Fatal(err)
	}
	got, changed, err := Grow(f, big, 512)
	if err != nil || !changed {
		t.Fatalf("Grow = %+v, %v, %v", got, changed, err)
	}
	if got.Start != part.Start || got.End != big/512-34 {
		t.Errorf("grown partition = %+v, want %d..%d", got, part.Start, big/512-34)
	}
	tbl, err := gpt.Read(f, 512, 512)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Verify(f, big); err != nil {
		t.Errorf("the backup header is not at the new end: %v", err)
	}
	if tbl.Partitions[0].End != uint64(got.End) || tbl.Partitions[0].Name != "data" {
		t.Errorf("entry = %+v", tbl.Partitions[0])
	}
	// the filesystem inside is untouched, and a second Grow has nothing to do
	if fs, ok, _ := ReadFS(section(f, part), part.Size(512)); !ok || fs.Label != "grow" {
		t.Errorf("filesystem after Grow: %+v %v", fs, ok)
	}
	if _, changed, err := Grow(f, big, 512); changed || err != nil {
		t.Errorf("second Grow = %v, %v; want no change", changed, err)
	}
}

func TestGrowExtendsADOSPartition(t *testing.T) {
	f := image(t, 16<<20, nil)
	if _, err := Create(f, 16<<20, 512, SchemeDOS, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(32 << 20); err != nil {
		t.Fatal(err)
	}
	got, changed, err := Grow(f, 32<<20, 512)
	if err != nil || !changed || got.End != 32<<20/512-1 {
		t.Errorf("Grow = %+v, %v, %v", got, changed, err)
	}
}

func TestGrowOfADiskWithoutATableSaysSo(t *testing.T) {
	f := image(t, 16<<20, nil)
	if _, _, err := Grow(f, 16<<20, 512); !errors.Is(err, ErrNoTable) {
		t.Errorf("Grow = %v, want ErrNoTable", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256M": 256 << 20, "2G": 2 << 30, "5670K": 5670 << 10, "8765432": 8765432, "1GiB": 1 << 30, "512mb": 512 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1M", "0", "1.5G", "12X", "99999999999T"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

func TestPartitionPathAddsPAfterADigit(t *testing.T) {
	for disk, want := range map[string]string{"/dev/vda": "/dev/vda1", "/dev/nvme0n1": "/dev/nvme0n1p1", "/dev/mmcblk0": "/dev/mmcblk0p1"} {
		if got := PartitionPath(disk, 1); got != want {
			t.Errorf("PartitionPath(%s) = %s, want %s", disk, got, want)
		}
	}
}

// fakeSys lays out a sysfs with disks vdb and vda (vda with partition 1), a loop device
// and a CD drive.
func fakeSys(t *testing.T) Sys {
	t.Helper()
	root := t.TempDir()
	s := Sys{Block: filepath.Join(root, "block"), Class: filepath.Join(root, "class"), Dev: "/dev"}
	for _, d := range []string{"block/vdb", "block/vda/vda1", "block/loop0", "block/sr0", "class"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "block/vda/vda1/partition"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"vda", "vda1", "vdb", "loop0"} {
		if err := os.Symlink("../block/"+d, filepath.Join(root, "class", d)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestDisksSkipsLoopAndOpticalDevicesAndSorts(t *testing.T) {
	s := fakeSys(t)
	got, err := s.Disks()
	if err != nil || strings.Join(got, " ") != "/dev/vda /dev/vdb" {
		t.Errorf("Disks = %v, %v", got, err)
	}
	parts, err := s.Partitions("/dev/vda")
	if err != nil || len(parts) != 1 || parts[1] != "/dev/vda1" {
		t.Errorf("Partitions = %v, %v", parts, err)
	}
	devs, err := s.Devices()
	if err != nil || strings.Join(devs, " ") != "/dev/vda /dev/vda1 /dev/vdb" {
		t.Errorf("Devices = %v, %v", devs, err)
	}
}
