package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// hostInfo describes this machine and the QEMU that boots arch guests.
func hostInfo(arch string) Host {
	h := Host{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	bin := map[string]string{"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64", "s390x": "qemu-system-s390x"}[arch]
	if bin != "" {
		if out, err := exec.Command(bin, "--version").Output(); err == nil {
			h.QEMU, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
		}
	}
	return h
}
