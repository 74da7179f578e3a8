// Package qemu boots a Keel image (NAME-kernel, NAME-initrd.img, NAME-cmdline as written by
// keel build) or a bootable image file (an ISO, a raw, qcow2, VHD or VMDK disk, a UKI) in
// QEMU and reports how the guest ended. It is the library behind
// `keel run qemu [--arch] [--mem] [--cpus] [--accel] [--uefi|--bios] [--any-guest] [--rng] [--disk]
// [--data|--data-file] [--metadata|--metadata-file] [--data-via] [--nic] [--hostfwd] NAME|FILE`.
// User data reaches the guest's keel/metadata as a NoCloud ISO, LinuxKit's CD-ROM or fw_cfg
// (Config.DataVia; see docs/metadata.md).
//
// # Image files
//
// DetectImage tells from a file's name how to boot it: an ISO as a CD-ROM on virtio-scsi,
// a disk as the first virtio disk through QEMU's driver for its format (raw, qcow2, vpc for
// VHD, vmdk), a UKI as the firmware's -kernel. Names with "-bios" before the extension boot
// through the machine's PC BIOS (SeaBIOS, amd64 only), every other through UEFI firmware;
// Config.UEFI and Config.BIOS override the name. The image carries its own command line,
// so nothing is appended.
//
// The emulator, machine, CPU, serial console and UEFI firmware of each architecture come from
// package arch. With -nodefaults the guest gets only the devices the Config asks for. The
// console is on stdio, multiplexed with QEMU's monitor, and console= for the arch's serial
// port is appended to the kernel command line. -no-reboot turns a guest reboot into a QEMU
// exit. Config.UEFI (keel run --uefi) boots the kernel through that firmware's EFI stub.
//
// # Acceleration
//
// Accel "kvm" and "tcg" are used as given. "auto" (the default) reads $KEEL_QEMU_ACCEL
// (kvm or tcg) first; without it, it picks kvm only when the guest arch equals the host's,
// /dev/kvm opens read-write, answers KVM_GET_API_VERSION and KVM_CREATE_VM, and (on x86) the
// CPU advertises vmx or svm; otherwise tcg. A host with a half-working /dev/kvm (as in some
// nested sandboxes) can pass the ioctls yet hang the guest in its firmware, or early in the
// kernel, with no output: force software emulation there with --accel tcg or
// KEEL_QEMU_ACCEL=tcg.
//
// # Exit status
//
// Because of -no-reboot both a guest poweroff and a guest reboot end QEMU with status 0, so
// Run reads the console: Keel's PID 1 prints exactly one of "keel: power off", "keel: reboot"
// or "keel: halt" as its last line before reboot(2). Run returns nil only if QEMU exited 0 and
// the last such line was "keel: power off". A reboot is ErrReboot, a halt ErrHalt (QEMU is
// stopped a moment after the line, as a halted guest never ends it), a "Kernel panic" line
// ErrPanic (QEMU is stopped shortly after), no line at all ErrNoShutdown and an expired
// Config.Timeout ErrTimeout; each is wrapped with context, test them with errors.Is.
//
// Config.AnyGuest (keel run --any-guest) is for guests that are not Keel's (LinuxKit's
// images, any Linux): there QEMU's exit 0 is success unless the console showed a reboot
// (Keel's line or the kernel's "reboot: Restarting system"), a halt or a panic. It is a
// flag, not guessed from the console, so a Keel guest that dies without its line still
// fails.
package qemu
