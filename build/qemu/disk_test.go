package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDiskReadsFileSizeAndFormat(t *testing.T) {
	for in, want := range map[string]Disk{
		"file=/a.img,size=1G":                 {Path: "/a.img", Size: 1 << 30, Format: "raw"},
		"file=b.qcow2,size=512M,format=qcow2": {Path: "b.qcow2", Size: 512 << 20, Format: "qcow2"},
		"c.img":                               {Path: "c.img", Format: "raw"},
		"format=raw,file=d":                   {Path: "d", Format: "raw"},
	} {
		got, err := ParseDisk(in)
		if err != nil || got != want {
			t.Errorf("ParseDisk(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"size=1G", "file=a,size=lots", "file=a,format=vmdk", "file=a,bus=scsi"} {
		if _, err := ParseDisk(bad); err == nil {
			t.Errorf("ParseDisk(%q): want an error", bad)
		}
	}
}

func TestParseSizeUsesBinaryUnits(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "1K": 1024, "2m": 2 << 20, "1G": 1 << 30, "1GiB": 1 << 30, "3GB": 3 << 30, "1T": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "0", "1.5G", "1P"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): want an error", bad)
		}
	}
}

func TestPrepareDisksCreatesSparseRawFileAndKeepsExisting(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.img")
	existing := filepath.Join(dir, "existing.img")
	if err := os.WriteFile(existing, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := prepareDisks(context.Background(), []Disk{
		{Path: fresh, Size: 1 << 30, Format: "raw"},
		{Path: existing, Size: 1 << 30, Format: "raw"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(fresh)
	if err != nil || fi.Size() != 1<<30 {
		t.Fatalf("fresh disk: %v, %v; want 1G", fi, err)
	}
	if data, _ := os.ReadFile(existing); string(data) != "data" {
		t.Errorf("existing disk rewritten: %q", data)
	}
}

func TestPrepareDisksNeedsSizeForMissingFile(t *testing.T) {
	err := prepareDisks(context.Background(), []Disk{{Path: filepath.Join(t.TempDir(), "x.img"), Format: "raw"}})
	if err == nil || !strings.Contains(err.Error(), "size=") {
		t.Errorf("err = %v, want it to ask for size=", err)
	}
}

func TestPrepareDisksCreatesQcow2WithQemuImg(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed")
	}
	name := filepath.Join(t.TempDir(), "d.qcow2")
	if err := prepareDisks(context.Background(), []Disk{{Path: name, Size: 64 << 20, Format: "qcow2"}}); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(head); err != nil || string(head) != "QFI\xfb" {
		t.Errorf("%s starts with %q, want the qcow2 magic", name, head)
	}
}

func TestParseMemReadsQEMUSizesInWholeMiB(t *testing.T) {
	for s, want := range map[string]int{"1G": 1024, "2g": 2048, "512M": 512, "2048": 2048, "1GiB": 1024} {
		if got, err := ParseMem(s); err != nil || got != want {
			t.Errorf("ParseMem(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1.5G", "0", "12K", "lots"} {
		if _, err := ParseMem(s); err == nil {
			t.Errorf("ParseMem(%q) succeeded", s)
		}
	}
}
