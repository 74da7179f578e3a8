package qemu

import (
	"fmt"
	"strings"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/guest"
)

// The fw_cfg files that carry Config.Data and Config.MetaData with DataVia fwcfg; the guest's
// keel/metadata reads them under /sys/firmware/qemu_fw_cfg/by_name/.
const (
	FwCfgUserData = guest.FwCfgUserData
	FwCfgMetaData = guest.FwCfgMetaData
)

// Command returns the QEMU command line (argv[0] is the binary) for cfg. It touches nothing
// but, when cfg.Accel is auto, the KVM probe (see ResolveAccel). Config.Data and MetaData
// need Run, which writes them to files and builds the ISO images; Command itself uses only
// DataFile and MetaDataFile (fwcfg) and ISOs.
func Command(cfg Config) ([]string, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	accel, err := ResolveAccel(c.Accel, c.Arch)
	if err != nil {
		return nil, err
	}
	m, _ := arch.Lookup(c.Arch) // checked by withDefaults
	bin := c.QEMU
	if bin == "" {
		bin = m.QEMU
	}
	args := []string{bin}
	cpu := m.TCGCPU
	if accel == "kvm" {
		args = append(args, "-machine", m.KVMMachine, "-accel", "kvm")
		cpu = "host"
	} else {
		args = append(args, "-machine", m.Machine, "-accel", "tcg")
	}
	if cpu != "" {
		args = append(args, "-cpu", cpu)
	}
	args = append(args,
		"-smp", fmt.Sprint(c.CPUs),
		"-m", c.Mem,
		// Only the devices asked for (no VGA, CD-ROM the guest would probe, parallel port or
		// NIC); serial port 0 on stdio, multiplexed with the monitor (Ctrl-A x quits).
		"-nographic",
		"-nodefaults",
		"-serial", "mon:stdio",
		"-no-reboot",
	)
	if c.UEFI {
		args = append(args, "-bios", m.UEFI)
	}
	if c.Image != nil {
		// The image carries its own command line and console.
		args = append(args, imageArgs(c, m.Bus)...)
	} else {
		args = append(args, "-kernel", c.Kernel)
		if c.Initrd != "" {
			args = append(args, "-initrd", c.Initrd)
		}
		cmdline := c.Cmdline
		if c.Root != "" {
			cmdline = strings.TrimSpace(cmdline + " " + guest.SquashfsCmdline)
		}
		if line := kernelCmdline(cmdline, m.Console); line != "" {
			args = append(args, "-append", line)
		}
	}
	if c.Root != "" && c.Image == nil {
		// First of the virtio disks: the guest's /dev/vda.
		args = append(args,
			"-drive", fmt.Sprintf("if=none,id=root,file=%s,format=raw,readonly=on", optEscape(c.Root)),
			"-device", fmt.Sprintf("virtio-blk-%s,drive=root", m.Bus))
	}
	if !c.NoRNG {
		args = append(args, "-device", "virtio-rng-"+m.Bus)
	}
	for i, d := range c.Disks {
		id := fmt.Sprintf("disk%d", i)
		args = append(args,
			"-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=%s", id, optEscape(d.Path), d.Format),
			"-device", fmt.Sprintf("virtio-blk-%s,drive=%s", m.Bus, id))
	}
	data, err := dataArgs(c, m)
	if err != nil {
		return nil, err
	}
	args = append(args, data...)
	net, err := netArgs(c, m)
	if err != nil {
		return nil, err
	}
	args = append(args, net...)
	return append(args, c.ExtraArgs...), nil
}

// dataArgs attaches the ISO images as CD-ROMs on one virtio-scsi controller and, with
// DataVia fwcfg, the user data and meta-data files as fw_cfg files.
func dataArgs(c Config, m arch.Arch) ([]string, error) {
	if (c.Data != nil && c.DataFile == "") || (c.MetaData != nil && c.MetaDataFile == "") {
		return nil, fmt.Errorf("qemu: Config.Data and MetaData are written to files by Run; set DataFile and MetaDataFile to call Command directly")
	}
	if (c.via("cidata") || c.via("cdrom")) && c.hasData() && len(c.ISOs) == 0 {
		return nil, fmt.Errorf("qemu: Run builds the ISO images for data via cidata or cdrom; set ISOs to call Command directly")
	}
	var args []string
	if len(c.ISOs) > 0 {
		args = append(args, "-device", "virtio-scsi-"+m.Bus+",id=scsi0")
		for i, iso := range c.ISOs {
			id := fmt.Sprintf("cd%d", i)
			args = append(args,
				"-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=raw,media=cdrom,readonly=on", id, optEscape(iso)),
				"-device", fmt.Sprintf("scsi-cd,bus=scsi0.0,drive=%s", id))
		}
	}
	if c.via("fwcfg") {
		for _, f := range []struct{ name, file string }{{FwCfgUserData, c.DataFile}, {FwCfgMetaData, c.MetaDataFile}} {
			if f.file != "" {
				args = append(args, "-fw_cfg", fmt.Sprintf("name=%s,file=%s", f.name, optEscape(f.file)))
			}
		}
	}
	return args, nil
}

// kernelCmdline appends console=console to line unless its last console= already names it
// (the last one becomes /dev/console, where PID 1 prints its final line).
func kernelCmdline(line, console string) string {
	line = strings.TrimSpace(line)
	if console == "" {
		return line
	}
	last := ""
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "console="); ok {
			last = v
		}
	}
	if last == console || strings.HasPrefix(last, console+",") {
		return line
	}
	return strings.TrimSpace(line + " console=" + console)
}

func netArgs(c Config, m arch.Arch) ([]string, error) {
	if c.NIC == "none" {
		return []string{"-nic", "none"}, nil
	}
	netdev := "user,id=net0"
	for _, f := range c.HostFwd {
		rule, err := hostFwdRule(f)
		if err != nil {
			return nil, err
		}
		netdev += ",hostfwd=" + rule
	}
	dev := "virtio-net-" + m.Bus + ",netdev=net0"
	if m.Bus == "pci" {
		dev += ",romfile=" // no iPXE option ROM: -kernel boots need none
	}
	return []string{"-netdev", netdev, "-device", dev}, nil
}

// hostFwdRule turns "HOST:GUEST" or "tcp|udp:HOST:GUEST" into QEMU's
// "tcp:127.0.0.1:HOST-:GUEST"; a rule already in QEMU's form (it has a "-") is kept.
func hostFwdRule(s string) (string, error) {
	if strings.Contains(s, "-") {
		if strings.Contains(s, ",") {
			return "", fmt.Errorf("qemu: hostfwd %q: no commas allowed", s)
		}
		return s, nil
	}
	parts := strings.Split(s, ":")
	proto := "tcp"
	if len(parts) == 3 {
		proto, parts = parts[0], parts[1:]
	}
	if len(parts) != 2 || (proto != "tcp" && proto != "udp") || !isPort(parts[0]) || !isPort(parts[1]) {
		return "", fmt.Errorf("qemu: hostfwd %q: want HOST:GUEST, udp:HOST:GUEST or tcp:ADDR:HOST-:GUEST", s)
	}
	return fmt.Sprintf("%s:127.0.0.1:%s-:%s", proto, parts[0], parts[1]), nil
}

func isPort(s string) bool {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
		if n > 65535 {
			return false
		}
	}
	return s != "" && n > 0
}

// optEscape doubles commas, QEMU's escape inside an option value.
func optEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
