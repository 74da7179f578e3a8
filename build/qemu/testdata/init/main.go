// Command init is a test PID 1 for build/qemu's boot tests. The kernel passes keeltest=MODE
// from its command line as an environment variable: poweroff (default), reboot, panic
// (exit, so the kernel panics), silent (power off without the keel: line) or hang.
package main

import (
	"fmt"
	"os"

	"github.com/keel-os/keel/guest"
	"golang.org/x/sys/unix"
)

func main() {
	// The console: mount devtmpfs so /dev/console exists even if the initramfs lacks it.
	_ = os.MkdirAll("/dev", 0o755)
	_ = unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	out, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		out = os.Stdout
	}
	fmt.Fprintln(out, "keeltest: init running, mode", os.Getenv("keeltest"))
	switch os.Getenv("keeltest") {
	case "reboot":
		fmt.Fprintln(out, guest.Line(guest.Reboot))
		unix.Sync()
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	case "panic":
		os.Exit(3)
	case "silent":
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	case "hang":
		select {}
	default:
		loadFwCfg(out)
		if data, err := os.ReadFile("/sys/firmware/qemu_fw_cfg/by_name/opt/org.keel/user-data/raw"); err == nil {
			fmt.Fprintf(out, "keeltest: userdata %q\n", data)
		}
		fmt.Fprintln(out, guest.Line(guest.PowerOff))
		unix.Sync()
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}
	select {}
}

// loadFwCfg loads /qemu_fw_cfg.ko, if the test shipped it, and mounts sysfs so the
// userdata file shows under /sys/firmware/qemu_fw_cfg.
func loadFwCfg(out *os.File) {
	f, err := os.Open("/qemu_fw_cfg.ko")
	if err != nil {
		return
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil {
		fmt.Fprintln(out, "keeltest: load qemu_fw_cfg:", err)
	}
	_ = os.MkdirAll("/sys", 0o755)
	if err := unix.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		fmt.Fprintln(out, "keeltest: mount sysfs:", err)
	}
}
