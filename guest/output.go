package guest

// The files keel build writes for an image called NAME. name may carry its directory
// (DIR/NAME), as keel run qemu's argument does: each function only appends a suffix.

// KernelFile is the kernel image (formats kernel+initrd and kernel+squashfs).
func KernelFile(name string) string { return name + "-kernel" }

// InitrdFile is the compressed initramfs, after any CPU microcode (format kernel+initrd).
func InitrdFile(name string) string { return name + "-initrd.img" }

// CmdlineFile is the kernel command line, one line (formats kernel+initrd and
// kernel+squashfs; the latter's boot adds SquashfsCmdline).
func CmdlineFile(name string) string { return name + "-cmdline" }

// SquashfsFile is the root filesystem as a squashfs image, which the kernel mounts from a
// disk (format kernel+squashfs).
func SquashfsFile(name string) string { return name + "-squashfs.img" }

// SquashfsCmdline is what a kernel booting SquashfsFile attached as the first virtio disk
// adds to CmdlineFile. PID 1 lays a tmpfs over the read-only root, so the system behaves as
// on an initramfs.
const SquashfsCmdline = "root=/dev/vda rootfstype=squashfs ro"

// TarFile is the root filesystem as a tar archive, with the kernel, its command line and
// any microcode under boot/ as in LinuxKit's tar format (format tar).
func TarFile(name string) string { return name + ".tar" }

// SBOMFile is the software bill of materials, an SPDX 2.3 JSON document (keel build --sbom).
func SBOMFile(name string) string { return name + ".spdx.json" }

// The bootable images (docs/formats.md) are named by their boot: firmwareSuffix before the
// extension says which firmware boots them, and the extension what kind of image they are.
// build/qemu's DetectImage reads both back from a file's name.
const (
	EFISuffix  = "-efi"  // booted through UEFI firmware
	BIOSSuffix = "-bios" // booted through a PC BIOS (a hybrid ISO boots UEFI as well)

	ISOExt   = ".iso"   // a CD-ROM image
	RawExt   = ".raw"   // a raw disk image
	QCOW2Ext = ".qcow2" // a qcow2 disk image
	VHDExt   = ".vhd"   // a dynamic VHD
	VMDKExt  = ".vmdk"  // a monolithic sparse VMDK
	EFIExt   = ".efi"   // an EFI program: a Unified Kernel Image
)

// firmware is EFISuffix or BIOSSuffix.
func firmware(bios bool) string {
	if bios {
		return BIOSSuffix
	}
	return EFISuffix
}

// UKIFile is the Unified Kernel Image (format uki).
func UKIFile(name string) string { return name + "-uki" + EFIExt }

// ISOFile is the ISO image (formats iso-efi, iso-bios).
func ISOFile(name string, bios bool) string { return name + firmware(bios) + ISOExt }

// RawFile is the raw disk image (formats raw-efi, raw-bios).
func RawFile(name string, bios bool) string { return name + firmware(bios) + RawExt }

// QCOW2File is the qcow2 disk image (formats qcow2-efi, qcow2-bios).
func QCOW2File(name string, bios bool) string { return name + firmware(bios) + QCOW2Ext }

// VHDFile is raw-efi as a dynamic VHD (format vhd).
func VHDFile(name string) string { return name + VHDExt }

// VMDKFile is raw-efi as a VMDK (format vmdk).
func VMDKFile(name string) string { return name + VMDKExt }

// GCPFile is raw-efi as Compute Engine's image import takes it (format gcp).
func GCPFile(name string) string { return name + "-gcp.tar.gz" }

// AWSFile is raw-efi in whole GiB for EC2's snapshot import (format aws).
func AWSFile(name string) string { return name + "-aws" + RawExt }
