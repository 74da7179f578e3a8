package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/keel-os/keel/build/qemu"
)

func runCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "qemu" {
		fmt.Fprintln(stderr, "usage: keel run qemu [--arch ARCH] [--mem M] [--cpus N] [--accel auto|kvm|tcg] [--uefi|--bios] [--squashfs] [--any-guest] [--rng=false] [--disk file=PATH,size=SIZE] [--data DATA | --data-file FILE] [--metadata DATA | --metadata-file FILE] [--data-via cidata,cdrom,fwcfg] [--nic none|user] NAME|FILE")
		return errUsage
	}
	fs := newFlagSet("run qemu", stderr)
	arch := fs.String("arch", hostArch(), archUsage("guest architecture"))
	mem := fs.String("mem", "1G", "guest memory")
	cpus := fs.Int("cpus", 1, "virtual CPUs")
	accel := fs.String("accel", "auto", "accelerator: auto, kvm or tcg")
	uefi := fs.Bool("uefi", false, "boot through UEFI firmware (OVMF on amd64, AAVMF on arm64) and the kernel's EFI stub")
	bios := fs.Bool("bios", false, "boot an image file through the PC BIOS (SeaBIOS), whatever its name says")
	anyGuest := fs.Bool("any-guest", false, "succeed when any guest powers off (QEMU exits 0), not only when Keel's PID 1 prints its power-off line: for LinuxKit and other images")
	squashfs := fs.Bool("squashfs", false, "boot NAME-squashfs.img (format kernel+squashfs) as the root even if NAME-initrd.img exists")
	rng := fs.Bool("rng", true, "give the guest a virtio-rng device for its random pool (--rng=false: none)")
	var disks, hostfwd listFlag
	fs.Func("disk", "virtio disk: file=PATH[,size=SIZE][,format=raw|qcow2] (repeatable)", func(s string) error {
		disks = append(disks, s)
		return nil
	})
	var data, metadata optString
	fs.Var(&data, "data", "user data for the guest's keel/metadata (the text itself)")
	dataFile := fs.String("data-file", "", "user data for the guest, from a file")
	fs.Var(&metadata, "metadata", "NoCloud meta-data for the guest (the text itself)")
	metadataFile := fs.String("metadata-file", "", "NoCloud meta-data for the guest, from a file")
	dataVia := fs.String("data-via", "cidata", "how data reaches the guest: cidata (NoCloud CD-ROM), cdrom (LinuxKit's CD-ROM), fwcfg; comma-separated for several")
	nic := fs.String("nic", "none", "network: none or user")
	fs.Var(&hostfwd, "hostfwd", "with --nic user: HOST:GUEST port forward from 127.0.0.1 (repeatable)")
	timeout := fs.Duration("timeout", 0, "stop the guest after this long (0: never)")
	var extra argsFlag
	fs.Var(&extra, "qemu-arg", "extra qemu argument, one per flag, commas kept (repeatable)")
	names, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(names) != 1 {
		fmt.Fprintln(stderr, "keel run qemu: one image is needed: the NAME of NAME-kernel and NAME-initrd.img (or NAME-squashfs.img), or a bootable file (NAME-efi.raw, NAME-efi.iso, NAME.vhd, NAME-uki.efi, ...)")
		return errUsage
	}
	if data.set && *dataFile != "" || metadata.set && *metadataFile != "" {
		fmt.Fprintln(stderr, "keel run qemu: --data and --data-file (or --metadata and --metadata-file) exclude each other")
		return errUsage
	}
	cfg := qemu.Config{
		Arch: *arch, Mem: *mem, CPUs: *cpus, Accel: *accel, UEFI: *uefi, BIOS: *bios, AnyGuest: *anyGuest,
		NoRNG: !*rng, NIC: *nic, HostFwd: hostfwd,
		ExtraArgs: extra, Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Timeout: *timeout,
	}
	// A file is a bootable image; a name is the base of NAME-kernel and NAME-initrd.img or
	// NAME-squashfs.img.
	if st, err := os.Stat(names[0]); err == nil && !st.IsDir() {
		img, err := qemu.DetectImage(names[0])
		if err != nil {
			return err
		}
		cfg.Image = &img
	} else if err := cfg.LoadImage(names[0], *squashfs); err != nil {
		return err
	}
	for _, d := range disks {
		disk, err := qemu.ParseDisk(d)
		if err != nil {
			return err
		}
		cfg.Disks = append(cfg.Disks, disk)
	}
	if data.set {
		cfg.Data = []byte(data.value)
	}
	if metadata.set {
		cfg.MetaData = []byte(metadata.value)
	}
	cfg.DataFile, cfg.MetaDataFile = *dataFile, *metadataFile
	cfg.DataVia = strings.Split(*dataVia, ",")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	return qemu.Run(ctx, cfg)
}

// optString is a string flag that remembers whether it was given (--data "" is empty user data).
type optString struct {
	value string
	set   bool
}

func (o *optString) String() string { return o.value }

func (o *optString) Set(s string) error {
	o.value, o.set = s, true
	return nil
}
