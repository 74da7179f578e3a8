// Command init is Keel's PID 1: it mounts the pseudo filesystems, runs the onboot containers
// through runc, starts containerd and the services as containerd tasks, reaps every process
// and shuts the machine down cleanly. The same binary answers as poweroff, reboot and halt.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	name := filepath.Base(os.Args[0])
	if run, ok := multiCall[name]; ok {
		run()
		return
	}
	if name == "modprobe" {
		os.Exit(modprobe(os.Args[1:]))
	}
	if name == "keel-ctl" {
		os.Exit(keelCtl(os.Args[1:]))
	}
	if a, ok := actionForCommand(name); ok {
		os.Exit(requestAction(a, os.Args[1:]))
	}
	if os.Getpid() != 1 {
		fmt.Fprintf(os.Stderr, "%s: Keel's init must run as PID 1; use poweroff, reboot or halt to control it\n", name)
		os.Exit(1)
	}
	newInit().run()
}
