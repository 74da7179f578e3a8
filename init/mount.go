package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/guest"
)

// pseudoMount is one filesystem PID 1 mounts at boot.
type pseudoMount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	// optional mounts are skipped when the kernel lacks the filesystem or the target's
	// parent does not exist (efivarfs without EFI, for example).
	optional bool
}

const (
	nosuidNodevNoexec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

	// Sizes of the writable tmpfs trees, in RAM (tmpfs's default is 50% each): together below
	// all of it, so that filling them leaves memory to run. /run holds services' state,
	// /system PID 1's and containerd's sockets and state, /var logs, containerd's root and
	// services' data, /tmp scratch files.
	runSize    = "15%"
	systemSize = "5%"
	tmpSize    = "25%"
	varSize    = "50%"
)

// systemDir is PID 1's own tmpfs: its control socket, containerd's socket and state (the
// shims' sockets), runc's state. It is not under /run, which services often bind (binds are
// recursive), and it is 0711: only a service that binds it, or a path in it, reaches them.
const systemDir = "/system"

const (
	keelStateDir  = systemDir + "/keel"       // PID 1's control socket, FIFOs, modprobe link
	runcRoot      = systemDir + "/runc"       // runc's state for onboot and onshutdown containers
	containerdRun = systemDir + "/containerd" // containerd's state: its socket, the shims' sockets
	servicesRunc  = containerdRun + "/runc"   // the shims' runc state for services' tasks
	serviceFIFOs  = keelStateDir + "/fifo"    // services' stdout and stderr FIFOs
	shimSockets   = containerdRun + "/s"      // the shims' sockets (38 characters at most)
	controlSocket = guest.ControlSocket
)

// bootMounts are the mounts of a Keel system, in order. /proc comes first; then the
// writable tmpfs trees, /dev and /sys, cgroup2, and the optional kernel filesystems.
func bootMounts() []pseudoMount {
	return []pseudoMount{
		{source: "tmpfs", target: "/run", fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_NODEV, data: "mode=755,size=" + runSize},
		{source: "tmpfs", target: systemDir, fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_NODEV, data: "mode=711,size=" + systemSize},
		{source: "tmpfs", target: "/tmp", fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_NODEV, data: "mode=1777,size=" + tmpSize},
		{source: "tmpfs", target: "/var", fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_NODEV, data: "mode=755,size=" + varSize},
		{source: "dev", target: "/dev", fstype: "devtmpfs", flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: "mode=755"},
		{source: "devpts", target: "/dev/pts", fstype: "devpts", flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_NODEV, data: "mode=1777"},
		{source: "mqueue", target: "/dev/mqueue", fstype: "mqueue", flags: nosuidNodevNoexec},
		{source: "sysfs", target: "/sys", fstype: "sysfs", flags: nosuidNodevNoexec},
		{source: "cgroup2", target: "/sys/fs/cgroup", fstype: "cgroup2", flags: nosuidNodevNoexec, data: "nsdelegate"},
		{source: "securityfs", target: "/sys/kernel/security", fstype: "securityfs", flags: nosuidNodevNoexec, optional: true},
		{source: "bpf", target: "/sys/fs/bpf", fstype: "bpf", flags: nosuidNodevNoexec, data: "mode=700", optional: true},
		{source: "configfs", target: "/sys/kernel/config", fstype: "configfs", flags: nosuidNodevNoexec, optional: true},
		{source: "efivarfs", target: "/sys/firmware/efi/efivars", fstype: "efivarfs", flags: nosuidNodevNoexec, optional: true},
		{source: "debugfs", target: "/sys/kernel/debug", fstype: "debugfs", flags: nosuidNodevNoexec, optional: true},
		{source: "pstore", target: "/sys/fs/pstore", fstype: "pstore", flags: nosuidNodevNoexec, optional: true},
		{source: "binfmt_misc", target: "/proc/sys/fs/binfmt_misc", fstype: "binfmt_misc", flags: nosuidNodevNoexec, optional: true},
	}
}

// varDirs are created on the /var tmpfs; /var/run points at /run. /run/keel holds the boot
// timeline, readable by any service that binds /run.
var varDirs = []string{"/var/log", "/var/lib", "/var/cache", "/var/spool", "/var/tmp", "/run/keel"}

// systemDirs are created on the /system tmpfs, for root alone.
var systemDirs = []string{keelStateDir, runcRoot}

// filesystems reads the filesystem types the kernel supports.
func filesystems() map[string]bool {
	fs := map[string]bool{}
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return fs
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 0 {
			fs[fields[len(fields)-1]] = true
		}
	}
	return fs
}

// mountProc mounts /proc, the first mount of all.
func mountProc() error {
	if err := os.MkdirAll("/proc", 0o555); err != nil {
		return fmt.Errorf("mkdir /proc: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", nosuidNodevNoexec, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount /proc: %w", err)
	}
	return nil
}

// mountAll performs the boot mounts. A required mount that fails is an error; an optional
// one is logged and skipped.
func mountAll(mounts []pseudoMount) error {
	supported := filesystems()
	var errs []error
	for _, m := range mounts {
		if m.optional {
			if !supported[m.fstype] {
				continue
			}
			if _, err := os.Stat(filepath.Dir(m.target)); err != nil {
				continue
			}
		}
		if err := os.MkdirAll(m.target, 0o755); err != nil && m.optional {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("mkdir %s: %w", m.target, err))
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			if m.optional {
				logf("mount %s (%s): %v (skipped)", m.target, m.fstype, err)
				continue
			}
			errs = append(errs, fmt.Errorf("mount %s (%s): %w", m.target, m.fstype, err))
		}
	}
	return errors.Join(errs...)
}

// populateDev adds what devtmpfs does not create itself.
func populateDev() {
	links := map[string]string{
		"/dev/fd":     "/proc/self/fd",
		"/dev/stdin":  "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2",
		"/dev/core":   "/proc/kcore",
	}
	for name, target := range links {
		if _, err := os.Lstat(name); err == nil {
			continue
		}
		if err := os.Symlink(target, name); err != nil {
			logf("symlink %s: %v", name, err)
		}
	}
	// With a new devpts instance, /dev/ptmx must be the instance's ptmx.
	if err := unix.Mount("/dev/pts/ptmx", "/dev/ptmx", "", unix.MS_BIND, ""); err != nil {
		logf("bind /dev/pts/ptmx on /dev/ptmx: %v", err)
	}
}

// populateVar creates the usual directories on the /var tmpfs, and PID 1's on /system.
func populateVar() error {
	for _, d := range varDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	for _, d := range systemDirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	if err := os.Symlink("/run", "/var/run"); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("symlink /var/run: %w", err)
	}
	return os.Chmod("/var/tmp", 0o1777)
}

// remountRootReadOnly makes / read-only and shared, so mounts made by containers with shared
// propagation are seen by the host.
func remountRootReadOnly() error {
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("remount / read-only: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / shared: %w", err)
	}
	return nil
}

// mountPoint is a line of /proc/self/mountinfo.
type mountPoint struct {
	id, parent int
	target     string
}

// parseMountinfo returns the mount points in /proc/self/mountinfo order (parents first).
func parseMountinfo(text string) []mountPoint {
	var mps []mountPoint
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		var mp mountPoint
		if _, err := fmt.Sscanf(f[0]+" "+f[1], "%d %d", &mp.id, &mp.parent); err != nil {
			continue
		}
		mp.target = unescapeMountPath(f[4])
		mps = append(mps, mp)
	}
	return mps
}

// unescapeMountPath undoes the octal escapes (\040 for space) of mountinfo paths.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts everything but / in reverse mount order. A busy mount is detached and
// remounted read-only so its data is safe; / itself is remounted read-only.
func unmountAll() {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		logf("read mountinfo: %v", err)
		return
	}
	mps := parseMountinfo(string(data))
	for i := len(mps) - 1; i >= 0; i-- {
		t := mps[i].target
		if t == "/" {
			continue
		}
		if err := unix.Unmount(t, 0); err != nil {
			// Busy: make it read-only so its data is safe, then detach it.
			if rerr := unix.Mount("", t, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); rerr != nil {
				logf("unmount %s: %v; remount read-only: %v", t, err, rerr)
			}
			_ = unix.Unmount(t, unix.MNT_DETACH)
		}
	}
	_ = unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
}

// bindVolumes makes each volume directory of the image (bundle.VolumesDir under root) a
// mount of its own, by binding it onto itself with mount, so that it stays writable once the
// root is read-only: containers binding a volume share what they write there. A volume that
// fails is logged and stays read-only.
func bindVolumes(root string, mount func(dir string) error) {
	dir := filepath.Join(root, bundle.VolumesDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			logf("volumes: %v", err)
		}
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if err := mount(filepath.Join(dir, e.Name())); err != nil {
			logf("volume %s stays read-only: %v", e.Name(), err)
		}
	}
}

// bindOnItself binds dir onto itself.
func bindOnItself(dir string) error {
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", dir, err)
	}
	return nil
}
