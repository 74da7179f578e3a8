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
