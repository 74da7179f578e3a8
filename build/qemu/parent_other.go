//go:build !linux

package qemu

import "os/exec"

// stopWithParent has no equivalent here: QEMU outlives a keel run that is killed.
func stopWithParent(*exec.Cmd) {}
