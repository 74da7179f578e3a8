package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

func biosOptions() BIOSOptions {
	return BIOSOptions{
		MBR:    bytes.Repeat([]byte{0xfa}, mbrCodeSize),
		Kernel: []byte("bzImage"), Initrd: []byte("initramfs"), Cmdline: "console=ttyS0 quiet",
		Epoch: epoch, Size: 64 * MiB,
	}
}

func writeBIOS(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath(Syslinux); err != nil {
		t.Skip("no syslinux (Debian's syslinux and mtools)")
	}
	p := filepath.Join(t.TempDir(), "keel-bios.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteRawBIOS(context.Background(), f, biosOptions()); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRawBIOSIsAnMBRDiskWithSyslinuxOnAnActiveFATPartition(t *testing.T) {
	p := writeBIOS(t)
	raw, _ := os.ReadFile(p)
	if !bytes.Equal(raw[:mbrCodeSize], biosOptions().MBR) || raw[510] != 0x55 || raw[511] != 0xaa {
		t.Error("the MBR lacks syslinux's code or its signature")
	}
	if binary.LittleEndian.Uint32(raw[mbrCodeSize:]) == 0 {
		t.Error("disk signature 0")
	}
	b, _ := file.OpenFromPath(p, true)
	d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	table, ok := d.Table.(*mbr.Table)
	if !ok || len(table.Partitions) == 0 {
		t.Fatalf("partition table %T", d.Table)
	}
	part := table.Partitions[0]
	if !part.Bootable || part.Type != mbr.Fat32LBA || part.Start != 2048 {
		t.Errorf("partition %+v: want an active FAT32 partition at sector 2048", part)
	}
	fs, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := fs.ReadFile("/syslinux.cfg")
	if err != nil || !strings.Contains(string(cfg), "APPEND console=ttyS0 quiet\n") || !strings.Contains(string(cfg), "KERNEL /vmlinuz") {
		t.Errorf("syslinux.cfg %q, %v", cfg, err)
	}
	des, err := fs.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, de := range des {
		seen[strings.ToLower(de.Name())] = true
		if st, err := de.Info(); err != nil || !st.ModTime().Equal(epoch) {
			t.Errorf("%s: time %v, %v; want %v", de.Name(), st.ModTime(), err, epoch)
		}
	}
	for _, want := range []string{"ldlinux.sys", "ldlinux.c32", "vmlinuz", "initrd.img", "syslinux.cfg"} {
		if !seen[want] {
			t.Errorf("the partition lacks %s: %v", want, seen)
		}
	}
	// syslinux's boot sector is in the partition's first sector.
	if !bytes.Contains(raw[gptReserve:gptReserve+sectorSize], []byte("SYSLINUX")) {
		t.Error("no SYSLINUX boot sector on the partition")
	}
}

func TestRawBIOSIsByteIdenticalForTheSameInputs(t *testing.T) {
	a, _ := os.ReadFile(writeBIOS(t))
	time.Sleep(1100 * time.Millisecond)
	b, _ := os.ReadFile(writeBIOS(t))
	if len(a) == 0 || !bytes.Equal(a, b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("two BIOS disks differ, first at byte %d", i)
			}
		}
		t.Fatal("two BIOS disks differ")
	}
}
