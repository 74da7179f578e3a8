package spec

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capabilities are the Linux capabilities Keel knows, in kernel order.
var capabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// AllCapabilities returns every capability name, sorted: what "all" stands for.
func AllCapabilities() []string {
	caps := slices.Clone(capabilities)
	slices.Sort(caps)
	return caps
}

// NormalizeCapability returns the canonical name of a capability: "CAP_NET_ADMIN" for
// "CAP_NET_ADMIN", "cap_net_admin" or "net_admin". The words "all" and "none", which the
// capability lists also accept, are not capabilities and are rejected here.
func NormalizeCapability(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	if !slices.Contains(capabilities, c) {
		return "", fmt.Errorf("unknown capability %q", s)
	}
	return c, nil
}

// IsAllOrNone reports whether a capability list entry is the word "all" or "none".
func IsAllOrNone(s string) bool {
	return strings.EqualFold(s, "all") || strings.EqualFold(s, "none")
}

// Bind is a parsed binds entry.
type Bind struct {
	// Source is an absolute path, or the name of a volume.
	Source      string
	Destination string
	// Options are as written; nil when none were given.
	Options []string
}

// ParseBind parses "source:destination[:opt,opt]".
func ParseBind(s string) (Bind, error) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) < 2:
		return Bind{}, fmt.Errorf("invalid bind %q: expected \"source:destination[:options]\"", s)
	case len(parts) > 3:
		return Bind{}, fmt.Errorf("invalid bind %q: too many ':' (expected \"source:destination[:options]\")", s)
	}
	b := Bind{Source: parts[0], Destination: parts[1]}
	if !path.IsAbs(b.Source) && !volumeNameRE.MatchString(b.Source) {
		return Bind{}, fmt.Errorf("invalid bind %q: source must be an absolute path or a volume name", s)
	}
	if !path.IsAbs(b.Destination) {
		return Bind{}, fmt.Errorf("invalid bind %q: destination must be an absolute path", s)
	}
	if len(parts) == 3 {
		opts, err := splitOptions(parts[2])
		if err != nil {
			return Bind{}, fmt.Errorf("invalid bind %q: %w", s, err)
		}
		b.Options = opts
	}
	return b, nil
}

// Tmpfs is a parsed tmpfs entry.
type Tmpfs struct {
	Destination string
	Options     []string // nil when none were given
}

// ParseTmpfs parses "destination[:opt,opt]".
func ParseTmpfs(s string) (Tmpfs, error) {
	dst, opts, hasOpts := strings.Cut(s, ":")
	if !path.IsAbs(dst) {
		return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: destination must be an absolute path", s)
	}
	t := Tmpfs{Destination: dst}
	if hasOpts {
		if strings.Contains(opts, ":") {
			return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: too many ':' (expected \"destination[:options]\")", s)
		}
		o, err := splitOptions(opts)
		if err != nil {
			return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: %w", s, err)
		}
		t.Options = o
	}
	return t, nil
}

func splitOptions(s string) ([]string, error) {
	opts := strings.Split(s, ",")
	if slices.Contains(opts, "") {
		return nil, fmt.Errorf("empty mount option")
	}
	return opts, nil
}

// rlimits are the resource limits runc knows.
var rlimits = []string{
	"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
	"RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
	"RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
}

// Unlimited is the value of an "unlimited" rlimit (RLIM_INFINITY).
const Unlimited = math.MaxUint64

// ParseRlimit parses "name,soft,hard" (LinuxKit's form) or "name:soft:hard". The name is
// case-insensitive with or without RLIMIT_ ("nofile", "RLIMIT_NOFILE"); soft and hard are
// numbers or "unlimited", and soft may not exceed hard.
func ParseRlimit(s string) (specs.POSIXRlimit, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		parts = strings.Split(s, ":")
	}
	if len(parts) != 3 {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid rlimit %q: expected \"name,soft,hard\", e.g. \"nofile,1024,4096\"", s)
	}
	name := strings.ToUpper(strings.TrimSpace(parts[0]))
	if !strings.HasPrefix(name, "RLIMIT_") {
		name = "RLIMIT_" + name
	}
	if !slices.Contains(rlimits, name) {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid rlimit %q: unknown limit %q", s, strings.TrimSpace(parts[0]))
	}
	var vals [2]uint64
	for i, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if strings.EqualFold(p, "unlimited") || strings.EqualFold(p, "infinity") {
			vals[i] = Unlimited
			continue
		}
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return specs.POSIXRlimit{}, fmt.Errorf("invalid rlimit %q: %q is not a number or \"unlimited\"", s, p)
		}
		vals[i] = v
	}
	if vals[0] > vals[1] {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid rlimit %q: soft limit is above hard limit", s)
	}
	return specs.POSIXRlimit{Type: name, Soft: vals[0], Hard: vals[1]}, nil
}

// ParseDuration parses a positive Go duration such as "100ms", "30s" or "1m30s", as the
// Keel-only keys timeout and backoff take.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: expected a positive duration such as \"100ms\", \"30s\" or \"1m\"", s)
	}
	return d, nil
}

// ParseMode parses an octal file mode such as "0644".
func ParseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("invalid mode %q: expected octal permissions such as \"0644\"", s)
	}
	return uint32(m), nil
}

// DefaultMountpoint is where a mount of the given type goes when a mounts entry gives no
// destination ("" when there is no usual place).
func DefaultMountpoint(typ string) string {
	switch typ {
	case "proc":
		return "/proc"
	case "devpts":
		return "/dev/pts"
	case "sysfs":
		return "/sys"
	case "cgroup", "cgroup2":
		return "/sys/fs/cgroup"
	case "mqueue":
		return "/dev/mqueue"
	}
	return ""
}

// NormalizeMount fills in what a mounts entry may leave out, as LinuxKit does: the type
// from a source of mqueue, devpts, proc, sysfs, cgroup or cgroup2 (or tmpfs for /dev);
// the source from the type; the destination from the type (DefaultMountpoint). A relative
// destination is relative to the container's root, as runc takes it: it is made absolute
// and cleaned.
func NormalizeMount(m specs.Mount) (specs.Mount, error) {
	if m.Type == "" {
		switch m.Source {
		case "mqueue", "devpts", "proc", "sysfs", "cgroup", "cgroup2":
			m.Type = m.Source
		}
	}
	if m.Type == "" && m.Destination != "" && path.Join("/", m.Destination) == "/dev" {
		m.Type = "tmpfs"
	}
	if m.Type == "" {
		return m, fmt.Errorf("mount at %q has no type and none can be inferred from its source", m.Destination)
	}
	if m.Source == "" {
		m.Source = m.Type
	}
	if m.Destination == "" {
		m.Destination = DefaultMountpoint(m.Type)
	}
	if m.Destination == "" {
		return m, fmt.Errorf("%s mount has no destination", m.Type)
	}
	m.Destination = path.Join("/", m.Destination)
	return m, nil
}

// Namespace settings.
const (
	NSHost = "host" // share the host's namespace (LinuxKit also accepts "root")
	NSNew  = "new"  // a new namespace
	NSNone = "none" // net only: a new network namespace with no interfaces
)

// CheckNamespace checks a net, pid, ipc, uts or userns value: host, new, an absolute
// path to join, none (net only), or "" (unset).
func CheckNamespace(kind, v string) error {
	switch {
	case v == "", v == NSHost, v == "root", v == NSNew, v == NSNone && kind == "net", path.IsAbs(v):
		return nil
	}
	what, valid := "namespace", `"host", "new"`
	if kind != "" {
		what = kind + " namespace"
	}
	if kind == "net" {
		valid += `, "none"`
	}
	return fmt.Errorf("invalid %s %q: expected %s or the absolute path of a namespace to join", what, v, valid)
}

var (
	// nameRE is containerd's rule for identifiers; names are also directory names.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
	// volumeNameRE is LinuxKit's rule for volume names.
	volumeNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
)

var propagations = []string{"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"}
