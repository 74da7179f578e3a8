package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/keel-os/keel/guest"
)

// captureConsole points PID 1's console at a buffer until the test ends and returns what
// was printed so far.
func captureConsole(t *testing.T) func() string {
	var b bytes.Buffer
	c := defaultConsole
	c.mu.Lock()
	old := c.out
	c.out = &b
	c.mu.Unlock()
	t.Cleanup(func() {
		c.mu.Lock()
		c.out = old
		c.mu.Unlock()
	})
	return func() string {
		c.mu.Lock()
		defer c.mu.Unlock()
		return b.String()
	}
}

func TestLinesHostsReadArePrintedAsPackageGuestSpellsThem(t *testing.T) {
	printed := captureConsole(t)
	logBootComplete()
	logCtlService("web", "restart")
	for _, a := range []powerAction{powerOff, reboot, halt} {
		logPowerRequested(a)
	}
	logTimeline([]byte(`{"clock":"boottime"}`))
	for _, a := range []powerAction{powerOff, reboot, halt} {
		logPowerAction(a)
	}
	lines := []struct{ want, host string }{
		{"keel: boot complete", guest.Line(guest.BootComplete)},
		{"keel: keel-ctl: service web restart", guest.Line(fmt.Sprintf(guest.CtlService, "web", "restart"))},
		{"keel: power off requested", guest.Line(guest.PowerOff + guest.Requested)},
		{"keel: reboot requested", guest.Line(guest.Reboot + guest.Requested)},
		{"keel: halt requested", guest.Line(guest.Halt + guest.Requested)},
		{`keel: timeline {"clock":"boottime"}`, guest.Line(guest.Timeline) + `{"clock":"boottime"}`},
		{"keel: power off", guest.Line(guest.PowerOff)},
		{"keel: reboot", guest.Line(guest.Reboot)},
		{"keel: halt", guest.Line(guest.Halt)},
	}
	var want strings.Builder
	for _, l := range lines {
		if l.host != l.want {
			t.Errorf("a host reads %q, PID 1 prints %q", l.host, l.want)
		}
		want.WriteString(l.want + "\n")
	}
	if got := printed(); got != want.String() {
		t.Errorf("console:\n%s\nwant:\n%s", got, want.String())
	}
}

// The power actions' names in keel-ctl's answers and refusals are the console's.
func TestPowerActionsAreNamedAsPackageGuestSpellsThem(t *testing.T) {
	for a, want := range map[powerAction]string{powerOff: guest.PowerOff, reboot: guest.Reboot, halt: guest.Halt} {
		if a.String() != want || a.consoleMessage() != want {
			t.Errorf("action %d: String %q, console %q; want %q", int(a), a.String(), a.consoleMessage(), want)
		}
	}
	if got := powerAction(0).consoleMessage(); got != guest.PowerOff {
		t.Errorf("an unknown action prints %q, but powers off", got)
	}
}
