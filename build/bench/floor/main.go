// Command floor is the /init of the benchmark's floor image: the fastest possible userspace.
// It prints how long the kernel took to start it and how the CPU spent that time, then powers
// the machine off, so the benchmark can tell the kernel's share of a boot from PID 1's.
//
// It prints, on its standard output (the console: the initramfs holds /dev/console, which the
// kernel opens for PID 1),
//
//	keel-floor: uptime <seconds of CLOCK_BOOTTIME>
//	keel-floor: stat <the first line of /proc/stat, which it mounts after reading the clock>
//	keel: power off
//
// and calls reboot(2) with POWER_OFF; the last line is what build/qemu's Run waits for.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/keel-os/keel/guest"
	"golang.org/x/sys/unix"
)

func main() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		fmt.Printf("keel-floor: clock_gettime: %v\n", err)
	}
	fmt.Printf(guest.FloorUptime+"%.6f\n", float64(ts.Nano())/1e9)
	if line, err := cpuLine(); err != nil {
		fmt.Printf("keel-floor: stat: %v\n", err)
	} else {
		fmt.Printf(guest.FloorStat+"%s\n", line)
	}
	fmt.Println(guest.Line(guest.PowerOff))
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("keel-floor: reboot: %v\n", err)
	}
	for { // PID 1 must not exit: the kernel would panic
		unix.Pause()
	}
}

// cpuLine mounts /proc and returns the first line of /proc/stat: the CPU time so far.
func cpuLine() ([]byte, error) {
	if err := os.Mkdir("/proc", 0o555); err != nil && !os.IsExist(err) {
		return nil, err
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return nil, fmt.Errorf("mount /proc: %w", err)
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return line, nil
}
