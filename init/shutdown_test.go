package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/bundle"
	"golang.org/x/sys/unix"
)

func TestSignalsFollowBusyboxConvention(t *testing.T) {
	want := map[unix.Signal]powerAction{
		unix.SIGUSR2: powerOff, unix.SIGPWR: powerOff, unix.SIGTERM: reboot,
		unix.SIGINT: reboot, unix.SIGUSR1: halt,
	}
	for sig, a := range want {
		got, ok := actionForSignalOn("amd64", sig)
		if !ok || got != a {
			t.Errorf("%v: got %v, %v; want %v", sig, got, ok, a)
		}
	}
	if _, ok := actionForSignal(unix.SIGHUP); ok {
		t.Error("SIGHUP must not shut down")
	}
}

// On s390x SIGINT is the hypervisor's shutdown request (SCLP quiesce), not a keyboard's
// ctrl-alt-del: the machine powers off.
func TestSIGINTPowersOffOnS390xAndRebootsElsewhere(t *testing.T) {
	for arch, want := range map[string]powerAction{"s390x": powerOff, "amd64": reboot, "arm64": reboot} {
		if got, ok := actionForSignalOn(arch, unix.SIGINT); !ok || got != want {
			t.Errorf("%s: SIGINT → %v, %v; want %v", arch, got, ok, want)
		}
	}
	if got, _ := actionForSignalOn("s390x", unix.SIGTERM); got != reboot {
		t.Errorf("s390x: SIGTERM → %v, want reboot", got)
	}
}

func TestPoweroffRebootAndHaltCommandsSendTheSignalInitMapsBack(t *testing.T) {
	for _, name := range []string{"poweroff", "reboot", "halt"} {
		a, ok := actionForCommand(name)
		if !ok {
			t.Fatalf("%s not a command", name)
		}
		back, ok := actionForSignal(signalForAction(a))
		if !ok || back != a {
			t.Errorf("%s: signal %v maps back to %v", name, signalForAction(a), back)
		}
	}
	if _, ok := actionForCommand("init"); ok {
		t.Error("init is not a power command")
	}
	if powerOff.rebootCmd() != unix.LINUX_REBOOT_CMD_POWER_OFF || reboot.rebootCmd() != unix.LINUX_REBOOT_CMD_RESTART || halt.rebootCmd() != unix.LINUX_REBOOT_CMD_HALT {
		t.Error("wrong reboot(2) commands")
	}
}

func TestOnshutdownContainersDoNotRunOnBootsEndedContext(t *testing.T) {
	boot, end := context.WithCancel(context.Background())
	end() // as shutdownMachine does before it runs the onshutdown containers
	b := &bundle.Bundle{Name: "farewell"}
	ctx, cancel := containerContext(boot, bundle.OnshutdownDir, b)
	defer cancel()
	if ctx.Err() != nil {
		t.Fatalf("an onshutdown container's context is done before it runs: %v", ctx.Err())
	}
	ctx, cancel = containerContext(boot, bundle.OnbootDir, b)
	defer cancel()
	if ctx.Err() == nil {
		t.Error("an onboot container's context outlives boot's")
	}
	b.Runtime.Keel = &bundle.Keel{Timeout: "1ms"}
	ctx, cancel = containerContext(context.Background(), bundle.OnshutdownDir, b)
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Error("a container's timeout sets no deadline")
	}
}

// survivable are the catchable signals Go's runtime exits on unless they are notified.
var survivable = []unix.Signal{
	unix.SIGHUP, unix.SIGQUIT, unix.SIGABRT, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL,
	unix.SIGTRAP, unix.SIGSYS, unix.SIGSTKFLT, unix.SIGPIPE,
}

func TestPID1SurvivesEverySignalTheGoRuntimeWouldExitOn(t *testing.T) {
	c := make(chan os.Signal, 32)
	notifySignals(c)
	defer signal.Stop(c)
	for _, sig := range survivable {
		// Unnotified, the signal ends this test binary.
		if err := unix.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-c:
			if got != sig {
				t.Errorf("sent %v, got %v", sig, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v not delivered", sig)
		}
	}
}

func TestIgnoredSignalsAreLoggedByName(t *testing.T) {
	out := captureConsole(t)
	c := make(chan os.Signal, len(survivable))
	for _, sig := range survivable {
		c <- sig
	}
	close(c)
	(&initProc{}).serveSignals(c)
	for _, sig := range survivable {
		if want := "keel: signal " + unix.SignalName(sig) + " ignored\n"; !strings.Contains(out(), want) {
			t.Errorf("console %q: want %q", out(), want)
		}
	}
}

func TestShutdownDeadlineRebootsWhenTheFinalStepsHang(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	rebooted := make(chan struct{})
	go rescue(func() { <-hang }, make(chan struct{}), 50*time.Millisecond, func() { close(rebooted) })
	select {
	case <-rebooted:
	case <-time.After(5 * time.Second):
		t.Fatal("reboot(2) not called while sync or unmount hangs")
	}
}

func TestShutdownDeadlineLeavesTheRebootToFinalStepsThatEnd(t *testing.T) {
	finished := make(chan struct{})
	called := false
	rescue(func() { close(finished) }, finished, time.Second, func() { called = true })
	if called {
		t.Error("reboot(2) called though the final steps ended")
	}
}
