package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/keel-os/keel/guest"
)

// console serialises PID 1's messages on the console. Messages start with guest.LinePrefix so
// that a reader of the serial console can tell them from container output.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

var defaultConsole = &console{out: os.Stderr}

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, guest.LinePrefix+format+"\n", args...)
}

func logf(format string, args ...any) { defaultConsole.printf(format, args...) }

// The lines a host reads: their text is package guest's.

// logBootComplete says every service has started.
func logBootComplete() { logf("%s", guest.BootComplete) }

// logTimeline prints the timeline's JSON for keel bench.
func logTimeline(data []byte) { logf("%s%s", guest.Timeline, data) }

// logPowerRequested says a shutdown with action a begins.
func logPowerRequested(a powerAction) { logf("%s%s", a.consoleMessage(), guest.Requested) }

// logCtlService says keel-ctl had service name started, stopped or restarted (action).
func logCtlService(name, action string) { logf(guest.CtlService, name, action) }

// logPowerAction is the last line before reboot(2): how the machine goes down.
func logPowerAction(a powerAction) { logf("%s", a.consoleMessage()) }
