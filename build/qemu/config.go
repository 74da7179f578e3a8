package qemu

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/guest"
)

// Config describes one QEMU run. Zero fields take the documented defaults.
type Config struct {
	Arch  string // guest architecture: amd64, arm64 or s390x; default the host's
	Mem   string // guest memory as for qemu -m ("1G", "512M", "2048" = MiB); default "1G"
	CPUs  int    // virtual CPUs; default 1
	Accel string // auto, kvm or tcg; default auto (see the package doc)
	// UEFI boots through the machine's UEFI firmware (OVMF, AAVMF), which starts the kernel
	// through its EFI stub, as on EFI hardware; otherwise QEMU loads the kernel directly.
	UEFI bool
	// BIOS boots Image through the PC BIOS (SeaBIOS on amd64) whatever its name says; it
	// applies only to Image.
	BIOS bool
	// NoRNG leaves out the virtio-rng device, which otherwise feeds the guest's random pool
	// from the host, as on a hypervisor or board with no entropy source.
	NoRNG bool

	Disks []Disk // virtio block devices, in order

	// Data is user data for the guest's keel/metadata, MetaData NoCloud meta-data; DataFile
	// and MetaDataFile name files instead (used when set). DataVia says how they reach the
	// guest, one or more of:
	//   - "cidata" (default): a NoCloud CD-ROM labelled cidata with user-data and meta-data;
	//   - "cdrom": LinuxKit's CD-ROM convention, the user data as the file "config";
	//   - "fwcfg": fw_cfg files opt/org.keel/user-data and opt/org.keel/meta-data
	//     (/sys/firmware/qemu_fw_cfg/by_name/opt/org.keel/user-data/raw); not on s390x.
	// Run builds the ISO images (ISOs) and the files for Data and MetaData in a temporary
	// directory it removes after the run.
	Data         []byte
	DataFile     string
	MetaData     []byte
	MetaDataFile string
	DataVia      []string
	// ISOs are attached as CD-ROMs (virtio-scsi) in order; Run sets them for DataVia.
	ISOs []string

	NIC     string   // "none" (default) or "user": user-mode networking on virtio-net
	HostFwd []string // with NIC user: "HOST:GUEST", "udp:HOST:GUEST" (bound to 127.0.0.1) or QEMU's own "tcp:ADDR:HOST-:GUEST"

	// Image is a bootable image file (DetectImage), booted instead of Kernel and Initrd
	// through the firmware its name asks for, unless UEFI or BIOS says otherwise.
	Image *BootImage

	// AnyGuest accepts any guest that powers off: Run returns nil when QEMU exits 0 even if
	// Keel's PID 1 printed no "keel: power off" line (a LinuxKit or other image). A reboot,
	// halt or kernel panic the console shows is still an error.
	AnyGuest bool

	Kernel string // kernel image path
	Initrd string // initramfs path
	// Root is a root filesystem image (kernel+squashfs's NAME-squashfs.img), attached
	// read-only as the first virtio disk (/dev/vda, before Disks) and named on the command
	// line with guest.SquashfsCmdline; usually instead of Initrd.
	Root    string
	Cmdline string // kernel command line, without console=

	QEMU      string   // QEMU binary; default qemu-system-<machine arch> from PATH
	ExtraArgs []string // appended to the QEMU command line

	Stdin   io.Reader     // guest console input; nil: none
	Stdout  io.Writer     // guest console output; nil: discarded (Run still reads it)
	Stderr  io.Writer     // QEMU's own messages; nil: discarded (quoted in errors)
	Timeout time.Duration // if positive, Run stops QEMU after this long and returns ErrTimeout
}

// Disk is a block device attached as virtio-blk.
type Disk struct {
	Path   string // image file; created (sparse) by Run if missing
	Size   int64  // bytes; needed to create a missing file
	Format string // raw (default) or qcow2
}

// LoadImage points c at the kernel, root and command line keel build wrote for name:
// NAME-kernel, NAME-initrd.img or (with squashfs, or when there is no initramfs)
// NAME-squashfs.img, and NAME-cmdline (a missing cmdline file is an empty line).
func (c *Config) LoadImage(name string, squashfs bool) error {
	kernel, initrd, root := guest.KernelFile(name), guest.InitrdFile(name), guest.SquashfsFile(name)
	if _, err := os.Stat(kernel); err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	_, noInitrd := os.Stat(initrd)
	if !squashfs && noInitrd != nil {
		if _, err := os.Stat(root); err != nil {
			return fmt.Errorf("image %s: %w (and no %s)", name, noInitrd, filepath.Base(root))
		}
		squashfs = true
	}
	if squashfs {
		if _, err := os.Stat(root); err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		initrd = ""
	} else {
		root = ""
	}
	cmdline, err := os.ReadFile(guest.CmdlineFile(name))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("image %s: %w", name, err)
	}
	c.Kernel, c.Initrd, c.Root, c.Cmdline = kernel, initrd, root, strings.TrimSpace(string(cmdline))
	return nil
}

// hasData tells whether the guest gets user data or meta-data.
func (c Config) hasData() bool {
	return c.Data != nil || c.DataFile != "" || c.MetaData != nil || c.MetaDataFile != ""
}

// via tells whether DataVia (with its default) includes v.
func (c Config) via(v string) bool {
	if len(c.DataVia) == 0 {
		return v == "cidata"
	}
	for _, x := range c.DataVia {
		if x == v {
			return true
		}
	}
	return false
}

// withDefaults returns c with its defaults filled in and checked.
func (c Config) withDefaults() (Config, error) {
	if c.Arch == "" {
		c.Arch = runtime.GOARCH
	}
	m, err := arch.Lookup(c.Arch)
	if err != nil {
		return c, fmt.Errorf("qemu: %w", err)
	}
	if c.Mem == "" {
		c.Mem = "1G"
	}
	if c.CPUs == 0 {
		c.CPUs = 1
	}
	if c.CPUs < 0 {
		return c, fmt.Errorf("qemu: cpus %d: must be positive", c.CPUs)
	}
	if c.NIC == "" {
		c.NIC = "none"
	}
	if len(c.DataVia) == 0 {
		c.DataVia = []string{"cidata"}
	}
	seen := map[string]bool{}
	for _, v := range c.DataVia {
		if v != "cidata" && v != "cdrom" && v != "fwcfg" {
			return c, fmt.Errorf("qemu: data via %q: want cidata, cdrom or fwcfg", v)
		}
		if seen[v] {
			return c, fmt.Errorf("qemu: data via %q given twice", v)
		}
		seen[v] = true
	}
	if seen["fwcfg"] && c.hasData() && !m.FwCfg {
		return c, fmt.Errorf("qemu: data via fwcfg needs fw_cfg, which %s lacks: use cidata", m.Machine)
	}
	if seen["cdrom"] && len(seen) == 1 && (c.MetaData != nil || c.MetaDataFile != "") {
		return c, fmt.Errorf("qemu: meta-data needs data via cidata or fwcfg (LinuxKit's CD-ROM carries user data only)")
	}
	if c.NIC != "none" && c.NIC != "user" {
		return c, fmt.Errorf("qemu: nic %q: want none or user", c.NIC)
	}
	if len(c.HostFwd) > 0 && c.NIC != "user" {
		return c, fmt.Errorf("qemu: hostfwd needs nic user")
	}
	if c.Image != nil {
		if c.UEFI && c.BIOS {
			return c, fmt.Errorf("qemu: UEFI and BIOS both asked for")
		}
		if c.Kernel != "" || c.Initrd != "" {
			return c, fmt.Errorf("qemu: image %s and a kernel both given", c.Image.Path)
		}
		switch {
		case c.BIOS:
			c.UEFI = false
		case !c.UEFI:
			c.UEFI = c.Image.UEFI
		}
		if c.Image.Media == MediaKernel && !c.UEFI {
			return c, fmt.Errorf("qemu: %s is a UKI: only UEFI firmware starts it", c.Image.Path)
		}
		if !c.UEFI && !m.PCBIOS {
			return c, fmt.Errorf("qemu: %s has no PC BIOS to boot %s: try --uefi", c.Arch, c.Image.Path)
		}
	} else if c.BIOS {
		return c, fmt.Errorf("qemu: BIOS applies to image files; a kernel and initramfs boot directly")
	}
	if c.UEFI && m.UEFI == "" {
		return c, fmt.Errorf("qemu: %s has no UEFI firmware", c.Arch)
	}
	if c.Kernel == "" && c.Image == nil {
		return c, fmt.Errorf("qemu: no kernel")
	}
	for i, d := range c.Disks {
		if d.Path == "" {
			return c, fmt.Errorf("qemu: disk %d: no file", i)
		}
		if d.Format == "" {
			c.Disks[i].Format = "raw"
		} else if d.Format != "raw" && d.Format != "qcow2" {
			return c, fmt.Errorf("qemu: disk %s: format %q: want raw or qcow2", d.Path, d.Format)
		}
	}
	return c, nil
}
