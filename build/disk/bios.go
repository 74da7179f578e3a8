package disk

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// Syslinux is the syslinux installer WriteRawBIOS runs: Debian's syslinux, which installs
// its boot sector and ldlinux.sys on a FAT file system in an image file through mtools,
// without mounting it.
var Syslinux = "syslinux"

// mbrCodeSize is the boot code before the disk signature in an MBR.
const mbrCodeSize = 440

// BIOSOptions say what a raw BIOS disk boots.
type BIOSOptions struct {
	Size           int64  // the disk's size; 0 is DefaultSize or what the files need
	MBR            []byte // syslinux's mbr.bin (package syslinux-common): the MBR's boot code
	Kernel, Initrd []byte
	Cmdline        string
	Epoch          time.Time
}

// Paths on a BIOS disk's FAT partition; syslinux looks for its configuration in the root.
const (
	biosConfig = "syslinux.cfg"
	biosKernel = "vmlinuz"
	biosInitrd = "initrd.img"
)

// WriteRawBIOS writes to f (an empty file) an MBR disk for the PC BIOS: syslinux's MBR code,
// one active FAT32 partition at 1 MiB holding syslinux (installed by the Syslinux command),
// the kernel, the initramfs and a syslinux.cfg booting them with the command line. The rest
// of the disk stays free. The MBR disk signature and the FAT serial come from a hash of the
// contents; every FAT time, syslinux's files' included, is the epoch.
func WriteRawBIOS(ctx context.Context, f *os.File, opts BIOSOptions) error {
	if len(opts.MBR) == 0 || len(opts.MBR) > mbrCodeSize {
		return fmt.Errorf("raw bios: mbr.bin of %d bytes: want 1 to %d", len(opts.MBR), mbrCodeSize)
	}
	bin, err := exec.LookPath(Syslinux)
	if err != nil {
		return fmt.Errorf("raw bios: %s not found (Debian's syslinux and mtools): %w", Syslinux, err)
	}
	files := []File{
		{biosConfig, []byte(syslinuxConfig(opts.Cmdline))},
		{biosKernel, opts.Kernel},
		{biosInitrd, opts.Initrd},
	}
	part := ESPSize(files)
	size := opts.Size
	if size == 0 {
		size = max(DefaultSize, MinSize(files))
	}
	if size%sectorSize != 0 {
		return fmt.Errorf("disk size %d: not a multiple of %d bytes", size, sectorSize)
	}
	if size < part+gptReserve || size > 2<<40 {
		return fmt.Errorf("disk size %s: want %s to 2T for an MBR disk with a %s partition", FormatSize(size), FormatSize(part+gptReserve), FormatSize(part))
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("raw bios: %w", err)
	}
	sum := contentHash(files, size)
	d, err := diskfs.OpenBackend(file.New(f, false))
	if err != nil {
		return fmt.Errorf("raw bios: %w", err)
	}
	table := &mbr.Table{
		LogicalSectorSize: sectorSize, PhysicalSectorSize: sectorSize,
		Partitions: []*mbr.Partition{{
			Index: 1, Bootable: true, Type: mbr.Fat32LBA, Start: gptReserve / sectorSize, Size: uint32(part / sectorSize),
		}},
	}
	if err := d.Partition(table); err != nil {
		return fmt.Errorf("raw bios: partition table: %w", err)
	}
	if err := writeFAT(d, 1, gptReserve, filesystem.TypeFat32, bootLabel, files, opts.Epoch, sum); err != nil {
		return fmt.Errorf("raw bios: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("raw bios: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "--install", "--offset", strconv.Itoa(gptReserve), f.Name())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("raw bios: %s --install: %w: %s", Syslinux, err, strings.TrimSpace(string(out)))
	}
	// syslinux's files get the clock's time from mtools: give them the epoch.
	if err := setFATTimes(f, gptReserve, opts.Epoch); err != nil {
		return fmt.Errorf("raw bios: %w", err)
	}
	boot := make([]byte, mbrCodeSize+4)
	copy(boot, opts.MBR)
	copy(boot[mbrCodeSize:], sum[4:8]) // disk signature
	if _, err := f.WriteAt(boot, 0); err != nil {
		return fmt.Errorf("raw bios: mbr: %w", err)
	}
	return nil
}

// syslinuxConfig boots the kernel and initramfs at once, on the serial port as well as the
// screen.
func syslinuxConfig(cmdline string) string {
	return "SERIAL 0 115200\nDEFAULT keel\nPROMPT 0\nTIMEOUT 0\nLABEL keel\n" +
		"  KERNEL /" + biosKernel + "\n  INITRD /" + biosInitrd + "\n  APPEND " + strings.TrimSpace(cmdline) + "\n"
}
