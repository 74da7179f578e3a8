package integration

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bootFormats are the bootable formats each arch's tests build, and the file each writes
// for examples/keel.yml (docs/formats.md).
var bootFormats = map[string][]struct{ format, file string }{
	"amd64": {
		{"uki", "keel-uki.efi"}, {"iso-efi", "keel-efi.iso"}, {"raw-efi", "keel-efi.raw"},
		{"qcow2-efi", "keel-efi.qcow2"}, {"vhd", "keel.vhd"}, {"vmdk", "keel.vmdk"},
	},
	"arm64": {{"raw-efi", "keel-efi.raw"}, {"iso-efi", "keel-efi.iso"}},
}

func formatList(arch string) string {
	var names []string
	for _, f := range bootFormats[arch] {
		names = append(names, f.format)
	}
	return strings.Join(names, ",")
}

// TestBootableFormatsBootThroughTheirFirmwareToAShell builds examples/keel.yml in every
// bootable format and boots each file by itself, as keel run qemu detects it: the UKI as
// OVMF's kernel, the ISO as a CD-ROM, the disks through QEMU's raw, qcow2, vpc and vmdk
// drivers, all through UEFI firmware (OVMF on amd64, AAVMF on arm64), which finds the UKI at
// the removable-media path of the ESP. No kernel or initramfs is handed to QEMU: the
// machine reaches its shell, runs on EFI with the UKI's command line, and powers off.
func TestBootableFormatsBootThroughTheirFirmwareToAShell(t *testing.T) {
	needGuest(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			needArch(t, arch)
			dir := t.TempDir()
			buildImageFor(t, arch, "examples/keel.yml", dir, "--format", formatList(arch))
			for _, f := range bootFormats[arch] {
				t.Run(f.format, func(t *testing.T) {
					console := shellSession(t, []string{"--arch", arch}, filepath.Join(dir, f.file), []step{
						{"", "Welcome to Keel"},
						{"ls /sys/firmware/efi >/dev/null && echo EFI-$((6*7))-$(uname -m)", "EFI-42-" + unames[arch]},
						{"cat /proc/cmdline", "quiet"},
						{"ctr -n services.linuxkit tasks ls | grep getty", "RUNNING"},
						{"poweroff", powerOffLine},
					})
					mustContain(t, console, `(?i)efi`)
				})
			}
		})
	}
}

// TestBootableFormatsAreByteIdenticalAcrossBuilds builds examples/keel.yml twice in every
// format and compares the files: GUIDs, serials, FAT, ISO and VHD times and VMDK's content
// ID come from the content and SOURCE_DATE_EPOCH, not from the clock or chance.
func TestBootableFormatsAreByteIdenticalAcrossBuilds(t *testing.T) {
	needGuest(t)
	const formats = "uki,iso-efi,raw-efi,qcow2-efi,vhd,vmdk,gcp,aws"
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
	if len(a) != len(strings.Split(formats, ",")) {
		t.Errorf("%d files for the formats %s: %v", len(a), formats, a)
	}
	for name, s := range a {
		if b[name] != s {
			t.Errorf("%s differs between two builds", name)
		}
	}
}
