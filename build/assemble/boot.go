package assemble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/disk"
	"github.com/keel-os/keel/build/uki"
	"github.com/keel-os/keel/rootfs/initrd"
)

// boot makes the bootable outputs' parts once per Write: the UKI, and raw disks for the
// formats converted from one (kept in a temporary directory under the output directory).
type boot struct {
	img  *Image
	opts WriteOptions

	rd      []byte // UCode and the initramfs, once made
	ukiData []byte
	ukiErr  error
	ukiDone bool
	tmp     string           // temporary directory of raw disks
	raws    map[int64]string // raw EFI disk by size
	biosRaw string           // raw BIOS disk, once made
}

// check reports what a bootable format lacks before anything is written.
func (b *boot) check() error {
	if b.img.Kernel == nil {
		return errors.New("the bootable formats need a kernel: the YAML has no kernel image")
	}
	a, err := arch.Lookup(b.opts.Arch)
	if err != nil {
		return err
	}
	if a.UEFIBoot == "" {
		return fmt.Errorf("%s has no UEFI firmware to boot a UKI", a.Name)
	}
	if len(b.opts.EFIStub) == 0 {
		return errors.New("the bootable formats need systemd-stub (WriteOptions.EFIStub)")
	}
	return nil
}

// uki returns the Unified Kernel Image: the kernel, microcode and initramfs, the command
// line with the serial console, os-release and the kernel's release.
func (b *boot) uki() ([]byte, error) {
	if b.ukiDone {
		return b.ukiData, b.ukiErr
	}
	b.ukiDone = true
	if b.ukiErr = b.check(); b.ukiErr != nil {
		return nil, b.ukiErr
	}
	a, _ := arch.Lookup(b.opts.Arch)
	rd, err := b.initrd()
	if err != nil {
		b.ukiErr = fmt.Errorf("uki: initramfs: %w", err)
		return nil, b.ukiErr
	}
	b.ukiData, b.ukiErr = uki.Build(uki.Inputs{
		Stub: b.opts.EFIStub, Kernel: b.img.Kernel, Initrd: rd,
		Cmdline:   BootCmdline(b.img.Cmdline, a.Console),
		OSRelease: b.osRelease(), Uname: b.uname(),
	})
	return b.ukiData, b.ukiErr
}

// initrd returns the microcode and the compressed initramfs, made once.
func (b *boot) initrd() ([]byte, error) {
	if b.rd != nil {
		return b.rd, nil
	}
	var rd bytes.Buffer
	rd.Write(b.img.UCode)
	if err := initrd.Write(&rd, b.img.Root, initrd.Options{Compression: b.opts.Compression}); err != nil {
		return nil, err
	}
	b.rd = rd.Bytes()
	return b.rd, nil
}

// BootCmdline is the command line a bootable image carries: line with the serial console
// last (the last console= becomes /dev/console, where PID 1 prints), and the screen's
// (tty0) before it when line names no console at all. QEMU's direct kernel boot adds the
// serial console at run time; firmware that boots the image adds nothing.
func BootCmdline(line, console string) string {
	fields := strings.Fields(line)
	last := ""
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "console="); ok {
			last = v
		}
	}
	if last == "" {
		fields = append(fields, "console=tty0")
	}
	if last != console && !strings.HasPrefix(last, console+",") {
		fields = append(fields, "console="+console)
	}
	return strings.Join(fields, " ")
}

// osRelease is the image's /etc/os-release if it has one, else one naming Keel and the
// image.
func (b *boot) osRelease() string {
	if n, err := b.img.Root.Lookup("etc/os-release"); err == nil && n.IsRegular() {
		return string(n.Data)
	}
	return fmt.Sprintf("NAME=Keel\nID=keel\nPRETTY_NAME=\"Keel %s\"\nIMAGE_ID=%s\n", b.opts.Name, quoteOSRelease(b.opts.Name))
}

func quoteOSRelease(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(s) + `"`
		}
	}
	return s
}

// uname is the kernel's release: the one directory in /lib/modules, if there is one.
func (b *boot) uname() string {
	n, err := b.img.Root.Lookup("lib/modules")
	if err != nil || !n.IsDir() {
		return ""
	}
	if names := n.Names(); len(names) == 1 {
		return names[0]
	}
	return ""
}

// espFiles are the files of the EFI system partition: the UKI at the removable-media path.
func (b *boot) espFiles() ([]disk.File, error) {
	data, err := b.uki()
	if err != nil {
		return nil, err
	}
	a, _ := arch.Lookup(b.opts.Arch)
	return []disk.File{{Path: "EFI/BOOT/" + a.UEFIBoot, Data: data}}, nil
}

// writeRaw writes the raw EFI disk of size bytes (0: the default) to f.
func (b *boot) writeRaw(f *os.File, size int64) error {
	files, err := b.espFiles()
	if err != nil {
		return err
	}
	return disk.WriteRawEFI(f, files, disk.EFIOptions{Size: size, Epoch: b.img.Epoch})
}

// wholeGiB is the disk size rounded up to whole GiB, as clouds want.
func (b *boot) wholeGiB() int64 {
	size := b.opts.DiskSize
	if size == 0 {
		size = disk.DefaultSize
		if files, err := b.espFiles(); err == nil {
			size = max(size, disk.MinSize(files))
		}
	}
	return (size + disk.GCPAlign - 1) / disk.GCPAlign * disk.GCPAlign
}

// raw returns the path of a temporary raw EFI disk of size bytes.
func (b *boot) raw(size int64) (string, error) {
	if p, ok := b.raws[size]; ok {
		return p, nil
	}
	p, err := b.tempDisk(func(f *os.File) error { return b.writeRaw(f, size) })
	if err != nil {
		return "", err
	}
	b.raws[size] = p
	return p, nil
}

// writeRawBIOS writes the raw BIOS disk (disk.WriteRawBIOS) to f.
func (b *boot) writeRawBIOS(f *os.File) error {
	if b.img.Kernel == nil {
		return errors.New("the bootable formats need a kernel: the YAML has no kernel image")
	}
	if len(b.opts.MBR) == 0 {
		return errors.New("the BIOS disk formats need syslinux's mbr.bin (WriteOptions.MBR)")
	}
	a, err := arch.Lookup(b.opts.Arch)
	if err != nil {
		return err
	}
	rd, err := b.initrd()
	if err != nil {
		return err
	}
	return disk.WriteRawBIOS(context.Background(), f, disk.BIOSOptions{
		Size: b.opts.DiskSize, MBR: b.opts.MBR, Kernel: b.img.Kernel, Initrd: rd,
		Cmdline: BootCmdline(b.img.Cmdline, a.Console), Epoch: b.img.Epoch,
	})
}

// rawBIOS returns the path of a temporary raw BIOS disk.
func (b *boot) rawBIOS() (string, error) {
	if b.biosRaw != "" {
		return b.biosRaw, nil
	}
	p, err := b.tempDisk(b.writeRawBIOS)
	if err != nil {
		return "", err
	}
	b.biosRaw = p
	return p, nil
}

// tempDisk writes a disk with write to a new file in the temporary directory.
func (b *boot) tempDisk(write func(f *os.File) error) (string, error) {
	if b.tmp == "" {
		dir, err := os.MkdirTemp(b.opts.Dir, ".keel-disk-")
		if err != nil {
			return "", err
		}
		b.tmp, b.raws = dir, map[int64]string{}
	}
	f, err := os.CreateTemp(b.tmp, "raw-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := write(f); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

func (b *boot) cleanup() {
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
}
