package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keel-os/keel/guest"
)

// How a bootable image reaches the guest (BootImage.Media).
const (
	MediaDisk   = "disk"   // a virtio disk
	MediaCDROM  = "cdrom"  // a CD-ROM on virtio-scsi
	MediaKernel = "kernel" // a Unified Kernel Image, handed to UEFI firmware as QEMU's -kernel
)

// BootImage is a file keel build wrote that firmware boots by itself (an ISO, a disk, a UKI),
// booted instead of a kernel and an initramfs.
type BootImage struct {
	Path   string
	Media  string // MediaDisk, MediaCDROM or MediaKernel
	Format string // QEMU's block driver: raw, qcow2, vpc or vmdk
	UEFI   bool   // booted through UEFI firmware (else the PC BIOS, SeaBIOS)
}

// diskFormats maps a disk image's extension to QEMU's block driver.
var diskFormats = map[string]string{guest.RawExt: "raw", ".img": "raw", guest.QCOW2Ext: "qcow2", guest.VHDExt: "vpc", guest.VMDKExt: "vmdk"}

// DetectImage tells from its name how to boot the image file at path: NAME.iso as a CD-ROM,
// NAME.raw, .img, .qcow2, .vhd and .vmdk as a disk through QEMU's driver for the format,
// NAME-uki.efi (any .efi) as a UKI. A name with "-bios" before its extension (NAME-bios.iso)
// boots through the PC BIOS, every other through UEFI firmware. The file must exist.
func DetectImage(path string) (BootImage, error) {
	st, err := os.Stat(path)
	if err != nil {
		return BootImage{}, fmt.Errorf("image %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return BootImage{}, fmt.Errorf("image %s: not a regular file", path)
	}
	base := strings.ToLower(filepath.Base(path))
	ext := filepath.Ext(base)
	img := BootImage{Path: path, Format: "raw", UEFI: !strings.HasSuffix(strings.TrimSuffix(base, ext), guest.BIOSSuffix)}
	switch {
	case ext == guest.ISOExt:
		img.Media = MediaCDROM
	case ext == guest.EFIExt:
		img.Media, img.UEFI = MediaKernel, true
	case diskFormats[ext] != "":
		img.Media, img.Format = MediaDisk, diskFormats[ext]
	case strings.HasSuffix(base, ".tar.gz"):
		return BootImage{}, fmt.Errorf("image %s: a tar.gz for a cloud's import: boot the disk.raw inside it", path)
	default:
		return BootImage{}, fmt.Errorf("image %s: unknown kind: want NAME.iso, NAME.raw, .img, .qcow2, .vhd, .vmdk or NAME-uki.efi", path)
	}
	return img, nil
}

// imageArgs are the QEMU arguments that boot c.Image.
func imageArgs(c Config, bus string) []string {
	img := c.Image
	drive := fmt.Sprintf("if=none,id=boot,file=%s,format=%s", optEscape(img.Path), img.Format)
	switch img.Media {
	case MediaKernel:
		return []string{"-kernel", img.Path}
	case MediaCDROM:
		return []string{
			"-drive", drive + ",media=cdrom,readonly=on",
			"-device", "virtio-scsi-" + bus + ",id=scsi0",
			"-device", "scsi-cd,bus=scsi0.0,drive=boot,bootindex=0",
		}
	default:
		return []string{"-drive", drive, "-device", fmt.Sprintf("virtio-blk-%s,drive=boot,bootindex=0", bus)}
	}
}
