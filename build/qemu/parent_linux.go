package qemu

import (
	"os/exec"
	"syscall"
)

// stopWithParent makes the kernel send QEMU SIGTERM when the process that started it dies,
// even by SIGKILL, so that no guest keeps running (and using a CPU) without its keel run.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
