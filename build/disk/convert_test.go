package disk

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func needQEMUImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(QEMUImg); err != nil {
		t.Skip("no qemu-img (Debian's qemu-utils)")
	}
}

// smallRaw is a 4 MiB raw disk with some data in it.
func smallRaw(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.raw")
	data := bytes.Repeat([]byte("keel disk "), 100_000)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 4*MiB); err != nil {
		t.Fatal(err)
	}
	return p
}

func convert(t *testing.T, raw, format string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "keel."+format)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Convert(context.Background(), f, raw, ConvertOptions{Format: format, Epoch: epoch, Name: "keel." + format}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConvertHoldsTheRawDiskAndIsByteIdenticalForTheSameInput(t *testing.T) {
	needQEMUImg(t)
	raw := smallRaw(t)
	for _, format := range []string{QCOW2, VHD, VMDK} {
		a := convert(t, raw, format)
		time.Sleep(1100 * time.Millisecond) // qemu-img's clock moves on: VHD records it
		b := convert(t, raw, format)
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		if !bytes.Equal(da, db) {
			at := min(len(da), len(db))
			for i := range at {
				if da[i] != db[i] {
					at = i
					break
				}
			}
			t.Errorf("%s: two conversions of the same disk differ (%d and %d bytes, first at byte %d: %q / %q)", format, len(da), len(db), at, da[max(at-20, 0):min(at+20, len(da))], db[max(at-20, 0):min(at+20, len(db))])
		}
		qfmt := map[string]string{QCOW2: "qcow2", VHD: "vpc", VMDK: "vmdk"}[format]
		if out, err := exec.Command(QEMUImg, "compare", "-q", "-f", "raw", "-F", qfmt, raw, a).CombinedOutput(); err != nil {
			t.Errorf("%s: qemu-img compare with the raw disk: %v: %s", format, err, out)
		}
	}
}

func TestFixVMDKWritesAnEightDigitCIDAndDropsWhatARewriteLeft(t *testing.T) {
	var sum [32]byte
	copy(sum[:], "\x01\x02\x03\x04")
	const tail = "\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\nddb.toolsVersion = \"2147483647\"\n"
	want := "# Disk DescriptorFile\nversion=1\nCID=01020304" + tail
	for _, tc := range []struct{ first, second string }{
		{"6728a28a", "6728a28a"}, {"6728a28a", "1"}, {"1", "ffffffff"}, {"abc", "6728a28"}, {"12345678", "1234"},
	} {
		desc := func(cid string) string { return "# Disk DescriptorFile\nversion=1\nCID=" + cid + tail }
		data := make([]byte, 512+20*512)
		copy(data, "KDMV")
		binary.LittleEndian.PutUint64(data[vmdkDescOffset:], 1)
		binary.LittleEndian.PutUint64(data[vmdkDescSize:], 20)
		copy(data[512:], desc(tc.first))
		copy(data[512:], desc(tc.second)) // qemu-img's rewrite in place, without the NUL
		p := filepath.Join(t.TempDir(), "d.vmdk")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := fixVMDK(p, sum); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if text := string(bytes.TrimRight(got[512:], "\x00")); text != want {
			t.Errorf("CIDs %s then %s: descriptor\n%q\nwant\n%q", tc.first, tc.second, text, want)
		}
	}
}

func TestConvertRefusesAnUnknownFormat(t *testing.T) {
	if err := Convert(context.Background(), io.Discard, "x.raw", ConvertOptions{Format: "vdi"}); err == nil {
		t.Error("vdi accepted")
	}
}

func TestFixVHDWritesAValidFooterChecksum(t *testing.T) {
	needQEMUImg(t)
	p := convert(t, smallRaw(t), VHD)
	data, _ := os.ReadFile(p)
	for _, footer := range [][]byte{data[:vhdFooterSize], data[len(data)-vhdFooterSize:]} {
		var s uint32
		for i, c := range footer {
			if i < vhdChecksumOffset || i >= vhdChecksumOffset+4 {
				s += uint32(c)
			}
		}
		got := uint32(footer[64])<<24 | uint32(footer[65])<<16 | uint32(footer[66])<<8 | uint32(footer[67])
		if got != ^s {
			t.Errorf("footer checksum %#x, want %#x", got, ^s)
		}
		want := uint32(epoch.Sub(vhdEpoch) / time.Second)
		if ts := uint32(footer[24])<<24 | uint32(footer[25])<<16 | uint32(footer[26])<<8 | uint32(footer[27]); ts != want {
			t.Errorf("footer time %d, want %d", ts, want)
		}
	}
}

func TestGCPIsAGzippedTarOfDiskRaw(t *testing.T) {
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(raw, []byte("boot"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, GCPAlign); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := WriteGCP(&a, raw, epoch); err != nil {
		t.Fatal(err)
	}
	if err := WriteGCP(&b, raw, epoch); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two archives of the same disk differ")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != GCPDiskName || hdr.Size != GCPAlign || !hdr.ModTime.Equal(epoch) || hdr.Format != tar.FormatGNU {
		t.Errorf("entry %s, %d bytes, %v, format %v", hdr.Name, hdr.Size, hdr.ModTime, hdr.Format)
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(tr, head); err != nil || string(head) != "boot" {
		t.Errorf("disk.raw starts %q, %v", head, err)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("a second entry: %v", err)
	}
	if err := os.Truncate(raw, GCPAlign+512); err != nil {
		t.Fatal(err)
	}
	if err := WriteGCP(io.Discard, raw, epoch); err == nil {
		t.Error("a disk of no whole GiB accepted")
	}
}
