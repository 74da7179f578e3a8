package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/guest"
)

func touch(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetectImageTellsMediaFormatAndFirmwareFromTheName(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]BootImage{
		"keel-efi.raw":   {Media: MediaDisk, Format: "raw", UEFI: true},
		"keel-bios.raw":  {Media: MediaDisk, Format: "raw"},
		"keel-aws.raw":   {Media: MediaDisk, Format: "raw", UEFI: true},
		"keel-efi.qcow2": {Media: MediaDisk, Format: "qcow2", UEFI: true},
		"keel-bios.img":  {Media: MediaDisk, Format: "raw"},
		"keel.vhd":       {Media: MediaDisk, Format: "vpc", UEFI: true},
		"KEEL.VMDK":      {Media: MediaDisk, Format: "vmdk", UEFI: true},
		"keel-efi.iso":   {Media: MediaCDROM, Format: "raw", UEFI: true},
		"keel-bios.iso":  {Media: MediaCDROM, Format: "raw"},
		"keel-uki.efi":   {Media: MediaKernel, Format: "raw", UEFI: true},
	} {
		p := touch(t, dir, name)
		want.Path = p
		got, err := DetectImage(p)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, want)
		}
	}
}

func TestDetectImageRefusesWhatItCannotBoot(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]string{
		touch(t, dir, "keel-gcp.tar.gz"):  "disk.raw inside",
		touch(t, dir, "keel-kernel"):      "unknown kind",
		filepath.Join(dir, "missing.iso"): "no such file",
		dir:                               "not a regular file",
	} {
		if _, err := DetectImage(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", name, err, want)
		}
	}
}

func imageConfig(t *testing.T, arch, name string) Config {
	t.Helper()
	img, err := DetectImage(touch(t, t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	img.Path = "/out/" + name // stable in the golden lines
	return Config{Arch: arch, Accel: "tcg", Image: &img}
}

func TestCommandBootsEachImageKindThroughItsFirmware(t *testing.T) {
	const amd = "qemu-system-x86_64 -machine q35 -accel tcg -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot "
	const arm = "qemu-system-aarch64 -machine virt -accel tcg -cpu max -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot "
	const tail = " -device virtio-rng-pci -nic none"
	for _, tc := range []struct {
		arch, name string
		uefi, bios bool
		want       string
	}{
		{"amd64", "keel-efi.raw", false, false, amd + "-bios /usr/share/ovmf/OVMF.fd -drive if=none,id=boot,file=/out/keel-efi.raw,format=raw -device virtio-blk-pci,drive=boot,bootindex=0" + tail},
		{"amd64", "keel-efi.qcow2", false, false, amd + "-bios /usr/share/ovmf/OVMF.fd -drive if=none,id=boot,file=/out/keel-efi.qcow2,format=qcow2 -device virtio-blk-pci,drive=boot,bootindex=0" + tail},
		{"amd64", "keel.vhd", false, false, amd + "-bios /usr/share/ovmf/OVMF.fd -drive if=none,id=boot,file=/out/keel.vhd,format=vpc -device virtio-blk-pci,drive=boot,bootindex=0" + tail},
		{"amd64", "keel.vmdk", false, false, amd + "-bios /usr/share/ovmf/OVMF.fd -drive if=none,id=boot,file=/out/keel.vmdk,format=vmdk -device virtio-blk-pci,drive=boot,bootindex=0" + tail},
		{"amd64", "keel-efi.iso", false, false, amd + "-bios /usr/share/ovmf/OVMF.fd -drive if=none,id=boot,file=/out/keel-efi.iso,format=raw,media=cdrom,readonly=on -device virtio-scsi-pci,id=scsi0 -device scsi-cd,bus=scsi0.0,drive=boot,bootindex=0" + tail},
		{"amd64", "keel-bios.iso", false, false, amd + "-drive if=none,id=boot,file=/out/keel-bios.iso,format=raw,media=cdrom,readonly=on -device virtio-scsi-pci,id=scsi0 -device scsi-cd,bus=scsi0.0,drive=boot,bootindex=0" + tail},
		{"amd64", "keel-bios.iso", true, false, amd + "-bios /usr/share/ovmf/OVMF.fd -drive if=none,id=boot,file=/out/keel-bios.iso,format=raw,media=cdrom,readonly=on -device virtio-scsi-pci,id=scsi0 -device scsi-cd,bus=scsi0.0,drive=boot,bootindex=0" + tail},
		{"amd64", "keel-efi.iso", false, true, amd + "-drive if=none,id=boot,file=/out/keel-efi.iso,format=raw,media=cdrom,readonly=on -device virtio-scsi-pci,id=scsi0 -device scsi-cd,bus=scsi0.0,drive=boot,bootindex=0" + tail},
		{"amd64", "keel-uki.efi", false, false, amd + "-bios /usr/share/ovmf/OVMF.fd -kernel /out/keel-uki.efi" + tail},
		{"arm64", "keel-efi.raw", false, false, arm + "-bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd -drive if=none,id=boot,file=/out/keel-efi.raw,format=raw -device virtio-blk-pci,drive=boot,bootindex=0" + tail},
		{"arm64", "keel-efi.iso", false, false, arm + "-bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd -drive if=none,id=boot,file=/out/keel-efi.iso,format=raw,media=cdrom,readonly=on -device virtio-scsi-pci,id=scsi0 -device scsi-cd,bus=scsi0.0,drive=boot,bootindex=0" + tail},
	} {
		cfg := imageConfig(t, tc.arch, tc.name)
		cfg.UEFI, cfg.BIOS = tc.uefi, tc.bios
		argv, err := Command(cfg)
		if err != nil {
			t.Errorf("%s %s: %v", tc.arch, tc.name, err)
			continue
		}
		if got := strings.Join(argv, " "); got != tc.want {
			t.Errorf("%s %s (uefi %v, bios %v):\n got %s\nwant %s", tc.arch, tc.name, tc.uefi, tc.bios, got, tc.want)
		}
	}
}

func TestCommandRefusesImageBootsTheMachineCannotDo(t *testing.T) {
	for _, tc := range []struct {
		arch, name string
		uefi, bios bool
		want       string
	}{
		{"arm64", "keel-bios.iso", false, false, "no PC BIOS"},
		{"arm64", "keel-efi.raw", false, true, "no PC BIOS"},
		{"s390x", "keel-efi.raw", false, false, "no UEFI firmware"},
		{"amd64", "keel-uki.efi", false, true, "only UEFI firmware"},
		{"amd64", "keel-efi.raw", true, true, "both"},
	} {
		cfg := imageConfig(t, tc.arch, tc.name)
		cfg.UEFI, cfg.BIOS = tc.uefi, tc.bios
		if _, err := Command(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s (uefi %v, bios %v): %v, want an error with %q", tc.arch, tc.name, tc.uefi, tc.bios, err, tc.want)
		}
	}
	cfg := base("amd64", "tcg")
	cfg.BIOS = true
	if _, err := Command(cfg); err == nil || !strings.Contains(err.Error(), "image files") {
		t.Errorf("BIOS with a kernel: %v", err)
	}
	cfg = imageConfig(t, "amd64", "keel-efi.raw")
	cfg.Kernel = "k"
	if _, err := Command(cfg); err == nil {
		t.Error("an image and a kernel both accepted")
	}
}

func TestDetectImageReadsBackTheNamesPackageGuestGivesBootableImages(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "m")
	for _, tc := range []struct {
		file   string
		media  string
		format string
		uefi   bool
	}{
		{guest.UKIFile(name), MediaKernel, "raw", true},
		{guest.ISOFile(name, false), MediaCDROM, "raw", true},
		{guest.ISOFile(name, true), MediaCDROM, "raw", false},
		{guest.RawFile(name, false), MediaDisk, "raw", true},
		{guest.RawFile(name, true), MediaDisk, "raw", false},
		{guest.QCOW2File(name, false), MediaDisk, "qcow2", true},
		{guest.QCOW2File(name, true), MediaDisk, "qcow2", false},
		{guest.VHDFile(name), MediaDisk, "vpc", true},
		{guest.VMDKFile(name), MediaDisk, "vmdk", true},
		{guest.AWSFile(name), MediaDisk, "raw", true},
	} {
		if err := os.WriteFile(tc.file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := DetectImage(tc.file)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(tc.file), err)
			continue
		}
		if img.Media != tc.media || img.Format != tc.format || img.UEFI != tc.uefi {
			t.Errorf("%s: %+v, want media %s, format %s, UEFI %v", filepath.Base(tc.file), img, tc.media, tc.format, tc.uefi)
		}
	}
}
