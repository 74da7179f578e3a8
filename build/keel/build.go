package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/assemble"
	"github.com/keel-os/keel/build/disk"
	"github.com/keel-os/keel/build/ocispec"
	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/build/qemu"
	"github.com/keel-os/keel/build/sbom"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/build/uki"
	"github.com/keel-os/keel/rootfs/image"
	"github.com/keel-os/keel/rootfs/initrd"
	"github.com/keel-os/keel/rootfs/squashfs"
	"github.com/keel-os/keel/rootfs/tree"
)

type v1Image = v1.Image

func buildCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("build", stderr)
	out := fs.String("o", ".", "output directory")
	fs.StringVar(out, "dir", ".", "output directory (same as -o)")
	arch := fs.String("arch", hostArch(), archUsage("target architecture"))
	var formats, insecure listFlag
	fs.Var(&formats, "format", "outputs, comma-separated: "+strings.Join(assemble.Formats(), ", ")+" (default kernel+initrd; docs/formats.md)")
	size := fs.String("size", "", "size of the disk formats (raw-efi, raw-bios and those made from them; default 256M, or what the files need if more; gcp and aws round up to GiB): the space after the boot partition is left free")
	name := fs.String("name", "", "output base name (default: the first YAML file's name)")
	sqCompress := fs.String("squashfs-compress", "none", "kernel+squashfs root compression: none (the default: boots fastest) or zstd (a third of the size)")
	compress := fs.String("compress", "zstd", "initrd compression: zstd (the default), zstd-max (12% smaller, needs the zstd command, ~35 s), zstd-fast (quicker builds), gzip or none")
	fs.Var(&insecure, "insecure-registry", "registry host spoken to over plain HTTP (repeatable)")
	cacheDir := cacheFlag(fs)
	offline := fs.Bool("offline", false, "use only the local store and the cache")
	maxFile := fs.String("max-file-size", "256M", "largest file an image layer may hold once unpacked")
	maxImage := fs.String("max-image-size", "2G", "largest an image may be once unpacked, all its layers together")
	strict := fs.Bool("strict-labels", false, "refuse host privileges that only an image label grants (also the YAML's strict: true)")
	noSubstitute := fs.Bool("no-substitute", false, "pull LinuxKit's system images (linuxkit/init, getty, ...) as written instead of Keel's packages")
	withSBOM := fs.Bool("sbom", false, "also write NAME.spdx.json, an SPDX 2.3 SBOM: images, Go modules, Debian packages")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: keel build [-o DIR] [--arch ARCH] [--format kernel+initrd,tar,uki,raw-efi,...] [--size SIZE] [--name N] [--sbom] [--no-substitute] a.yml [b.yml...]")
		return errUsage
	}
	if len(formats) == 0 {
		formats = listFlag{assemble.FormatKernelInitrd}
	}
	if err := assemble.CheckFormats(formats, image.NormalizeArch(*arch)); err != nil {
		return err
	}
	if assemble.NeedsSyslinux(formats) {
		if _, err := exec.LookPath(disk.Syslinux); err != nil {
			return fmt.Errorf("formats raw-bios and qcow2-bios need the %s installer (Debian's syslinux and mtools): %w", disk.Syslinux, err)
		}
	}
	if slices.Contains(formats, assemble.FormatKernelSquashfs) {
		if _, err := exec.LookPath(squashfs.Command); err != nil {
			return fmt.Errorf("format kernel+squashfs needs %s (Debian's squashfs-tools): %w", squashfs.Command, err)
		}
	}
	var diskSize int64
	if *size != "" {
		if diskSize, err = qemu.ParseSize(*size); err != nil {
			return fmt.Errorf("--size: %w", err)
		}
		if diskSize <= 0 || diskSize%512 != 0 {
			return fmt.Errorf("--size %s: want a positive multiple of 512 bytes", *size)
		}
		if !assemble.HasDisk(formats) {
			return fmt.Errorf("--size %s: none of the formats %s is a disk", *size, strings.Join(formats, ","))
		}
	}
	comp, err := initrd.ParseCompression(*compress)
	if err != nil {
		return err
	}
	sqComp, err := squashfs.ParseCompression(*sqCompress)
	if err != nil {
		return fmt.Errorf("--squashfs-compress: %w", err)
	}
	var unpack []tree.Option
	for _, l := range []struct {
		flag, value string
		opt         func(int64) tree.Option
	}{{"max-file-size", *maxFile, tree.MaxFileSize}, {"max-image-size", *maxImage, tree.MaxImageSize}} {
		n, err := qemu.ParseSize(l.value)
		if err != nil {
			return fmt.Errorf("--%s: %w", l.flag, err)
		}
		unpack = append(unpack, l.opt(n))
	}
	if *name == "" {
		base := filepath.Base(files[0])
		*name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	cfg, err := spec.ParseFile(files...)
	if err != nil {
		return err
	}
	epoch, err := tree.Epoch()
	if err != nil {
		return err
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	ropts := image.Options{CacheDir: cache, InsecureRegistries: insecure, Offline: *offline}
	logf := func(string, ...any) {}
	if isTerminal(stdout) {
		ropts.Progress = image.TextProgress(stdout)
		logf = func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	}
	ropts.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "keel build: "+format+"\n", args...) }
	resolver, err := image.NewResolver(ropts)
	if err != nil {
		return err
	}
	if !*noSubstitute {
		substituteRefs(cfg, stderr, "build")
	}
	if err := resolvePkgRefs(cfg, resolver.Store(), image.NormalizeArch(*arch)); err != nil {
		return err
	}
	var stub, isolinux, ldlinux []byte
	if assemble.NeedsUEFI(formats) {
		if stub, err = efiStub(context.Background(), image.NormalizeArch(*arch), cache); err != nil {
			return err
		}
	}
	if assemble.NeedsISOLinux(formats) {
		if isolinux, ldlinux, err = isolinuxFiles(context.Background(), image.NormalizeArch(*arch), cache); err != nil {
			return err
		}
	}
	var mbr []byte
	if assemble.NeedsSyslinux(formats) {
		if mbr, _, err = pkg.DebFile(context.Background(), ldlinuxPackage, image.NormalizeArch(*arch), cache, syslinuxMBR); err != nil {
			return err
		}
	}
	start := time.Now()
	var privileges []ocispec.Report
	img, err := assemble.Assemble(context.Background(), cfg, assemble.Options{
		Arch: image.NormalizeArch(*arch), Resolver: resolver, Epoch: epoch, Logf: logf, Unpack: unpack,
		Strict: *strict, Privileges: func(r ocispec.Report) { privileges = append(privileges, r) },
	})
	if errors.Is(err, tree.ErrTooLarge) {
		return fmt.Errorf("%w (limits: --max-file-size %s, --max-image-size %s)", err, *maxFile, *maxImage)
	}
	if err != nil {
		return err
	}
	if err := ocispec.WriteReports(stderr, privileges); err != nil {
		return err
	}
	wopts := assemble.WriteOptions{
		Dir: *out, Name: *name, Formats: formats, Compression: comp, SquashfsCompression: sqComp,
		Arch: image.NormalizeArch(*arch), EFIStub: stub, DiskSize: diskSize,
		ISOLinux: isolinux, LDLinux: ldlinux, MBR: mbr,
	}
	if *withSBOM {
		if wopts.SBOM, err = sbom.Generate(img.Sources, sbom.Options{Name: *name, Arch: image.NormalizeArch(*arch), Created: epoch}); err != nil {
			return err
		}
	}
	logf("compressing")
	paths, err := assemble.Write(img, wopts)
	if err != nil {
		return err
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %d bytes\n", p, st.Size())
	}
	logf("built in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

// efiStub returns systemd-stub for the target arch from Debian's systemd-boot-efi, fetched
// into the cache the first time.
func efiStub(ctx context.Context, archName, cache string) ([]byte, error) {
	a, err := arch.Lookup(archName)
	if err != nil {
		return nil, err
	}
	p, err := uki.StubPath(a.UEFIBoot)
	if err != nil {
		return nil, err
	}
	data, _, err := pkg.DebFile(ctx, uki.StubPackage, a.Name, cache, p)
	return data, err
}

// Where Debian keeps isolinux's boot image and its core module.
const (
	isolinuxPackage = "isolinux"
	isolinuxBin     = "usr/lib/ISOLINUX/isolinux.bin"
	ldlinuxPackage  = "syslinux-common"
	ldlinuxC32      = "usr/lib/syslinux/modules/bios/ldlinux.c32"
	syslinuxMBR     = "usr/lib/syslinux/mbr/mbr.bin"
)

// isolinuxFiles returns isolinux.bin and ldlinux.c32 from Debian's isolinux and
// syslinux-common (architecture all), fetched into the cache the first time.
func isolinuxFiles(ctx context.Context, archName, cache string) (bin, ld []byte, err error) {
	if bin, _, err = pkg.DebFile(ctx, isolinuxPackage, archName, cache, isolinuxBin); err != nil {
		return nil, nil, err
	}
	if ld, _, err = pkg.DebFile(ctx, ldlinuxPackage, archName, cache, ldlinuxC32); err != nil {
		return nil, nil, err
	}
	return bin, ld, nil
}
