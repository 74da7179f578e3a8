package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

var epoch = time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)

func testFiles() []File {
	return []File{
		{"EFI/BOOT/BOOTX64.EFI", bytes.Repeat([]byte("uki!"), 300_000)},
		{"loader/keel.txt", []byte("hello\n")},
	}
}

func writeRaw(t *testing.T, files []File, opts EFIOptions) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteRawEFI(f, files, opts); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRawEFIIsAGPTDiskWhoseESPHoldsTheFiles(t *testing.T) {
	p := writeRaw(t, testFiles(), EFIOptions{Epoch: epoch})
	st, _ := os.Stat(p)
	if st.Size() != DefaultSize {
		t.Errorf("size %d, want the default %d", st.Size(), DefaultSize)
	}
	b, err := file.OpenFromPath(p, true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	table, ok := d.Table.(*gpt.Table)
	if !ok {
		t.Fatalf("partition table %T, want GPT", d.Table)
	}
	if len(table.Partitions) != 1 {
		t.Fatalf("%d partitions", len(table.Partitions))
	}
	part := table.Partitions[0]
	if part.Type != gpt.EFISystemPartition || part.Start != 2048 || part.Name != espName {
		t.Errorf("partition %+v: want the ESP at sector 2048", part)
	}
	espEnd := int64(part.End+1) * 512
	if espEnd != gptReserve+ESPSize(testFiles()) || espEnd > DefaultSize/2 {
		t.Errorf("ESP ends at %d: want its own size, leaving the rest free", espEnd)
	}
	fs, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Type() != filesystem.TypeFat32 {
		t.Errorf("filesystem %v", fs.Type())
	}
	for _, f := range testFiles() {
		got, err := fs.ReadFile("/" + f.Path)
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s: %d bytes, %v; want %d", f.Path, len(got), err, len(f.Data))
		}
		des, err := fs.ReadDir(filepath.Dir(f.Path))
		if err != nil || len(des) != 1 {
			t.Fatalf("read directory of %s: %d entries, %v", f.Path, len(des), err)
		}
		if st, err := des[0].Info(); err != nil || !st.ModTime().Equal(epoch) {
			t.Errorf("%s: time %v, %v; want %v", f.Path, st.ModTime(), err, epoch)
		}
	}
	if label := strings.TrimSpace(fs.Label()); label != espLabel {
		t.Errorf("label %q", label)
	}
}

func TestRawEFIIsByteIdenticalForTheSameInputs(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "") // go-diskfs reads it: times must not depend on it
	small := EFIOptions{Epoch: epoch, Size: MinSize(testFiles())}
	a, err := os.ReadFile(writeRaw(t, testFiles(), small))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a clock read anywhere would now differ
	b, err := os.ReadFile(writeRaw(t, testFiles(), small))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two raw disks of the same files differ")
	}
}

func TestRawEFIGUIDsAndSerialFollowTheContent(t *testing.T) {
	read := func(files []File) (disk, part string, serial uint32) {
		p := writeRaw(t, files, EFIOptions{Epoch: epoch, Size: MinSize(files)})
		b, _ := file.OpenFromPath(p, true)
		d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
		if err != nil {
			t.Fatal(err)
		}
		table := d.Table.(*gpt.Table)
		raw, _ := os.ReadFile(p)
		if hidden := binary.LittleEndian.Uint32(raw[gptReserve+fatHiddenOffset:]); hidden != gptReserve/sectorSize {
			t.Errorf("hidden sectors %d, want the partition's start %d", hidden, gptReserve/sectorSize)
		}
		return table.GUID, table.Partitions[0].GUID, binary.LittleEndian.Uint32(raw[gptReserve+fat32SerialOffset:])
	}
	d1, p1, s1 := read(testFiles())
	other := testFiles()
	other[1].Data = []byte("changed\n")
	d2, p2, s2 := read(other)
	if d1 == d2 || p1 == p2 || s1 == s2 || d1 == p1 || s1 == 0 {
		t.Errorf("disk %s/%s, partition %s/%s, serial %#x/%#x: want distinct, content-derived values", d1, d2, p1, p2, s1, s2)
	}
}

func TestRawEFISizeIsCheckedAndHonoured(t *testing.T) {
	p := writeRaw(t, testFiles(), EFIOptions{Epoch: epoch, Size: 100 * MiB})
	if st, _ := os.Stat(p); st.Size() != 100*MiB {
		t.Errorf("size %d, want 100M", st.Size())
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "small.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = WriteRawEFI(f, testFiles(), EFIOptions{Size: 10 * MiB})
	if err == nil || !strings.Contains(err.Error(), "too small") || !strings.Contains(err.Error(), FormatSize(MinSize(testFiles()))) {
		t.Errorf("10M disk: %v, want too small naming the minimum", err)
	}
	// Large contents grow the default size.
	big := []File{{"EFI/BOOT/BOOTX64.EFI", make([]byte, 300*MiB)}}
	if MinSize(big) <= DefaultSize || ESPSize(big) < 300*MiB {
		t.Errorf("300M of files: ESP %d, disk %d", ESPSize(big), MinSize(big))
	}
}

func TestESPIsAFATImageOfTheFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "esp.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	size, err := WriteESP(f, testFiles(), epoch)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Size() != size || size != ESPImageSize(testFiles()) || size > 8*MiB {
		t.Errorf("size %d, returned %d: want 8M for 1.2M of files", st.Size(), size)
	}
	b, _ := file.OpenFromPath(p, true)
	d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := d.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Type() != filesystem.TypeFat16 {
		t.Errorf("filesystem %v, want FAT16", fs.Type())
	}
	got, err := fs.ReadFile("/EFI/BOOT/BOOTX64.EFI")
	if err != nil || !bytes.Equal(got, testFiles()[0].Data) {
		t.Errorf("read back %d bytes, %v", len(got), err)
	}
	raw, _ := os.ReadFile(p)
	if binary.LittleEndian.Uint32(raw[fat16SerialOffset:]) == 0 {
		t.Error("volume serial 0")
	}
}

func TestESPImageSizeFollowsTheContentsUpToFAT16sReach(t *testing.T) {
	for n, want := range map[int64]int64{
		1 * MiB:   8 * MiB,
		20 * MiB:  23 * MiB, // 20M + 1.25M + 1M, in whole MiB
		100 * MiB: 108 * MiB,
		200 * MiB: ESPSize([]File{{Data: make([]byte, 200*MiB)}}),
	} {
		if got := ESPImageSize([]File{{Data: make([]byte, n)}}); got != want {
			t.Errorf("%s of files: %s, want %s", FormatSize(n), FormatSize(got), FormatSize(want))
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{256 * MiB: "256M", 1 << 30: "1G", 1536: "1536", 3 * 1024: "3K", 0: "0"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestSetFATTimesReachesEveryEntryOfEveryDirectory(t *testing.T) {
	odd := time.Date(2031, 12, 31, 23, 59, 59, 0, time.UTC)
	p := filepath.Join(t.TempDir(), "esp.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	files := append(testFiles(), File{"a/b/c/deep.txt", []byte("deep")})
	if _, err := WriteESP(f, files, odd); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Every directory entry in the image, found by scanning its data, has the epoch: the
	// date 2031-12-31 and the time 23:59:58 plus 100 hundredths in the creation time.
	data, _ := os.ReadFile(p)
	wantDate := uint16(2031-1980)<<9 | 12<<5 | 31
	wantTime := uint16(23)<<11 | 59<<5 | 29
	n := 0
	for _, name := range []string{"BOOTX64 EFI", "KEEL    TXT", "DEEP    TXT", "EFI        ", "BOOT       ", "C          ", ".          ", "..         "} {
		for i := 0; ; {
			j := bytes.Index(data[i:], []byte(name))
			if j < 0 {
				break
			}
			pos := i + j
			i = pos + 1
			if pos%dirEntrySize != 0 { // entries are 32-byte aligned; file data is not an entry
				continue
			}
			e := data[pos : pos+dirEntrySize]
			n++
			if d := binary.LittleEndian.Uint16(e[24:]); d != wantDate {
				t.Errorf("%q: date %#x, want %#x", name, d, wantDate)
			}
			if c := binary.LittleEndian.Uint16(e[22:]); c != wantTime || e[13] != 100 {
				t.Errorf("%q: time %#x (+%d), want %#x (+100)", name, c, e[13], wantTime)
			}
		}
	}
	if n < 8 {
		t.Errorf("found %d directory entries", n)
	}
}
