package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/keel-os/keel/arch"
	"golang.org/x/sys/unix"
)

// hostInfo describes this machine and the QEMU that boots archName guests.
func hostInfo(archName string) Host {
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
	if a, err := arch.Lookup(archName); err == nil {
		if out, err := exec.Command(a.QEMU, "--version").Output(); err == nil {
			h.QEMU, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
		}
	}
	return h
}
