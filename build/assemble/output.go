package assemble

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/disk"
	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/rootfs/atomicfile"
	"github.com/keel-os/keel/rootfs/initrd"
	"github.com/keel-os/keel/rootfs/squashfs"
	"github.com/keel-os/keel/rootfs/tarout"
	"github.com/keel-os/keel/rootfs/tree"
)

// WriteOptions say what to write and where.
type WriteOptions struct {
	Dir         string   // output directory
	Name        string   // base name of the files (package guest names them)
	Formats     []string // Formats(); CheckFormats vets them
	Compression initrd.Compression
	// SquashfsCompression is kernel+squashfs's (squashfs.None unless set).
	SquashfsCompression squashfs.Compression
	SBOM                []byte // if set, written as guest.SBOMFile(Name) with the other outputs

	// The bootable formats (NeedsUEFI).
	Arch     string // the target architecture: its removable-media EFI file and serial console
	EFIStub  []byte // systemd-stub for Arch (build/uki.StubPath)
	DiskSize int64  // the raw disk's size; 0: disk.DefaultSize or what the UKI needs if more
	// ISOLinux and LDLinux are isolinux.bin and ldlinux.c32, for iso-bios (NeedsISOLinux).
	ISOLinux, LDLinux []byte
	// MBR is syslinux's mbr.bin, for raw-bios and qcow2-bios (NeedsSyslinux).
	MBR []byte
}

// Write writes the outputs. Every file is written under a temporary name and all are renamed
// only once all were written, so a failed build leaves no partial output under a final name.
func Write(img *Image, opts WriteOptions) (paths []string, err error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, name := range opts.Formats {
		if _, ok := lookupFormat(name); !ok {
			return nil, fmt.Errorf("unknown output format %q (formats: %s)", name, strings.Join(Formats(), ", "))
		}
	}
	var pending []*atomicfile.File
	defer func() {
		for _, f := range pending {
			f.Close() // discards what was not committed
		}
	}()
	open := func(name string) (*atomicfile.File, string, error) {
		p := filepath.Join(opts.Dir, name)
		f, err := atomicfile.Create(p, 0o644)
		if err != nil {
			return nil, p, err
		}
		pending = append(pending, f)
		paths = append(paths, p)
		return f, p, nil
	}
	create := func(name string, write func(w io.Writer) error) error {
		f, p, err := open(name)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := write(bw); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		return nil
	}
	// createFile is create for writers that need the file itself (disk images: sparse).
	createFile := func(name string, write func(f *os.File) error) error {
		f, p, err := open(name)
		if err != nil {
			return err
		}
		if err := write(f.OSFile()); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		return nil
	}
	// The kernel and its command line, once for kernel+initrd and kernel+squashfs together.
	kernelWritten := false
	writeKernel := func() error {
		if kernelWritten {
			return nil
		}
		kernelWritten = true
		if err := create(guest.KernelFile(opts.Name), func(w io.Writer) error { _, err := w.Write(img.Kernel); return err }); err != nil {
			return err
		}
		cmdline := strings.TrimSpace(img.Cmdline) + "\n"
		return create(guest.CmdlineFile(opts.Name), func(w io.Writer) error { _, err := io.WriteString(w, cmdline); return err })
	}
	b := &boot{img: img, opts: opts}
	defer b.cleanup()
	for _, name := range opts.Formats {
		f, _ := lookupFormat(name)
		file := f.files(opts.Name)[0]
		switch name {
		case FormatKernelInitrd:
			if img.Kernel == nil {
				return nil, errors.New("format kernel+initrd needs a kernel: the YAML has no kernel image")
			}
			if err := writeKernel(); err != nil {
				return nil, err
			}
			if err := create(guest.InitrdFile(opts.Name), func(w io.Writer) error {
				if NeedsUEFI(opts.Formats) { // the UKI holds the same bytes: make them once
					data, err := b.initrd()
					if err != nil {
						return err
					}
					_, err = w.Write(data)
					return err
				}
				if _, err := w.Write(img.UCode); err != nil {
					return err
				}
				return initrd.Write(w, img.Root, initrd.Options{Compression: opts.Compression})
			}); err != nil {
				return nil, err
			}
		case FormatKernelSquashfs:
			if img.Kernel == nil {
				return nil, errors.New("format kernel+squashfs needs a kernel: the YAML has no kernel image")
			}
			if err := createFile(guest.SquashfsFile(opts.Name), func(f *os.File) error {
				return squashfs.Write(f, img.Root, squashfs.Options{Epoch: img.Epoch, Compression: opts.SquashfsCompression})
			}); err != nil {
				return nil, err
			}
			if err := writeKernel(); err != nil {
				return nil, err
			}
		case FormatTar:
			t, err := tarTree(img)
			if err != nil {
				return nil, err
			}
			if err := create(guest.TarFile(opts.Name), func(w io.Writer) error { return tarout.Write(w, t) }); err != nil {
				return nil, err
			}
		case FormatUKI:
			data, err := b.uki()
			if err != nil {
				return nil, err
			}
			if err := create(file, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return nil, err
			}
		case FormatISOEFI:
			files, err := b.espFiles()
			if err != nil {
				return nil, err
			}
			if err := createFile(file, func(f *os.File) error { return disk.WriteISO(f, disk.ISOOptions{ESP: files, Epoch: img.Epoch}) }); err != nil {
				return nil, err
			}
		case FormatISOBIOS:
			files, err := b.espFiles()
			if err != nil {
				return nil, err
			}
			if len(opts.ISOLinux) == 0 || len(opts.LDLinux) == 0 {
				return nil, errors.New("format iso-bios needs isolinux.bin and ldlinux.c32 (WriteOptions.ISOLinux, LDLinux)")
			}
			rd, err := b.initrd()
			if err != nil {
				return nil, err
			}
			a, _ := arch.Lookup(opts.Arch)
			bios := &disk.ISOLinux{
				Bin: opts.ISOLinux, LDLinux: opts.LDLinux, Kernel: img.Kernel, Initrd: rd,
				Cmdline: BootCmdline(img.Cmdline, a.Console),
			}
			if err := createFile(file, func(f *os.File) error {
				return disk.WriteISO(f, disk.ISOOptions{ESP: files, BIOS: bios, Epoch: img.Epoch})
			}); err != nil {
				return nil, err
			}
		case FormatRawEFI, FormatAWS:
			size := opts.DiskSize
			if name == FormatAWS {
				size = b.wholeGiB()
			}
			if err := b.check(); err != nil {
				return nil, err
			}
			if err := createFile(file, func(f *os.File) error { return b.writeRaw(f, size) }); err != nil {
				return nil, err
			}
		case FormatQCOW2EFI, FormatVHD, FormatVMDK:
			raw, err := b.raw(opts.DiskSize)
			if err != nil {
				return nil, err
			}
			conv := map[string]string{FormatQCOW2EFI: disk.QCOW2, FormatVHD: disk.VHD, FormatVMDK: disk.VMDK}[name]
			if err := create(file, func(w io.Writer) error {
				return disk.Convert(context.Background(), w, raw, disk.ConvertOptions{Format: conv, Epoch: img.Epoch, Name: file})
			}); err != nil {
				return nil, err
			}
		case FormatRawBIOS:
			if err := createFile(file, func(f *os.File) error { return b.writeRawBIOS(f) }); err != nil {
				return nil, err
			}
		case FormatQCOW2BIOS:
			raw, err := b.rawBIOS()
			if err != nil {
				return nil, err
			}
			if err := create(file, func(w io.Writer) error {
				return disk.Convert(context.Background(), w, raw, disk.ConvertOptions{Format: disk.QCOW2, Epoch: img.Epoch, Name: file})
			}); err != nil {
				return nil, err
			}
		case FormatGCP:
			raw, err := b.raw(b.wholeGiB())
			if err != nil {
				return nil, err
			}
			if err := create(file, func(w io.Writer) error { return disk.WriteGCP(w, raw, img.Epoch) }); err != nil {
				return nil, err
			}
		}
	}
	if opts.SBOM != nil {
		if err := create(guest.SBOMFile(opts.Name), func(w io.Writer) error { _, err := w.Write(opts.SBOM); return err }); err != nil {
			return nil, err
		}
	}
	for _, f := range pending {
		if err := f.Commit(); err != nil {
			return nil, err
		}
	}
	pending = nil
	return paths, nil
}

// Where LinuxKit's tar output puts the kernel, its command line and the microcode cpio.
const (
	tarKernel  = "boot/kernel"
	tarCmdline = "boot/cmdline"
	tarUCode   = "boot/ucode.cpio"
)

// tarTree is what the tar output holds: the root filesystem and, when there is a kernel,
// boot/kernel, boot/cmdline and boot/ucode.cpio (only with microcode) as in LinuxKit's tar
// format, so tools that turn such a tar into a kernel and an initrd find them. They replace
// what the image has at those paths. The initrd never carries them.
func tarTree(img *Image) (*tree.Tree, error) {
	if img.Kernel == nil {
		return img.Root, nil
	}
	t := img.Root.Clone() // shares file contents: cheap
	type bootFile struct {
		path string
		data []byte
	}
	files := []bootFile{{tarKernel, img.Kernel}, {tarCmdline, []byte(strings.TrimSpace(img.Cmdline))}}
	if len(img.UCode) > 0 {
		files = append(files, bootFile{tarUCode, img.UCode})
	}
	if _, err := t.Lookup("boot"); err != nil {
		if err := t.AddDir("boot", 0o755, 0, 0); err != nil {
			return nil, fmt.Errorf("tar output: %w", err)
		}
		if n, err := t.Lookup("boot"); err == nil {
			n.ModTime = img.Epoch
		}
	}
	for _, f := range files {
		if err := t.AddFile(f.path, 0o644, 0, 0, f.data); err != nil {
			return nil, fmt.Errorf("tar output: %w", err)
		}
		if n, err := t.Lookup(f.path); err == nil {
			n.ModTime = img.Epoch
		}
	}
	return t, nil
}
