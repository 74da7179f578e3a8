// Command floor is the /init of the benchmark's floor image: the fastest possible userspace.
// It prints how long the kernel took to start it, then powers the machine off, so the
// benchmark can tell the kernel's share of a boot from PID 1's.
//
// It prints, on its standard output (the console: the initramfs holds /dev/console, which the
// kernel opens for PID 1),
//
//	keel-floor: uptime <seconds of CLOCK_BOOTTIME>
//	keel: power off
//
// and calls reboot(2) with POWER_OFF; the second line is what build/qemu's Run waits for.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func main() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		fmt.Printf("keel-floor: clock_gettime: %v\n", err)
	}
	fmt.Printf("keel-floor: uptime %.6f\n", float64(ts.Nano())/1e9)
	fmt.Println("keel: power off")
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("keel-floor: reboot: %v\n", err)
	}
	for { // PID 1 must not exit: the kernel would panic
		unix.Pause()
	}
}
