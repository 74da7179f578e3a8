package integration

import (
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// bootFormats are the bootable formats each arch's tests build, the file each writes for
// examples/keel.yml (docs/formats.md), and the firmware that boots it: keel run qemu picks
// it from the file name unless flags say otherwise.
var bootFormats = map[string][]struct {
	format, file, firmware string
	flags                  []string
}{
	"amd64": {
		{"uki", "keel-uki.efi", "EFI", nil},
		{"iso-efi", "keel-efi.iso", "EFI", nil},
		{"iso-bios", "keel-bios.iso", "BIOS", nil},
		{"iso-bios", "keel-bios.iso", "EFI", []string{"--uefi"}}, // the hybrid's other half
		{"raw-efi", "keel-efi.raw", "EFI", nil},
		{"qcow2-efi", "keel-efi.qcow2", "EFI", nil},
		{"raw-bios", "keel-bios.raw", "BIOS", nil},
		{"qcow2-bios", "keel-bios.qcow2", "BIOS", nil},
		{"vhd", "keel.vhd", "EFI", nil},
		{"vmdk", "keel.vmdk", "EFI", nil},
	},
	"arm64": {{"raw-efi", "keel-efi.raw", "EFI", nil}, {"iso-efi", "keel-efi.iso", "EFI", nil}},
}

// needsSyslinux are the formats built with Debian's syslinux installer (and mtools), which
// a host may lack: their tests are skipped there, the others still run.
var needsSyslinux = []string{"raw-bios", "qcow2-bios"}

func haveSyslinux() bool {
	_, err := exec.LookPath("syslinux")
	return err == nil
}

func formatList(arch string) string {
	var names []string
	for _, f := range bootFormats[arch] {
		if !slices.Contains(names, f.format) && (haveSyslinux() || !slices.Contains(needsSyslinux, f.format)) {
			names = append(names, f.format)
		}
	}
	return strings.Join(names, ",")
}

// TestBootableFormatsBootThroughTheirFirmwareToAShell builds examples/keel.yml in every
// bootable format and boots each file by itself, as keel run qemu detects it: the UKI as
// OVMF's kernel, the ISO as a CD-ROM, the disks through QEMU's raw, qcow2, vpc and vmdk
// drivers, through UEFI firmware (OVMF on amd64, AAVMF on arm64), which finds the UKI at the
// removable-media path of the ESP; the hybrid ISO and the BIOS disks through SeaBIOS and
// isolinux or syslinux. No kernel or initramfs is handed to QEMU: the machine reaches its
// shell on the firmware the format says, with the image's command line, and powers off.
func TestBootableFormatsBootThroughTheirFirmwareToAShell(t *testing.T) {
	needGuest(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			needArch(t, arch)
			dir := t.TempDir()
			buildImageFor(t, arch, "examples/keel.yml", dir, "--format", formatList(arch))
			for _, f := range bootFormats[arch] {
				t.Run(f.format+"/"+f.firmware, func(t *testing.T) {
					if slices.Contains(needsSyslinux, f.format) && !haveSyslinux() {
						t.Skip("no syslinux installer (Debian's syslinux and mtools)")
					}
					flags := append([]string{"--arch", arch}, f.flags...)
					shellSession(t, flags, filepath.Join(dir, f.file), []step{
						{"", "Welcome to Keel"},
						{"[ -d /sys/firmware/efi ] && echo FW-EFI-$(uname -m) || echo FW-BIOS-$(uname -m)", "FW-" + f.firmware + "-" + unames[arch]},
						{"cat /proc/cmdline", "quiet"},
						{"ctr -n services.linuxkit tasks ls | grep getty", "RUNNING"},
						{"poweroff", powerOffLine},
					})
				})
			}
		})
	}
}

// TestKernelSquashfsBootsFromAReadOnlyDiskRoot builds examples/keel.yml as kernel+squashfs
// and boots it as keel run qemu does: the squashfs as the first virtio disk (virtio-blk-pci on
// amd64, virtio-blk-ccw on s390x) and no initramfs. PID 1's root is an overlay of a tmpfs on
// the squashfs, the shell and containerd's tasks run, and the machine powers off cleanly.
func TestKernelSquashfsBootsFromAReadOnlyDiskRoot(t *testing.T) {
	needGuest(t)
	for _, arch := range []string{"amd64", "s390x"} {
		t.Run(arch, func(t *testing.T) {
			needArch(t, arch)
			dir := t.TempDir()
			image := buildImageFor(t, arch, "examples/keel.yml", dir, "--format", "kernel+squashfs")
			if _, err := os.Stat(image + "-initrd.img"); err == nil {
				t.Fatal("kernel+squashfs wrote an initramfs")
			}
			shellSession(t, []string{"--arch", arch}, image, []step{
				{"", "Welcome to Keel"},
				{"cat /proc/cmdline", "root=/dev/vda rootfstype=squashfs ro"},
				// The kernel mounted the squashfs; PID 1's root is the overlay on it, and the
				// kernel's mount of the disk (source /dev/root) was detached from PID 1's tree.
				{"dmesg | grep -c 'Mounted root (squashfs filesystem) readonly' | sed s/^/SQUASHFS-/", "SQUASHFS-1"},
				{"echo ROOT-$(awk '$2==\"/\" {print $3}' /proc/1/mounts)", "ROOT-overlay"},
				{"echo DISK-MOUNTS-$(grep -c -e '^/dev/root ' -e '^/dev/vda ' /proc/1/mounts)", "DISK-MOUNTS-0"},
				{"ctr -n services.linuxkit tasks ls | grep getty", "RUNNING"},
				{"poweroff", powerOffLine},
			})
		})
	}
}

// TestBootableFormatsAreByteIdenticalAcrossBuilds builds examples/keel.yml twice in every
// format and compares the files: GUIDs, serials, FAT, ISO and VHD times and VMDK's content
// ID come from the content and SOURCE_DATE_EPOCH, not from the clock or chance.
func TestBootableFormatsAreByteIdenticalAcrossBuilds(t *testing.T) {
	needGuest(t)
	formats := "uki,iso-efi,iso-bios,raw-efi,qcow2-efi,vhd,vmdk,gcp,aws,kernel+squashfs"
	if haveSyslinux() {
		formats += "," + strings.Join(needsSyslinux, ",")
	} else {
		t.Log("no syslinux installer: raw-bios and qcow2-bios left out")
	}
	sums := func(dir string) map[string][32]byte {
		buildImageFor(t, "amd64", "examples/keel.yml", dir, "--format", formats)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][32]byte{}
		for _, e := range ents {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var s [32]byte
			h.Sum(s[:0])
			out[e.Name()] = s
		}
		return out
	}
	a, b := sums(t.TempDir()), sums(t.TempDir())
	if len(a) != len(strings.Split(formats, ","))+2 { // kernel+squashfs: also its kernel and cmdline
		t.Errorf("%d files for the formats %s: %v", len(a), formats, a)
	}
	for name, s := range a {
		if b[name] != s {
			t.Errorf("%s differs between two builds", name)
		}
	}
}
