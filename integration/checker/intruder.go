package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// intruder runs as a service in its own pid and mount namespaces with the default
// capabilities (no CAP_SYS_BOOT) and binds /run, the control socket's directory and
// /containers (at /host/containers). It checks what such a service can reach: no socket of
// PID 1's or containerd's under /run, read-only keel-ctl requests but not poweroff, and a
// /containers only root may enter. It then sleeps: it must not end the boot.
func intruder() {
	var sockets []string
	_ = filepath.WalkDir("/run", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSocket != 0 {
			sockets = append(sockets, p)
		}
		return nil
	})
	_, errCtl := os.Stat("/run/keel/control.sock")
	_, errCtrd := os.Stat("/run/containerd/containerd.sock")
	check("run-bind-hides-sockets", len(sockets) == 0 && os.IsNotExist(errCtl) && os.IsNotExist(errCtrd),
		"sockets under /run: %q", sockets)

	status, errStatus := ctl("status")
	check("ctl-read-open", errStatus == nil && strings.Contains(status, "web"), "%v\n%s", errStatus, status)

	out, err := ctl("poweroff")
	check("poweroff-refused", err != nil && strings.Contains(out, "power off refused") && strings.Contains(out, "CAP_SYS_BOOT"),
		"%v: %s", err, strings.TrimSpace(out))
	out, err = ctl("stop", "web")
	check("stop-refused", err != nil && strings.Contains(out, "refused"), "%v: %s", err, strings.TrimSpace(out))

	st, err := os.Stat("/host/containers")
	check("containers-private", err == nil && st.IsDir() && st.Mode().Perm() == 0o700, "%v %v", st.Mode(), err)
	sleepForever()
}
