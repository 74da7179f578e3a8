// Package arch is Keel's table of target architectures: for each one, every fact the kernel
// build, the package builds, the kernel config checker and QEMU need (kernel ARCH=, Debian's
// multiarch triple, the boot image, the QEMU machine, console and firmware). Adding an
// architecture means adding one record here, then its kernel-config fragments.
package arch

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Arch is one target architecture.
type Arch struct {
	Name    string   // Go's GOARCH: amd64, arm64, s390x
	Aliases []string // other spellings of Name (uname -m, image platforms), lower case

	// Kernel build.
	KernelArch  string // the kernel's ARCH=
	Triple      string // Debian's multiarch triple: TRIPLE-gcc, /usr/lib/TRIPLE/pkgconfig
	ImageTarget string // make target of the boot image
	ImagePath   string // the boot image, relative to the kernel build directory
	Kconfig     string // the CONFIG_ symbol only this arch's kernels set to y

	// QEMU.
	QEMU       string   // system emulator binary
	Machine    string   // -machine under TCG
	KVMMachine string   // -machine under KVM
	TCGCPU     string   // -cpu under TCG ("" for QEMU's default); KVM always uses host
	Console    string   // the serial console's kernel name, for console=
	Bus        string   // virtio transport suffix: pci or ccw
	FwCfg      bool     // whether the machine has fw_cfg
	KVMFlags   []string // /proc/cpuinfo flags of hardware virtualisation (none: no check)
	UEFI       string   // UEFI firmware for -bios ("" for none), from Debian's ovmf / qemu-efi-aarch64
	UEFIBoot   string   // removable-media boot file in EFI/BOOT/ ("" without UEFI)
	PCBIOS     bool     // the machine's default firmware is a PC BIOS (SeaBIOS) that boots disks and CDs
}

var table = []Arch{
	{
		Name: "amd64", Aliases: []string{"x86_64", "x86-64"},
		KernelArch: "x86_64", Triple: "x86_64-linux-gnu",
		ImageTarget: "bzImage", ImagePath: "arch/x86/boot/bzImage", Kconfig: "CONFIG_X86_64",
		QEMU: "qemu-system-x86_64", Machine: "q35", KVMMachine: "q35", TCGCPU: "",
		Console: "ttyS0", Bus: "pci", FwCfg: true, KVMFlags: []string{"vmx", "svm"},
		UEFI: "/usr/share/ovmf/OVMF.fd", UEFIBoot: "BOOTX64.EFI", PCBIOS: true,
	},
	{
		Name: "arm64", Aliases: []string{"aarch64"},
		KernelArch: "arm64", Triple: "aarch64-linux-gnu",
		ImageTarget: "Image", ImagePath: "arch/arm64/boot/Image", Kconfig: "CONFIG_ARM64",
		QEMU: "qemu-system-aarch64", Machine: "virt", KVMMachine: "virt,gic-version=host", TCGCPU: "max",
		Console: "ttyAMA0", Bus: "pci", FwCfg: true,
		UEFI: "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd", UEFIBoot: "BOOTAA64.EFI",
	},
	{
		Name:       "s390x",
		KernelArch: "s390", Triple: "s390x-linux-gnu",
		ImageTarget: "bzImage", ImagePath: "arch/s390/boot/bzImage", Kconfig: "CONFIG_S390",
		QEMU: "qemu-system-s390x", Machine: "s390-ccw-virtio", KVMMachine: "s390-ccw-virtio", TCGCPU: "max",
		Console: "ttysclp0", Bus: "ccw", FwCfg: false, KVMFlags: []string{"sie"},
	},
}

// All returns every architecture, in a fixed order.
func All() []Arch {
	out := make([]Arch, len(table))
	for i, a := range table {
		a.Aliases = append([]string(nil), a.Aliases...)
		a.KVMFlags = append([]string(nil), a.KVMFlags...)
		out[i] = a
	}
	return out
}

// Names lists the architectures' names: amd64, arm64, s390x.
func Names() []string {
	names := make([]string, len(table))
	for i, a := range table {
		names[i] = a.Name
	}
	return names
}

// Known reports whether name is one of Names.
func Known(name string) bool {
	_, err := Lookup(name)
	return err == nil
}

// Lookup returns the architecture called name; the error lists the known ones.
func Lookup(name string) (Arch, error) {
	for _, a := range All() {
		if a.Name == name {
			return a, nil
		}
	}
	return Arch{}, fmt.Errorf("unsupported arch %q (want %s)", name, strings.Join(Names(), ", "))
}

// Canonical returns the Name that name (in any case) or one of its Aliases spells, else name
// in lower case: Canonical("x86_64") is amd64.
func Canonical(name string) string {
	name = strings.ToLower(name)
	for _, a := range table {
		if a.Name == name || slices.Contains(a.Aliases, name) {
			return a.Name
		}
	}
	return name
}

// Native reports whether code for a runs here without a cross compiler.
func (a Arch) Native() bool { return runtime.GOOS == "linux" && runtime.GOARCH == a.Name }

// CrossCompile is the kernel's CROSS_COMPILE= prefix on this host: none for the host's own
// architecture, else Debian's TRIPLE- cross compiler.
func (a Arch) CrossCompile() string {
	if a.Native() {
		return ""
	}
	return a.Triple + "-"
}

// CC is the C compiler for a on this host: gcc natively, else Debian's TRIPLE-gcc.
func (a Arch) CC() string { return a.CrossCompile() + "gcc" }
