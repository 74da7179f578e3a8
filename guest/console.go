package guest

// LinePrefix starts every message PID 1 prints on the console, so a reader can tell its
// lines from the kernel's and the containers'.
const LinePrefix = "keel: "

// Messages PID 1 prints after LinePrefix that a host reads.
const (
	// PowerOff, Reboot and Halt: exactly one is PID 1's last line before reboot(2).
	PowerOff = "power off"
	Reboot   = "reboot"
	Halt     = "halt"
	// BootComplete: every service has started.
	BootComplete = "boot complete"
	// Timeline is followed on its line by the boot timeline as JSON (package timeline),
	// printed before reboot(2) when keel-ctl asked for it (poweroff --timeline).
	Timeline = "timeline "
	// Requested follows a power action's message once it was asked for.
	Requested = " requested"
	// CtlService is the message once keel-ctl had a service started, stopped or restarted:
	// its name, then the action.
	CtlService = "keel-ctl: service %s %s"
)

// FloorUptime and FloorStat start the lines the benchmark's floor /init prints instead of
// PID 1's: its uptime in seconds, then the first line of /proc/stat.
const (
	FloorUptime = "keel-floor: uptime "
	FloorStat   = "keel-floor: stat "
)

// Line is the console line PID 1 prints for message msg, without its newline.
func Line(msg string) string { return LinePrefix + msg }
