package qemu

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func base(arch, accel string) Config {
	return Config{Arch: arch, Accel: accel, Kernel: "k", Initrd: "i", Cmdline: "quiet"}
}

func mustCommand(t *testing.T, cfg Config) []string {
	t.Helper()
	argv, err := Command(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

func TestCommandPerArchAndAccel(t *testing.T) {
	for _, tc := range []struct {
		arch, accel string
		want        string
	}{
		{"amd64", "tcg", "qemu-system-x86_64 -machine q35 -accel tcg -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot -kernel k -initrd i -append quiet console=ttyS0 -device virtio-rng-pci -nic none"},
		{"amd64", "kvm", "qemu-system-x86_64 -machine q35 -accel kvm -cpu host -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot -kernel k -initrd i -append quiet console=ttyS0 -device virtio-rng-pci -nic none"},
		{"arm64", "tcg", "qemu-system-aarch64 -machine virt -accel tcg -cpu max -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot -kernel k -initrd i -append quiet console=ttyAMA0 -device virtio-rng-pci -nic none"},
		{"arm64", "kvm", "qemu-system-aarch64 -machine virt,gic-version=host -accel kvm -cpu host -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot -kernel k -initrd i -append quiet console=ttyAMA0 -device virtio-rng-pci -nic none"},
		{"s390x", "tcg", "qemu-system-s390x -machine s390-ccw-virtio -accel tcg -cpu max -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot -kernel k -initrd i -append quiet console=ttysclp0 -device virtio-rng-ccw -nic none"},
		{"s390x", "kvm", "qemu-system-s390x -machine s390-ccw-virtio -accel kvm -cpu host -smp 1 -m 1G -nographic -nodefaults -serial mon:stdio -no-reboot -kernel k -initrd i -append quiet console=ttysclp0 -device virtio-rng-ccw -nic none"},
	} {
		t.Run(tc.arch+"/"+tc.accel, func(t *testing.T) {
			argv := mustCommand(t, base(tc.arch, tc.accel))
			// -append's value holds spaces: compare it separately.
			i := slices.Index(argv, "-append")
			if i < 0 {
				t.Fatalf("no -append in %q", argv)
			}
			if got := strings.Join(argv, " "); got != tc.want {
				t.Errorf("argv =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestCommandBootsThroughUEFIFirmwareWhenAsked(t *testing.T) {
	for arch, fw := range map[string]string{"amd64": "/usr/share/ovmf/OVMF.fd", "arm64": "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"} {
		cfg := base(arch, "tcg")
		cfg.UEFI = true
		argv := strings.Join(mustCommand(t, cfg), " ")
		if !strings.Contains(argv, " -bios "+fw+" -kernel k ") {
			t.Errorf("%s: argv %q lacks -bios %s before -kernel", arch, argv, fw)
		}
	}
}

func TestCommandLeavesOutTheRNGDeviceWhenAsked(t *testing.T) {
	for _, arch := range []string{"amd64", "s390x"} {
		cfg := base(arch, "tcg")
		if argv := strings.Join(mustCommand(t, cfg), " "); !strings.Contains(argv, "-device virtio-rng-") {
			t.Errorf("%s: no virtio-rng device by default: %s", arch, argv)
		}
		cfg.NoRNG = true
		if argv := strings.Join(mustCommand(t, cfg), " "); strings.Contains(argv, "rng") {
			t.Errorf("%s: NoRNG still has an RNG device: %s", arch, argv)
		}
	}
}

func TestCommandSetsMemCPUsQEMUAndExtraArgs(t *testing.T) {
	cfg := base("amd64", "tcg")
	cfg.Mem, cfg.CPUs, cfg.QEMU, cfg.ExtraArgs = "2048", 2, "/opt/qemu", []string{"-s"}
	argv := mustCommand(t, cfg)
	got := strings.Join(argv, " ")
	for _, want := range []string{"/opt/qemu -machine", "-smp 2 -m 2048", "-nic none -s"} {
		if !strings.Contains(got, want) {
			t.Errorf("argv %q lacks %q", got, want)
		}
	}
	if argv[len(argv)-1] != "-s" {
		t.Errorf("extra args not last: %q", argv)
	}
}

func TestCommandAttachesDisksAsVirtioBlk(t *testing.T) {
	cfg := base("amd64", "tcg")
	cfg.Disks = []Disk{{Path: "/d/a,b.img", Format: "raw"}, {Path: "/d/c.qcow2", Format: "qcow2"}}
	got := strings.Join(mustCommand(t, cfg), " ")
	for _, want := range []string{
		"-drive if=none,id=disk0,file=/d/a,,b.img,format=raw -device virtio-blk-pci,drive=disk0",
		"-drive if=none,id=disk1,file=/d/c.qcow2,format=qcow2 -device virtio-blk-pci,drive=disk1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("argv %q lacks %q", got, want)
		}
	}
	cfg = base("s390x", "tcg")
	cfg.Disks = []Disk{{Path: "/d/a.img"}}
	if got := strings.Join(mustCommand(t, cfg), " "); !strings.Contains(got, "-device virtio-blk-ccw,drive=disk0") || !strings.Contains(got, "format=raw") {
		t.Errorf("s390x argv %q lacks a raw virtio-blk-ccw disk", got)
	}
}

func TestCommandAttachesASquashfsRootAsTheFirstDiskAndNamesItOnTheCmdline(t *testing.T) {
	for _, a := range []string{"amd64", "s390x"} {
		cfg := base(a, "tcg")
		cfg.Initrd, cfg.Root = "", "/o/keel-squashfs.img"
		cfg.Disks = []Disk{{Path: "/d/data.img", Format: "raw"}}
		argv := mustCommand(t, cfg)
		got := strings.Join(argv, " ")
		root := strings.Index(got, "id=root,file=/o/keel-squashfs.img,format=raw,readonly=on")
		if root < 0 || strings.Index(got, "id=disk0") < root {
			t.Errorf("%s: argv %q lacks the root drive before disk0", a, got)
		}
		if strings.Contains(got, "-initrd") {
			t.Errorf("%s: argv %q has an initrd", a, got)
		}
		i := slices.Index(argv, "-append")
		if i < 0 || !strings.HasPrefix(argv[i+1], "quiet root=/dev/vda rootfstype=squashfs ro console=") {
			t.Errorf("%s: argv %q: cmdline does not name the root", a, got)
		}
	}
}

func TestCommandPassesDataAndMetaDataThroughFwCfg(t *testing.T) {
	cfg := base("arm64", "tcg")
	cfg.DataVia = []string{"fwcfg"}
	cfg.DataFile, cfg.MetaDataFile = "/tmp/user,data", "/tmp/meta"
	got := strings.Join(mustCommand(t, cfg), " ")
	if !strings.Contains(got, "-fw_cfg name=opt/org.keel/user-data,file=/tmp/user,,data -fw_cfg name=opt/org.keel/meta-data,file=/tmp/meta") {
		t.Errorf("argv %q lacks the fw_cfg user-data and meta-data", got)
	}
	if strings.Contains(got, "scsi") {
		t.Errorf("fwcfg alone attaches a CD-ROM: %q", got)
	}
	cfg = base("s390x", "tcg")
	cfg.DataVia = []string{"fwcfg"}
	cfg.DataFile = "/tmp/u"
	if _, err := Command(cfg); err == nil || !strings.Contains(err.Error(), "fw_cfg") {
		t.Errorf("s390x data: err = %v, want an fw_cfg error", err)
	}
	cfg = base("amd64", "tcg")
	cfg.DataVia = []string{"fwcfg"}
	cfg.Data = []byte("x")
	if _, err := Command(cfg); err == nil {
		t.Errorf("Data without DataFile: want an error from Command")
	}
}

func TestCommandAttachesTheISOsAsVirtioSCSICDROMs(t *testing.T) {
	for arch, bus := range map[string]string{"amd64": "pci", "s390x": "ccw"} {
		cfg := base(arch, "tcg")
		cfg.DataFile = "/tmp/u"
		cfg.DataVia = []string{"cidata", "cdrom"}
		cfg.ISOs = []string{"/t/cidata.iso", "/t/con,fig.iso"}
		got := strings.Join(mustCommand(t, cfg), " ")
		want := "-device virtio-scsi-" + bus + ",id=scsi0" +
			" -drive if=none,id=cd0,file=/t/cidata.iso,format=raw,media=cdrom,readonly=on -device scsi-cd,bus=scsi0.0,drive=cd0" +
			" -drive if=none,id=cd1,file=/t/con,,fig.iso,format=raw,media=cdrom,readonly=on -device scsi-cd,bus=scsi0.0,drive=cd1 -nic none"
		if !strings.Contains(got, want) {
			t.Errorf("%s: argv\n%s\nlacks\n%s", arch, got, want)
		}
		if strings.Contains(got, "fw_cfg") {
			t.Errorf("%s: cidata passes fw_cfg too: %s", arch, got)
		}
	}
}

func TestCommandNeedsRunToBuildTheISO(t *testing.T) {
	cfg := base("amd64", "tcg")
	cfg.DataFile = "/tmp/u" // default via: cidata
	if _, err := Command(cfg); err == nil || !strings.Contains(err.Error(), "ISOs") {
		t.Errorf("err = %v, want one naming ISOs", err)
	}
}

func TestDataViaIsChecked(t *testing.T) {
	for _, tc := range []struct {
		via  []string
		meta bool
		want string
	}{
		{[]string{"floppy"}, false, "want cidata, cdrom or fwcfg"},
		{[]string{"fwcfg", "fwcfg"}, false, "twice"},
		{[]string{"cdrom"}, true, "meta-data needs"},
	} {
		cfg := base("amd64", "tcg")
		cfg.DataVia, cfg.DataFile = tc.via, "/tmp/u"
		if tc.meta {
			cfg.MetaDataFile = "/tmp/m"
		}
		if _, err := Command(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.via, err, tc.want)
		}
	}
}

func TestCommandUserNetworkingWithoutOptionROM(t *testing.T) {
	cfg := base("amd64", "tcg")
	cfg.NIC = "user"
	cfg.HostFwd = []string{"2222:22", "udp:5353:53", "tcp:0.0.0.0:8080-:80"}
	argv := mustCommand(t, cfg)
	got := strings.Join(argv, " ")
	want := "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.1:5353-:53,hostfwd=tcp:0.0.0.0:8080-:80 -device virtio-net-pci,netdev=net0,romfile="
	if !strings.Contains(got, want) {
		t.Errorf("argv %q lacks %q", got, want)
	}
	if slices.Contains(argv, "-nic") {
		t.Errorf("argv %q has -nic with user networking", got)
	}
	cfg = base("s390x", "tcg")
	cfg.NIC = "user"
	if got := strings.Join(mustCommand(t, cfg), " "); !strings.HasSuffix(got, "-netdev user,id=net0 -device virtio-net-ccw,netdev=net0") {
		t.Errorf("s390x argv %q lacks virtio-net-ccw", got)
	}
}

func TestCommandRejectsBadConfig(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"arch":           func(c *Config) { c.Arch = "mips" },
		"accel":          func(c *Config) { c.Accel = "hvf" },
		"nic":            func(c *Config) { c.NIC = "tap" },
		"hostfwd no nic": func(c *Config) { c.HostFwd = []string{"1:2"} },
		"hostfwd form":   func(c *Config) { c.NIC, c.HostFwd = "user", []string{"ssh"} },
		"hostfwd port":   func(c *Config) { c.NIC, c.HostFwd = "user", []string{"70000:22"} },
		"no kernel":      func(c *Config) { c.Kernel = "" },
		"disk format":    func(c *Config) { c.Disks = []Disk{{Path: "x", Format: "vmdk"}} },
		"disk path":      func(c *Config) { c.Disks = []Disk{{Format: "raw"}} },
		"cpus":           func(c *Config) { c.CPUs = -1 },
		"uefi on s390x":  func(c *Config) { c.Arch, c.UEFI = "s390x", true },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base("amd64", "tcg")
			mod(&cfg)
			if argv, err := Command(cfg); err == nil {
				t.Errorf("Command = %q, want an error", argv)
			}
		})
	}
}

func TestKernelCmdlineAppendsConsoleUnlessLastConsoleIsIt(t *testing.T) {
	for _, tc := range []struct{ line, console, want string }{
		{"", "ttyS0", "console=ttyS0"},
		{"quiet", "ttyS0", "quiet console=ttyS0"},
		{"console=ttyS0 quiet", "ttyS0", "console=ttyS0 quiet"},
		{"console=ttyS0,115200", "ttyS0", "console=ttyS0,115200"},
		{"console=ttyS0 console=tty0", "ttyS0", "console=ttyS0 console=tty0 console=ttyS0"},
		{" quiet ", "", "quiet"},
	} {
		if got := kernelCmdline(tc.line, tc.console); got != tc.want {
			t.Errorf("kernelCmdline(%q, %q) = %q, want %q", tc.line, tc.console, got, tc.want)
		}
	}
}

func TestResolveAccelAutoUsesKVMOnlyWhenUsable(t *testing.T) {
	usable := func(string) error { return nil }
	broken := func(string) error { return errors.New("no") }
	for _, tc := range []struct {
		accel, env string
		check      func(string) error
		want       string
	}{
		{"auto", "", usable, "kvm"},
		{"", "", broken, "tcg"},
		{"auto", "tcg", usable, "tcg"},
		{"auto", "kvm", broken, "kvm"},
		{"tcg", "kvm", usable, "tcg"},
		{"kvm", "", broken, "kvm"},
	} {
		got, err := resolveAccel(tc.accel, "amd64", tc.env, tc.check)
		if err != nil || got != tc.want {
			t.Errorf("resolveAccel(%q, env %q) = %q, %v; want %q", tc.accel, tc.env, got, err, tc.want)
		}
	}
	if _, err := resolveAccel("auto", "amd64", "fast", usable); err == nil {
		t.Errorf("bad %s: want an error", AccelEnv)
	}
}

func TestKVMUsableRefusesCrossArchGuests(t *testing.T) {
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	if err := KVMUsable(other); err == nil || !strings.Contains(err.Error(), "not the host's") {
		t.Errorf("KVMUsable(%s) on a %s host = %v, want a cross-arch error", other, runtime.GOARCH, err)
	}
}
