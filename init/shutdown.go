package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/keel-os/keel/guest"
	"golang.org/x/sys/unix"
)

// powerAction is what the machine does at the end of a shutdown.
type powerAction int

const (
	powerOff powerAction = iota + 1
	reboot
	halt
)

// String is the action as package guest spells it on the console ("power off").
func (a powerAction) String() string {
	switch a {
	case powerOff:
		return guest.PowerOff
	case reboot:
		return guest.Reboot
	case halt:
		return guest.Halt
	}
	return "unknown"
}

// consoleMessage is the message PID 1 prints just before reboot(2) for the action, which a
// host reads to tell how the machine went down. An unknown action powers off, as rebootCmd.
func (a powerAction) consoleMessage() string {
	if a == reboot || a == halt {
		return a.String()
	}
	return guest.PowerOff
}

// rebootCmd is the reboot(2) command for the action.
func (a powerAction) rebootCmd() int {
	switch a {
	case reboot:
		return unix.LINUX_REBOOT_CMD_RESTART
	case halt:
		return unix.LINUX_REBOOT_CMD_HALT
	}
	return unix.LINUX_REBOOT_CMD_POWER_OFF
}

// Busybox's convention, so its poweroff, reboot and halt tools (and ours) work, and SIGINT
// from ctrl-alt-del and SIGPWR from a power failure do the expected thing.
var signalActions = map[unix.Signal]powerAction{
	unix.SIGUSR2: powerOff,
	unix.SIGPWR:  powerOff,
	unix.SIGTERM: reboot,
	unix.SIGINT:  reboot,
	unix.SIGUSR1: halt,
}

// ignoredSignals are the catchable signals an init must survive: Go's runtime turns each one
// that is not notified into an exit, and the kernel panics when PID 1 exits. PID 1 logs them
// and goes on. Notified, SIGSEGV, SIGBUS, SIGFPE and SIGILL are only the ones sent with kill: a
// real fault still crashes. SIGCHLD is the reaper's; the others Go ignores by itself.
var ignoredSignals = []unix.Signal{
	unix.SIGHUP, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
	unix.SIGSEGV, unix.SIGPIPE, unix.SIGSTKFLT, unix.SIGSYS,
}

// notifySignals delivers to c the signals with an action and the ignored ones. c should have
// room for every one of them: the runtime drops a signal when c is full.
func notifySignals(c chan<- os.Signal) {
	sigs := make([]os.Signal, 0, len(signalActions)+len(ignoredSignals))
	for s := range signalActions {
		sigs = append(sigs, s)
	}
	for _, s := range ignoredSignals {
		sigs = append(sigs, s)
	}
	signal.Notify(c, sigs...)
}

// signalName is the SIGHUP form of a signal's name.
func signalName(sig os.Signal) string {
	if s, ok := sig.(unix.Signal); ok {
		if n := unix.SignalName(s); n != "" {
			return n
		}
	}
	return sig.String()
}

func actionForSignal(sig os.Signal) (powerAction, bool) {
	return actionForSignalOn(runtime.GOARCH, sig)
}

// actionForSignalOn is actionForSignal on arch. s390x has no ctrl-alt-del: its SIGINT is the
// hypervisor's shutdown request (an SCLP quiesce signal, which the kernel turns into
// ctrl-alt-del), so it powers the machine off, as Debian's inittab for s390 halts on it.
func actionForSignalOn(arch string, sig os.Signal) (powerAction, bool) {
	s, ok := sig.(unix.Signal)
	if !ok {
		return 0, false
	}
	if arch == "s390x" && s == unix.SIGINT {
		return powerOff, true
	}
	a, ok := signalActions[s]
	return a, ok
}

func signalForAction(a powerAction) unix.Signal {
	for s, act := range signalActions {
		if act == a && s != unix.SIGPWR && s != unix.SIGINT {
			return s
		}
	}
	return unix.SIGUSR2
}

// actionForCommand maps the names the init binary answers to.
func actionForCommand(name string) (powerAction, bool) {
	switch name {
	case "poweroff":
		return powerOff, true
	case "reboot":
		return reboot, true
	case "halt":
		return halt, true
	}
	return 0, false
}

// requestAction is the poweroff/reboot/halt command: it signals PID 1, or with -f performs
// the action at once.
func requestAction(a powerAction, args []string) int {
	force := false
	for _, arg := range args {
		switch arg {
		case "-f", "--force":
			force = true
		case "-h", "--help":
			fmt.Printf("usage: %s [-f]\n  asks PID 1 to %s the machine cleanly; -f does it at once without stopping anything\n", a, a)
			return 0
		default:
			fmt.Fprintf(os.Stderr, "%s: unknown argument %q\n", a, arg)
			return 2
		}
	}
	if force {
		unix.Sync()
		if err := unix.Reboot(a.rebootCmd()); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", a, err)
			return 1
		}
		return 0
	}
	if err := unix.Kill(1, signalForAction(a)); err != nil {
		fmt.Fprintf(os.Stderr, "%s: signal init: %v\n", a, err)
		return 1
	}
	return 0
}

// finishWait is how long the shutdown deadline gives the final steps before it calls
// reboot(2) itself.
const finishWait = 20 * time.Second

// rescue is the shutdown deadline: it runs finish (which returns at once if it already runs)
// and, unless finished is closed within wait, calls rebootNow: sync or unmount can hang on
// a dead disk, and reboot(2) needs neither.
func rescue(finish func(), finished <-chan struct{}, wait time.Duration, rebootNow func()) {
	goSafe("finish", finish)
	select {
	case <-finished:
	case <-time.After(wait):
		rebootNow()
	}
}

// killAll sends sig to every process but PID 1, then waits until none is left or timeout.
func killAll(sig unix.Signal, timeout time.Duration) bool {
	_ = unix.Kill(-1, sig)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if len(userProcesses()) == 0 {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return len(userProcesses()) == 0
}
