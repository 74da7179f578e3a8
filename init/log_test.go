package main

import (
	"bytes"
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
	logTimeline([]byte(`{"clock":"boottime"}`))
	for _, a := range []powerAction{powerOff, reboot, halt} {
		logPowerAction(a)
	}
	lines := []struct{ want, host string }{
		{"keel: boot complete", guest.Line(guest.BootComplete)},
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
