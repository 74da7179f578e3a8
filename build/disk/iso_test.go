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
)

func writeISO(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keel-efi.iso")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteISO(f, ISOOptions{ESP: testFiles(), Epoch: epoch}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestISOEFIBootsAnESPImageThroughElTorito(t *testing.T) {
	p := writeISO(t)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// The boot record volume descriptor (sector 17) points at the catalog, whose one
	// entry is bootable, no-emulation, for the EFI platform, and starts at the ESP image.
	brvd := data[17*isoSector:]
	if brvd[0] != 0 || string(brvd[1:6]) != "CD001" || !bytes.HasPrefix(brvd[7:], []byte("EL TORITO SPECIFICATION")) {
		t.Fatalf("sector 17 is no El Torito boot record")
	}
	cat := data[int64(binary.LittleEndian.Uint32(brvd[0x47:]))*isoSector:]
	if cat[0] != 1 || cat[1] != 0xef || cat[0x1e] != 0x55 || cat[0x1f] != 0xaa {
		t.Errorf("validation entry % x: want platform EFI (0xef)", cat[:32])
	}
	entry := cat[32:64]
	if entry[0] != 0x88 || entry[1] != 0 {
		t.Errorf("initial entry % x: want bootable, no emulation", entry)
	}
	espStart := int64(binary.LittleEndian.Uint32(entry[8:])) * isoSector
	esp := filepath.Join(t.TempDir(), "esp.img")
	if err := os.WriteFile(esp, data[espStart:espStart+ESPImageSize(testFiles())], 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := file.OpenFromPath(esp, true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := d.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range testFiles() {
		if got, err := fs.ReadFile("/" + f.Path); err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s in the ESP image: %d bytes, %v", f.Path, len(got), err)
		}
	}
	// The ISO's own file system lists the ESP image too.
	ib, _ := file.OpenFromPath(p, true)
	id, err := diskfs.OpenBackend(ib, diskfs.WithOpenMode(diskfs.ReadOnly), diskfs.WithSectorSize(isoSector))
	if err != nil {
		t.Fatal(err)
	}
	ifs, err := id.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	if des, err := ifs.ReadDir("BOOT"); err != nil || len(des) != 2 {
		t.Errorf("boot/ in the ISO: %d entries, %v; want the catalog and the ESP image", len(des), err)
	}
	if want := []byte("2024050607081000\x00"); !bytes.Equal(data[isoPVDSector*isoSector+813:][:17], want) {
		t.Errorf("creation date %q, want %q", data[isoPVDSector*isoSector+813:][:17], want)
	}
}

func TestISOEFIIsByteIdenticalForTheSameInputs(t *testing.T) {
	a, _ := os.ReadFile(writeISO(t))
	time.Sleep(1100 * time.Millisecond)
	b, _ := os.ReadFile(writeISO(t))
	if len(a) == 0 || !bytes.Equal(a, b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("two ISOs of the same files differ, first at byte %d (sector %d)", i, i/isoSector)
			}
		}
		t.Fatalf("two ISOs differ in size: %d, %d", len(a), len(b))
	}
}

func testISOLinux() *ISOLinux {
	return &ISOLinux{
		Bin: bytes.Repeat([]byte{0x90}, 4096), LDLinux: []byte("ldlinux"),
		Kernel: []byte("bzImage"), Initrd: []byte("initramfs"), Cmdline: "console=ttyS0 quiet\n",
	}
}

func TestHybridISOBootsThroughBIOSFirstThenUEFI(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keel-bios.iso")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteISO(f, ISOOptions{ESP: testFiles(), BIOS: testISOLinux(), Epoch: epoch}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(p)
	brvd := data[17*isoSector:]
	cat := data[int64(binary.LittleEndian.Uint32(brvd[0x47:]))*isoSector:]
	if cat[1] != 0 {
		t.Errorf("validation entry platform %#x, want BIOS (0)", cat[1])
	}
	bios, header, efi := cat[32:64], cat[64:96], cat[96:128]
	if bios[0] != 0x88 || bios[1] != 0 || binary.LittleEndian.Uint16(bios[6:]) != 4 {
		t.Errorf("BIOS entry % x: want bootable, no emulation, 4 sectors loaded", bios)
	}
	if header[0] != 0x91 || header[1] != 0xef || efi[0] != 0x88 {
		t.Errorf("section header % x, entry % x: want the last section, for EFI, bootable", header, efi)
	}
	// isolinux.bin carries the boot information table: the PVD's sector and its own.
	binAt := int64(binary.LittleEndian.Uint32(bios[8:])) * isoSector
	if pvd, self := binary.LittleEndian.Uint32(data[binAt+8:]), binary.LittleEndian.Uint32(data[binAt+12:]); pvd != isoPVDSector || int64(self)*isoSector != binAt {
		t.Errorf("boot information table: PVD at %d, file at %d", pvd, self)
	}
	ib, _ := file.OpenFromPath(p, true)
	id, err := diskfs.OpenBackend(ib, diskfs.WithOpenMode(diskfs.ReadOnly), diskfs.WithSectorSize(isoSector))
	if err != nil {
		t.Fatal(err)
	}
	ifs, err := id.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ifs.ReadFile("ISOLINUX/ISOLINUX.CFG")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SERIAL 0 115200", "KERNEL /boot/vmlinuz", "INITRD /boot/initrd.img", "APPEND console=ttyS0 quiet\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("isolinux.cfg lacks %q:\n%s", want, cfg)
		}
	}
	for name, want := range map[string]string{"BOOT/VMLINUZ": "bzImage", "BOOT/INITRD.IMG": "initramfs", "ISOLINUX/LDLINUX.C32": "ldlinux"} {
		if got, err := ifs.ReadFile(name); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}
