package assemble

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/guest"
)

// Output formats. The bootable ones carry the kernel, the initramfs and the command line
// in a Unified Kernel Image (package build/uki) that UEFI firmware starts by itself.
const (
	FormatKernelInitrd = "kernel+initrd"
	FormatTar          = "tar"
	// FormatKernelSquashfs is NAME-kernel, NAME-cmdline and NAME-squashfs.img: the root as a
	// squashfs the kernel mounts from a disk, unpacking nothing into memory.
	FormatKernelSquashfs = "kernel+squashfs"
	FormatUKI            = "uki"        // NAME-uki.efi: the UKI alone, ready to be signed
	FormatISOEFI         = "iso-efi"    // NAME-efi.iso: an ISO 9660 whose El Torito ESP image holds the UKI
	FormatISOBIOS        = "iso-bios"   // NAME-bios.iso: iso-efi plus isolinux for the PC BIOS: boots both
	FormatRawEFI         = "raw-efi"    // NAME-efi.raw: a GPT disk whose ESP holds the UKI
	FormatRawBIOS        = "raw-bios"   // NAME-bios.raw: an MBR disk booting the kernel through syslinux
	FormatQCOW2BIOS      = "qcow2-bios" // NAME-bios.qcow2: raw-bios as qcow2
	FormatQCOW2EFI       = "qcow2-efi"  // NAME-efi.qcow2: raw-efi as qcow2
	FormatVHD            = "vhd"        // NAME.vhd: raw-efi as a dynamic VHD
	FormatVMDK           = "vmdk"       // NAME.vmdk: raw-efi as a monolithic sparse VMDK (VMware)
	FormatGCP            = "gcp"        // NAME-gcp.tar.gz: raw-efi in whole GiB as disk.raw, for Compute Engine
	FormatAWS            = "aws"        // NAME-aws.raw: raw-efi in whole GiB, for EC2 snapshot import
)

// format is what Write knows of an output format.
type format struct {
	name  string
	files func(name string) []string // the files it writes
	uefi  bool                       // boots through UEFI firmware: arches with one
	bios  bool                       // boots through a PC BIOS too: arches with one
}

var formats = []format{
	{FormatKernelInitrd, func(n string) []string {
		return []string{guest.KernelFile(n), guest.InitrdFile(n), guest.CmdlineFile(n)}
	}, false, false},
	{FormatKernelSquashfs, func(n string) []string {
		return []string{guest.SquashfsFile(n), guest.KernelFile(n), guest.CmdlineFile(n)}
	}, false, false},
	{FormatTar, func(n string) []string { return []string{guest.TarFile(n)} }, false, false},
	{FormatUKI, func(n string) []string { return []string{guest.UKIFile(n)} }, true, false},
	{FormatISOEFI, func(n string) []string { return []string{guest.ISOFile(n, false)} }, true, false},
	{FormatISOBIOS, func(n string) []string { return []string{guest.ISOFile(n, true)} }, true, true},
	{FormatRawEFI, func(n string) []string { return []string{guest.RawFile(n, false)} }, true, false},
	{FormatQCOW2EFI, func(n string) []string { return []string{guest.QCOW2File(n, false)} }, true, false},
	{FormatRawBIOS, func(n string) []string { return []string{guest.RawFile(n, true)} }, false, true},
	{FormatQCOW2BIOS, func(n string) []string { return []string{guest.QCOW2File(n, true)} }, false, true},
	{FormatVHD, func(n string) []string { return []string{guest.VHDFile(n)} }, true, false},
	{FormatVMDK, func(n string) []string { return []string{guest.VMDKFile(n)} }, true, false},
	{FormatGCP, func(n string) []string { return []string{guest.GCPFile(n)} }, true, false},
	{FormatAWS, func(n string) []string { return []string{guest.AWSFile(n)} }, true, false},
}

// Formats lists the output formats Write knows, in a fixed order.
func Formats() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}

func lookupFormat(name string) (format, bool) {
	for _, f := range formats {
		if f.name == name {
			return f, true
		}
	}
	return format{}, false
}

// HasDisk reports whether any of names is a disk image, whose size --size sets.
func HasDisk(names []string) bool {
	for _, n := range names {
		switch n {
		case FormatRawEFI, FormatQCOW2EFI, FormatVHD, FormatVMDK, FormatGCP, FormatAWS, FormatRawBIOS, FormatQCOW2BIOS:
			return true
		}
	}
	return false
}

// NeedsISOLinux reports whether any of names is an ISO booted through a PC BIOS (and so
// needs WriteOptions.ISOLinux and LDLinux).
func NeedsISOLinux(names []string) bool { return slices.Contains(names, FormatISOBIOS) }

// NeedsSyslinux reports whether any of names is a disk booted through a PC BIOS (and so
// needs WriteOptions.MBR and the syslinux installer, disk.Syslinux).
func NeedsSyslinux(names []string) bool {
	return slices.Contains(names, FormatRawBIOS) || slices.Contains(names, FormatQCOW2BIOS)
}

// NeedsUEFI reports whether any of names is a format booted through UEFI firmware (and so
// needs systemd-stub: WriteOptions.EFIStub).
func NeedsUEFI(names []string) bool {
	for _, n := range names {
		if f, ok := lookupFormat(n); ok && f.uefi {
			return true
		}
	}
	return false
}

// CheckFormats reports the first of names that is unknown, repeated, or not bootable on
// the architecture archName, so a build can refuse it before it pulls anything.
func CheckFormats(names []string, archName string) error {
	a, err := arch.Lookup(archName)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range names {
		f, ok := lookupFormat(n)
		switch {
		case !ok:
			return fmt.Errorf("unknown format %q (formats: %s)", n, strings.Join(Formats(), ", "))
		case seen[n]:
			return fmt.Errorf("format %s given twice", n)
		case f.uefi && a.UEFIBoot == "":
			return fmt.Errorf("format %s boots through UEFI firmware, which %s machines lack (they load a kernel and an initramfs): %s builds %s", n, a.Name, a.Name, list(formatsFor(a)))
		case f.bios && !a.PCBIOS:
			return fmt.Errorf("format %s boots through a PC BIOS as well, which %s machines lack: use iso-efi (%s builds %s)", n, a.Name, a.Name, list(formatsFor(a)))
		}
		seen[n] = true
	}
	return nil
}

// list joins names as a sentence does: "a, b and c".
func list(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// formatsFor lists the formats a can boot or use.
func formatsFor(a arch.Arch) []string {
	var names []string
	for _, f := range formats {
		if (!f.uefi || a.UEFIBoot != "") && (!f.bios || a.PCBIOS) {
			names = append(names, f.name)
		}
	}
	return names
}
