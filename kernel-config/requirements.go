package kernelconfig

import (
	"strconv"
	"strings"
)

// List names a list of requirements.
type List string

// The requirement lists Check applies.
const (
	// Container is what a container system needs: the symbols moby's
	// contrib/check-config.sh lists as "Generally Necessary" for a modern kernel, and what
	// Keel's init, runc and containerd use.
	Container List = "container"
	// Hardening is what LinuxKit's KSPP kernel-config test asks for, and what Keel adds: a
	// panic reboots, SysRq cannot signal or dump, the kernel log is for CAP_SYSLOG alone.
	Hardening List = "hardening"
)

// Requirement is one symbol a kernel config must, or must not, have.
type Requirement struct {
	List List
	// Symbols is the symbol (with its CONFIG_ prefix) followed by older names for it; a
	// config that sets any one of them satisfies an on-requirement.
	Symbols []string
	// Off requires the symbol to be n or absent, under every name.
	Off bool
	// Module accepts m as well as y: the feature also works as a module the kernel loads on
	// demand (Keel's init is the kernel's modprobe). Otherwise only y will do.
	Module bool
	// Accept, if set, decides instead of y, m or n: it is given the symbol's value ("" when
	// absent), Wants says what it accepts and Example is a value it accepts.
	Accept  func(value string) bool
	Wants   string
	Example string
	// Arches restricts the requirement to these architectures; nil means all.
	Arches []string
	// Why says what the symbol is for.
	Why string
}

// Name is the requirement's symbol, with its older names: "CONFIG_A (or CONFIG_B)".
func (r Requirement) Name() string {
	if len(r.Symbols) < 2 {
		return strings.Join(r.Symbols, "")
	}
	return r.Symbols[0] + " (or " + strings.Join(r.Symbols[1:], ", ") + ")"
}

// Want is the value the requirement accepts: "y", "y or m", or "n or absent".
func (r Requirement) Want() string {
	switch {
	case r.Accept != nil:
		return r.Wants
	case r.Off:
		return "n or absent"
	case r.Module:
		return "y or m"
	}
	return "y"
}

// Satisfying is a value of the requirement's first symbol that meets it: "n" for an
// off-requirement, "y" or Example otherwise.
func (r Requirement) Satisfying() string {
	switch {
	case r.Accept != nil:
		return r.Example
	case r.Off:
		return "n"
	}
	return "y"
}

// AppliesTo reports whether the requirement is checked on arch.
func (r Requirement) AppliesTo(arch string) bool {
	if r.Arches == nil {
		return true
	}
	for _, a := range r.Arches {
		if a == arch {
			return true
		}
	}
	return false
}

// Requirements returns both lists: Container, then Hardening.
func Requirements() []Requirement {
	return append(ContainerRequirements(), HardeningRequirements()...)
}

// ContainerRequirements returns the Container list. Modules are accepted for network
// devices, netfilter and overlayfs, which the kernel loads on first use; namespaces,
// cgroups, seccomp and the filesystems and syscalls PID 1 needs must be built in.
func ContainerRequirements() []Requirement {
	y := func(sym, why string) Requirement {
		return Requirement{List: Container, Symbols: []string{"CONFIG_" + sym}, Why: why}
	}
	m := func(sym, why string) Requirement {
		r := y(sym, why)
		r.Module = true
		return r
	}
	return []Requirement{
		// moby contrib/check-config.sh, "Generally Necessary".
		y("NAMESPACES", "namespaces"),
		y("NET_NS", "network namespaces"),
		y("PID_NS", "PID namespaces"),
		y("IPC_NS", "IPC namespaces"),
		y("UTS_NS", "UTS (hostname) namespaces"),
		y("CGROUPS", "control groups"),
		y("CGROUP_CPUACCT", "CPU accounting controller"),
		y("CGROUP_DEVICE", "device controller"),
		y("CGROUP_FREEZER", "freezer controller (pause)"),
		y("CGROUP_SCHED", "CPU controller"),
		y("CPUSETS", "cpuset controller"),
		y("MEMCG", "memory controller"),
		y("KEYS", "kernel keyrings (session keyring per container)"),
		m("VETH", "veth pairs into container network namespaces"),
		m("BRIDGE", "the bridge containers attach to"),
		m("BRIDGE_NETFILTER", "iptables on bridged traffic"),
		m("IP_NF_FILTER", "iptables filter table"),
		m("IP_NF_MANGLE", "iptables mangle table"),
		m("IP_NF_TARGET_MASQUERADE", "iptables MASQUERADE for outgoing container traffic"),
		m("IP6_NF_FILTER", "ip6tables filter table"),
		m("IP6_NF_MANGLE", "ip6tables mangle table"),
		m("IP6_NF_TARGET_MASQUERADE", "ip6tables MASQUERADE"),
		m("NETFILTER_XT_MATCH_ADDRTYPE", "iptables addrtype match (port publishing)"),
		m("NETFILTER_XT_MATCH_CONNTRACK", "iptables conntrack match"),
		m("NETFILTER_XT_MATCH_IPVS", "iptables ipvs match (service load balancing)"),
		m("NETFILTER_XT_MARK", "iptables MARK target and mark match"),
		m("IP_NF_RAW", "iptables raw table"),
		m("IP_NF_NAT", "iptables nat table"),
		m("NF_NAT", "network address translation"),
		m("IP6_NF_RAW", "ip6tables raw table"),
		m("IP6_NF_NAT", "ip6tables nat table"),
		y("POSIX_MQUEUE", "POSIX message queues (/dev/mqueue in containers)"),
		y("CGROUP_BPF", "cgroup v2 device control through BPF (runc)"),
		// Keel's own needs: runc and containerd, and what PID 1 mounts and calls.
		y("USER_NS", "user namespaces"),
		y("SECCOMP", "seccomp"),
		y("SECCOMP_FILTER", "seccomp BPF filters (runc's default profile)"),
		y("CGROUP_PIDS", "pids controller"),
		m("OVERLAY_FS", "overlay filesystem (containerd snapshots)"),
		y("BLK_DEV_INITRD", "the initramfs Keel boots from"),
		y("DEVTMPFS", "devtmpfs on /dev"),
		y("TMPFS", "tmpfs on /run, /tmp, /var and /dev/shm"),
		y("SHMEM", "shared memory behind tmpfs and memfd"),
		y("PROC_FS", "/proc"),
		y("PROC_SYSCTL", "/proc/sys (onboot sysctl)"),
		y("SYSFS", "/sys"),
		y("UNIX98_PTYS", "devpts: consoles and container terminals"),
		y("MULTIUSER", "users and groups (setuid, setgid)"),
		y("BINFMT_ELF", "running ELF programs"),
		y("BINFMT_SCRIPT", "running #! scripts"),
		y("FUTEX", "futexes (Go runtime, libc)"),
		y("EPOLL", "epoll (Go runtime)"),
		y("FILE_LOCKING", "flock (containerd's metadata store)"),
		y("INOTIFY_USER", "inotify (containerd's cgroup event monitor)"),
		y("NET", "networking"),
		y("UNIX", "Unix sockets (containerd, runc, keel-ctl)"),
		y("INET", "TCP/IP"),
	}
}

// HardeningRequirements returns the Hardening list: the symbols LinuxKit's KSPP kernel-config
// test wants on, and those it wants off. Entries for one architecture are skipped on the
// others; s390 has no stack protector.
func HardeningRequirements() []Requirement {
	on := func(why string, syms ...string) Requirement {
		r := Requirement{List: Hardening, Why: why}
		for _, s := range syms {
			r.Symbols = append(r.Symbols, "CONFIG_"+s)
		}
		return r
	}
	off := func(why string, syms ...string) Requirement {
		r := on(why, syms...)
		r.Off = true
		return r
	}
	only := func(r Requirement, arches ...string) Requirement {
		r.Arches = arches
		return r
	}
	return []Requirement{
		on("/dev/mem limited to device memory", "STRICT_DEVMEM"),
		on("seccomp BPF filters", "SECCOMP_FILTER"),
		on("Yama: ptrace limited to descendants", "SECURITY_YAMA"),
		on("copies to and from user space bounds-checked", "HARDENED_USERCOPY"),
		only(on("stack canaries", "STACKPROTECTOR_STRONG", "CC_STACKPROTECTOR_STRONG"), "amd64", "arm64"),
		on("kernel text and rodata read-only", "STRICT_KERNEL_RWX", "DEBUG_RODATA"),
		on("kernel address space layout randomisation", "RANDOMIZE_BASE"),
		on("BPF always JIT-compiled, no interpreter to abuse as a Spectre gadget", "BPF_JIT_ALWAYS_ON"),
		on("freed pages poisoned", "PAGE_POISONING"),
		on("an oops panics instead of running on with a damaged kernel", "PANIC_ON_OOPS"),
		only(on("retpolines against Spectre v2", "MITIGATION_RETPOLINE", "RETPOLINE"), "amd64"),
		only(on("page table isolation against Meltdown", "MITIGATION_PAGE_TABLE_ISOLATION", "PAGE_TABLE_ISOLATION"), "amd64"),
		only(on("no legacy vsyscall page", "LEGACY_VSYSCALL_NONE"), "amd64"),
		off("heap (brk) randomisation not turned off for old binaries", "COMPAT_BRK"),
		off("no replacing the running kernel", "KEXEC"),
		only(off("no modify_ldt(2)", "MODIFY_LDT_SYSCALL"), "amd64"),
		off("no BSD ptys", "LEGACY_PTYS"),
		off("no hibernation images that could carry a modified kernel", "HIBERNATION"),
		only(off("no x32 ABI", "X86_X32_ABI", "X86_X32"), "amd64"),
		on("the kernel log only for CAP_SYSLOG", "SECURITY_DMESG_RESTRICT"),
		on("a corrupted kernel list or checked structure is a BUG, not a write through it", "BUG_ON_DATA_CORRUPTION"),
		{List: Hardening, Symbols: []string{"CONFIG_PANIC_TIMEOUT"}, Accept: panicReboots, Wants: "a non-zero timeout", Example: "10",
			Why: "a panic (a dead PID 1 included) reboots the machine instead of hanging it"},
		{List: Hardening, Symbols: []string{"CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE"}, Accept: sysrqHarmless,
			Wants: "a mask without 0x1, 0x4, 0x8 or 0x40", Example: "0xb0", Why: "SysRq cannot kill processes, dump memory state or take the keyboard"},
	}
}

// panicReboots accepts a PANIC_TIMEOUT that reboots: seconds to wait, or negative for at once.
func panicReboots(v string) bool {
	n, err := strconv.ParseInt(v, 0, 64)
	return err == nil && n != 0
}

// sysrqHarmless accepts a SysRq default mask that does not enable every function (1) nor
// the keyboard (4), debugging dumps (8) or signalling processes (0x40); absent is SysRq off.
func sysrqHarmless(v string) bool {
	if v == "" {
		return true
	}
	n, err := strconv.ParseUint(v, 0, 64)
	return err == nil && n != 1 && n&(0x4|0x8|0x40) == 0
}
