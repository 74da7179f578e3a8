//go:build !unix

package kernelconfig

import "os/exec"

// setProcessGroup leaves cmd as it is where there are no process groups.
func setProcessGroup(*exec.Cmd) {}
