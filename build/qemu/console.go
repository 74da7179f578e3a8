package qemu

import (
	"bytes"
	"strings"
	"sync"

	"github.com/keel-os/keel/guest"
)

// Console lines Keel's PID 1 prints just before reboot(2) (package guest), and the kernel's
// panic marker.
const (
	LinePowerOff = guest.LinePrefix + guest.PowerOff
	LineReboot   = guest.LinePrefix + guest.Reboot
	LineHalt     = guest.LinePrefix + guest.Halt
	LinePanic    = "Kernel panic"
	// LineKernelReboot is what Linux prints as it restarts the machine: how Run tells a
	// reboot from a poweroff of a guest that is not Keel's (Config.AnyGuest).
	LineKernelReboot = "reboot: Restarting system"
)

// event is what a console line says about how the guest is ending.
type event int

const (
	evNone event = iota
	evPowerOff
	evReboot
	evHalt
	evPanic
)

// console watches the guest's console output line by line for the events above.
type console struct {
	mu        sync.Mutex
	partial   []byte
	last      event  // last keel: line seen
	panicLine string // first Kernel panic line, if any
	lastLine  string // last non-empty line, for error messages
	restart   bool   // the kernel said it was restarting
	notify    chan event
}

func newConsole() *console { return &console{notify: make(chan event, 4)} }

// maxLine bounds the unterminated line kept between writes.
const maxLine = 64 << 10

// Write implements io.Writer; it never fails.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.line(string(c.partial[:i]))
		c.partial = c.partial[i+1:]
	}
	if len(c.partial) > maxLine {
		c.line(string(c.partial))
		c.partial = nil
	}
	return len(p), nil
}

// flush handles a final line that had no newline.
func (c *console) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 {
		c.line(string(c.partial))
		c.partial = nil
	}
}

func (c *console) line(s string) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r", ""))
	if s == "" {
		return
	}
	c.lastLine = s
	if strings.Contains(s, LineKernelReboot) {
		c.restart = true
	}
	var ev event
	switch {
	case strings.Contains(s, LinePowerOff):
		ev = evPowerOff
	case strings.Contains(s, LineReboot):
		ev = evReboot
	case strings.Contains(s, LineHalt):
		ev = evHalt
	case strings.Contains(s, LinePanic):
		if c.panicLine == "" {
			c.panicLine = s
			c.send(evPanic)
		}
		return
	default:
		return
	}
	c.last = ev
	if ev == evHalt {
		c.send(evHalt)
	}
}

func (c *console) send(ev event) {
	select {
	case c.notify <- ev:
	default:
	}
}

// state returns what the console showed so far.
func (c *console) state() (last event, panicLine, lastLine string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.panicLine, c.lastLine
}

// restarted reports whether the kernel said it was restarting the machine.
func (c *console) restarted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restart
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
