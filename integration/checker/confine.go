package main

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// sysfsFiles are root-owned, writable sysfs files; the first that exists is tried. Keel's
// kernel has the RCU ones (CONFIG_SMP); the others are for other kernels.
var sysfsFiles = []string{"/sys/kernel/rcu_expedited", "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled"}

// confinement reports what a container's defaults let it do: want is "confined" (a
// container without capabilities: /proc/sys, /proc/sysrq-trigger and /sys read-only,
// /proc/interrupts masked, containerd's seccomp profile and no new privileges) or
// "privileged" (capabilities: all, which keeps none of these).
func confinement(want string) {
	confined := want == "confined"
	status, _ := os.ReadFile("/proc/self/status")
	field := func(name string) string {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return "?"
	}
	// Seccomp 2 is a filter; NoNewPrivs 1 is set.
	seccomp, nnp := field("Seccomp"), field("NoNewPrivs")
	check(want+"-status", (seccomp == "2") == confined && (nnp == "1") == confined, "seccomp=%s nnp=%s", seccomp, nnp)

	// keyctl is outside containerd's profile: EPERM there; without a filter, the kernel
	// answers (an id, or ENOSYS without CONFIG_KEYS).
	const keySpecSessionKeyring, keyctlGetKeyringID = ^uintptr(2), 0
	_, _, errno := syscall.Syscall(syscall.SYS_KEYCTL, keyctlGetKeyringID, keySpecSessionKeyring, 0)
	check(want+"-seccomp", (errno == syscall.EPERM) == confined, "keyctl: %v", errno)

	// Each write puts back what is there, in case it succeeds; the privileged container
	// leaves sysrq alone.
	paths := []string{"/proc/sys/kernel/core_pattern"}
	if confined {
		paths = append(paths, "/proc/sysrq-trigger")
	}
	for _, p := range paths {
		old, _ := os.ReadFile(p)
		if p == "/proc/sysrq-trigger" {
			old = []byte("h") // write-only; h prints the help to the kernel log
		}
		err := os.WriteFile(p, old, 0)
		readOnly := errors.Is(err, syscall.EROFS)
		check(want+"-readonly "+p, readOnly == confined, "write: %v", err)
	}
	// A root-owned sysfs file (mode 0644): root without capabilities may write it unless
	// /sys is read-only. Opened for writing and closed, nothing written.
	sysfile := "none"
	for _, p := range sysfsFiles {
		if _, err := os.Stat(p); err == nil {
			sysfile = p
			break
		}
	}
	f, err := os.OpenFile(sysfile, os.O_WRONLY, 0)
	if err == nil {
		f.Close()
	}
	opened := err == nil
	if confined {
		opened = !errors.Is(err, syscall.EROFS)
	}
	check(want+"-sysfs "+sysfile, opened != confined, "open for writing: %v", err)

	// A masked file is /dev/null bound over it.
	masked, detail := false, ""
	if st, err := os.Stat("/proc/interrupts"); err != nil {
		detail = err.Error()
	} else {
		masked, detail = st.Mode()&os.ModeCharDevice != 0, st.Mode().String()
	}
	check(want+"-masked", masked == confined, "/proc/interrupts: %s", detail)
}
