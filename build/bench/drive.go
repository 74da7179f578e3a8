package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/keel-os/keel/guest"
)

// What the driver waits for on the console.
const (
	// BootCompleteLine: every service has started. The driver types nothing before it, so
	// nothing it runs falls within the boot it measures.
	BootCompleteLine = guest.LinePrefix + guest.BootComplete
	// powerOffRequested is PID 1's line once a poweroff was asked for.
	powerOffRequested = guest.LinePrefix + guest.PowerOff + guest.Requested
	// markerPrefix starts the lines the driver has the shell echo to know it has answered.
	markerPrefix = "keel-bench-"
)

var (
	errConsoleClosed = errors.New("the console ended (QEMU exited)")
	errWaitTimeout   = errors.New("timed out")
)

// driver runs keel-ctl at a shell on a booted guest's serial console, as a person at the
// console would, and reads the answers from the console's output.
type driver struct {
	in   io.Writer // the console's input
	feed *lineFeed // the console's output
	read int       // lines of feed already looked at
	seq  int       // markers typed so far
	// boot bounds the wait for BootCompleteLine, step every later wait; resend is how
	// often a marker is typed again while the shell does not answer.
	boot, step, resend time.Duration
}

func (d *driver) send(line string) error {
	if _, err := io.WriteString(d.in, line+"\n"); err != nil {
		return fmt.Errorf("type %q on the console: %w", line, err)
	}
	return nil
}

// waitFor reads console lines until one matches and returns it.
func (d *driver) waitFor(within time.Duration, match func(line string) bool) (string, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		lines, closed, changed := d.feed.since(d.read)
		for i, l := range lines {
			if match(l) {
				d.read += i + 1
				return l, nil
			}
		}
		d.read += len(lines)
		if closed {
			return "", errConsoleClosed
		}
		select {
		case <-changed:
		case <-deadline.C:
			return "", errWaitTimeout
		}
	}
}

// marker returns the next marker command and the line its output holds. The typed command
// (which the terminal echoes) computes the number, so only the shell's answer holds it.
func (d *driver) marker() (cmd, want string) {
	d.seq++
	return fmt.Sprintf("echo %s$((%d+1)).", markerPrefix, d.seq-1), fmt.Sprintf("%s%d.", markerPrefix, d.seq)
}

// waitBoot waits until PID 1 has started every service.
func (d *driver) waitBoot() error {
	if _, err := d.waitFor(d.boot, func(l string) bool { return strings.Contains(l, BootCompleteLine) }); err != nil {
		return fmt.Errorf("waiting for %q: %w", BootCompleteLine, err)
	}
	return nil
}

// sync waits until a shell answers on the console: it types a marker, again every resend,
// until the shell echoes it. A shell that is still starting, or the next one after a
// restart of its service, answers once it reads the console.
func (d *driver) sync() error {
	cmd, want := d.marker()
	end := time.Now().Add(d.step)
	for {
		left := time.Until(end)
		if left <= 0 {
			return fmt.Errorf("no shell answered on the serial console within %s: keel bench types keel-ctl at one "+
				"(a service such as keel/getty that binds /usr/bin/keel-ctl and /system, as examples/keel.yml has)", d.step)
		}
		if err := d.send(cmd); err != nil {
			return err
		}
		_, err := d.waitFor(min(d.resend, left), func(l string) bool { return strings.Contains(l, want) })
		if !errors.Is(err, errWaitTimeout) {
			return err
		}
	}
}

// run types cmd at the shell and returns the console lines up to the shell's answer.
func (d *driver) run(cmd string) ([]string, error) {
	mark, want := d.marker()
	if err := d.send(cmd + "; " + mark); err != nil {
		return nil, err
	}
	var out []string
	_, err := d.waitFor(d.step, func(l string) bool {
		if strings.Contains(l, want) {
			return true
		}
		out = append(out, l)
		return false
	})
	if err != nil {
		return out, fmt.Errorf("%s: %w", cmd, err)
	}
	return out, nil
}

// memory samples PID 1's, containerd's and the shims' memory (keel-ctl memory). A line of
// PID 1's can land inside the sample's on the console: then it asks once more.
func (d *driver) memory() (Memory, error) {
	const cmd = "keel-ctl memory --json"
	var out []string
	for try := 0; try < 2; try++ {
		var err error
		if out, err = d.run(cmd); err != nil {
			return Memory{}, err
		}
		for _, l := range out {
			if m, ok := ParseMemory(l); ok {
				return m, nil
			}
		}
	}
	return Memory{}, fmt.Errorf("%s printed no memory sample: %q", cmd, out)
}

// restart restarts service name (keel-ctl restart) and waits for a shell to answer again:
// the one that typed it, or, when name is the shell's own service, the next. It reports
// whether PID 1 restarted it.
func (d *driver) restart(name string) (bool, error) {
	done := fmt.Sprintf(guest.LinePrefix+guest.CtlService, name, "restart")
	if err := d.send("keel-ctl restart " + name + " >/dev/null"); err != nil {
		return false, err
	}
	line, err := d.waitFor(d.step, func(l string) bool {
		return strings.Contains(l, done) || strings.HasPrefix(strings.TrimSpace(l), "keel-ctl: ")
	})
	if err != nil {
		return false, fmt.Errorf("keel-ctl restart %s: %w", name, err)
	}
	return strings.Contains(line, done), d.sync()
}

// powerOff asks PID 1 for a poweroff that prints the final timeline on the console.
func (d *driver) powerOff() error {
	if err := d.send("keel-ctl poweroff --timeline"); err != nil {
		return err
	}
	if _, err := d.waitFor(d.step, func(l string) bool { return strings.Contains(l, powerOffRequested) }); err != nil {
		return fmt.Errorf("keel-ctl poweroff --timeline: %w", err)
	}
	return nil
}

// driveBoot is a timed boot's driver: once every service has started and a shell answers,
// power off with the final timeline.
func driveBoot(d *driver) error {
	if err := d.waitBoot(); err != nil {
		return err
	}
	if err := d.sync(); err != nil {
		return err
	}
	return d.powerOff()
}

// driveRestarts restarts services, in turn, n times once every service has started, and
// samples memory before the first restart, after each quarter of them and after the last;
// then it powers off with the final timeline. A restart PID 1 refused is not counted.
func driveRestarts(d *driver, services []string, n int) ([]RestartSample, error) {
	if len(services) == 0 {
		return nil, errors.New("no services to restart")
	}
	if err := d.waitBoot(); err != nil {
		return nil, err
	}
	if err := d.sync(); err != nil {
		return nil, err
	}
	var samples []RestartSample
	sample := func(done int) error {
		m, err := d.memory()
		if err != nil {
			return err
		}
		samples = append(samples, RestartSample{Restarts: done, Memory: m})
		return nil
	}
	if err := sample(0); err != nil {
		return nil, err
	}
	quarters := map[int]bool{n / 4: true, n / 2: true, 3 * n / 4: true}
	delete(quarters, 0)
	done := 0
	for i := 0; i < n; i++ {
		if quarters[i] {
			if err := sample(done); err != nil {
				return samples, err
			}
		}
		ok, err := d.restart(services[i%len(services)])
		if err != nil {
			return samples, fmt.Errorf("restart %d: %w", i+1, err)
		}
		if ok {
			done++
		}
	}
	if err := sample(done); err != nil {
		return samples, err
	}
	return samples, d.powerOff()
}

// lineFeed collects console output as lines (without carriage returns) for a driver to
// wait on; Close marks its end.
type lineFeed struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	closed  bool
	changed chan struct{} // closed and replaced whenever lines grow or the feed closes
}

func (f *lineFeed) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	grew := false
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		f.lines = append(f.lines, strings.ReplaceAll(string(f.partial[:i]), "\r", ""))
		f.partial = f.partial[i+1:]
		grew = true
	}
	if grew {
		f.notify()
	}
	return len(p), nil
}

// Close ends the feed: waits return once they have read every line.
func (f *lineFeed) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.notify()
	return nil
}

// notify wakes the waiters; f.mu is held.
func (f *lineFeed) notify() {
	if f.changed != nil {
		close(f.changed)
	}
	f.changed = make(chan struct{})
}

// since returns the lines from the nth on, whether the feed has ended, and a channel closed
// at the next change.
func (f *lineFeed) since(n int) (lines []string, closed bool, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
	if n < len(f.lines) {
		lines = append(lines, f.lines[n:]...)
	}
	return lines, f.closed, f.changed
}
