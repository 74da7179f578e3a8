package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// Where the EFI ISO keeps its El Torito parts.
const (
	isoESP     = "boot/efi.img" // the EFI system partition image the firmware boots
	isoCatalog = "boot/boot.cat"
	isoLabel   = "KEEL"
)

// ISO 9660 layout (ECMA-119).
const (
	isoSector        = 2048
	isoPVDSector     = 16
	isoRootRecord    = 156 // the root directory's record in the primary volume descriptor
	isoRecordDate    = 18  // a directory record's 7-byte recording date
	isoRecordFlags   = 25
	isoRecordNameLen = 32
	isoFlagDir       = 0x02
)

// isoPVDDates are the offsets of the primary volume descriptor's four 17-byte dates:
// creation, modification, expiration (left unset) and effective.
var isoPVDDates = []int{813, 830, 847, 864}

// ISOLinux is what boots an ISO through the PC BIOS: Debian's isolinux.bin (package
// isolinux) and ldlinux.c32 (syslinux-common), and the kernel, initramfs and command line
// they start.
type ISOLinux struct {
	Bin, LDLinux   []byte
	Kernel, Initrd []byte
	Cmdline        string
}

// Paths of the BIOS boot's files in the ISO (short names: isolinux reads plain ISO 9660).
const (
	isoLinuxBin    = "isolinux/isolinux.bin"
	isoLinuxLD     = "isolinux/ldlinux.c32"
	isoLinuxConfig = "isolinux/isolinux.cfg"
	isoKernel      = "boot/vmlinuz"
	isoInitrd      = "boot/initrd.img"
)

// ISOOptions say what an ISO boots.
type ISOOptions struct {
	ESP   []File    // files of an EFI system partition image for an El Torito UEFI entry; none: no UEFI boot
	BIOS  *ISOLinux // an El Torito entry for the PC BIOS through isolinux; nil: no BIOS boot
	Epoch time.Time // every date in the image
}

// WriteISO writes to f (an empty file) an ISO 9660 image booted through El Torito: by the PC
// BIOS through isolinux (opts.BIOS), by UEFI firmware from an ESP image (opts.ESP), or both,
// the BIOS entry first. Every date in it is opts.Epoch.
func WriteISO(f *os.File, opts ISOOptions) error {
	if len(opts.ESP) == 0 && opts.BIOS == nil {
		return errors.New("iso: nothing to boot")
	}
	work, err := os.MkdirTemp(filepath.Dir(f.Name()), ".iso-")
	if err != nil {
		return fmt.Errorf("iso: %w", err)
	}
	defer os.RemoveAll(work)
	put := func(name string, data []byte) error {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	var entries []*iso9660.ElToritoEntry
	if b := opts.BIOS; b != nil {
		for name, data := range map[string][]byte{
			isoLinuxBin: b.Bin, isoLinuxLD: b.LDLinux, isoKernel: b.Kernel, isoInitrd: b.Initrd,
			isoLinuxConfig: []byte(isolinuxConfig(b.Cmdline)),
		} {
			if err := put(name, data); err != nil {
				return fmt.Errorf("iso: %w", err)
			}
		}
		e := &iso9660.ElToritoEntry{Platform: iso9660.BIOS, Emulation: iso9660.NoEmulation, BootFile: isoLinuxBin, BootTable: true}
		e.SetLoadSize(4) // isolinux loads the rest of itself
		entries = append(entries, e)
	}
	if len(opts.ESP) > 0 {
		if err := os.MkdirAll(filepath.Join(work, filepath.Dir(isoESP)), 0o755); err != nil {
			return fmt.Errorf("iso: %w", err)
		}
		esp, err := os.Create(filepath.Join(work, isoESP))
		if err != nil {
			return fmt.Errorf("iso: %w", err)
		}
		_, err = WriteESP(esp, opts.ESP, opts.Epoch)
		if cerr := esp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("iso: %w", err)
		}
		entries = append(entries, &iso9660.ElToritoEntry{Platform: iso9660.EFI, Emulation: iso9660.NoEmulation, BootFile: isoESP})
	}
	fs, err := iso9660.Create(file.New(f, false), 0, 0, isoSector, work)
	if err != nil {
		return fmt.Errorf("iso: %w", err)
	}
	if err := fs.Finalize(iso9660.FinalizeOptions{
		VolumeIdentifier: isoLabel,
		ElTorito:         &iso9660.ElTorito{BootCatalog: isoCatalog, Entries: entries},
	}); err != nil {
		return fmt.Errorf("iso: %w", err)
	}
	if err := fixISODates(f, opts.Epoch); err != nil {
		return fmt.Errorf("iso: %w", err)
	}
	return nil
}

// isolinuxConfig boots the kernel and initramfs at once, its menu and prompt on the serial
// port as well as the screen.
func isolinuxConfig(cmdline string) string {
	return "SERIAL 0 115200\nDEFAULT keel\nPROMPT 0\nTIMEOUT 0\nLABEL keel\n" +
		"  KERNEL /" + isoKernel + "\n  INITRD /" + isoInitrd + "\n  APPEND " + strings.TrimSpace(cmdline) + "\n"
}

// fixISODates sets every date in the ISO 9660 image f to epoch: the primary volume
// descriptor's and every directory record's (go-diskfs takes them from the clock and the
// workspace files).
func fixISODates(f *os.File, epoch time.Time) error {
	epoch = epoch.UTC()
	if epoch.Year() < 1900 || epoch.Year() > 1900+255 {
		return fmt.Errorf("epoch %v: ISO 9660 records years 1900 to 2155", epoch)
	}
	pvd := make([]byte, isoSector)
	if _, err := f.ReadAt(pvd, isoPVDSector*isoSector); err != nil {
		return err
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		return errors.New("no primary volume descriptor")
	}
	long := []byte(epoch.Format("20060102150405") + "00\x00") // hundredths, then GMT offset 0
	for i, off := range isoPVDDates {
		if i == 2 { // expiration: "not specified"
			copy(pvd[off:off+17], "0000000000000000\x00")
			continue
		}
		copy(pvd[off:off+17], long)
	}
	short := []byte{byte(epoch.Year() - 1900), byte(epoch.Month()), byte(epoch.Day()), byte(epoch.Hour()), byte(epoch.Minute()), byte(epoch.Second()), 0}
	copy(pvd[isoRootRecord+isoRecordDate:], short)
	if _, err := f.WriteAt(pvd, isoPVDSector*isoSector); err != nil {
		return err
	}
	root := pvd[isoRootRecord:]
	seen := map[uint32]bool{}
	return fixDirDates(f, binary.LittleEndian.Uint32(root[2:]), binary.LittleEndian.Uint32(root[10:]), short, seen)
}

// fixDirDates sets the date of every record in the directory at sector lba (size bytes) and,
// recursively, in its subdirectories.
func fixDirDates(f *os.File, lba, size uint32, date []byte, seen map[uint32]bool) error {
	if seen[lba] || len(seen) > 1<<16 || size > 1<<24 {
		return nil
	}
	seen[lba] = true
	dir := make([]byte, size)
	if _, err := f.ReadAt(dir, int64(lba)*isoSector); err != nil {
		return fmt.Errorf("directory at sector %d: %w", lba, err)
	}
	type sub struct{ lba, size uint32 }
	var subs []sub
	for off := 0; off < len(dir); {
		n := int(dir[off])
		if n == 0 { // records do not cross sectors: go on at the next one
			off = (off/isoSector + 1) * isoSector
			continue
		}
		if n < 34 || off+n > len(dir) {
			return fmt.Errorf("directory at sector %d: bad record at %d", lba, off)
		}
		r := dir[off : off+n]
		copy(r[isoRecordDate:isoRecordDate+7], date)
		name := r[33 : 33+int(r[isoRecordNameLen])]
		self := len(name) == 1 && (name[0] == 0 || name[0] == 1)
		if r[isoRecordFlags]&isoFlagDir != 0 && !self {
			subs = append(subs, sub{binary.LittleEndian.Uint32(r[2:]), binary.LittleEndian.Uint32(r[10:])})
		}
		off += n
	}
	if _, err := f.WriteAt(dir, int64(lba)*isoSector); err != nil {
		return err
	}
	for _, s := range subs {
		if err := fixDirDates(f, s.lba, s.size, date, seen); err != nil {
			return err
		}
	}
	return nil
}
