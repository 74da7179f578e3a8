package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchdogDevice is the kernel's watchdog device (/dev/watchdog). Once opened it must be
// petted within its timeout or the hardware resets the machine.
const watchdogDevice = "/dev/watchdog"

// wdDevice is an open watchdog: the kernel's watchdog API, behind an interface for tests.
type wdDevice interface {
	identity() string
	setTimeout(seconds int) (int, error) // the timeout the device took
	keepalive() error
	disarm() error // magic close: the device stops counting
}

// watchdog pets a hardware watchdog while PID 1 is healthy (keel.watchdog=SECONDS). When
// PID 1 is wedged, it stops petting and the hardware resets the machine; at poweroff,
// reboot and halt it disarms the device just before reboot(2).
type watchdog struct {
	dev      wdDevice
	path     string
	timeout  time.Duration
	interval time.Duration
	healthy  func() error // nil when PID 1 works

	mu       sync.Mutex
	lastPet  time.Time
	problem  string // why petting stopped, "" while petting
	disarmed bool
	stop     chan struct{}
}

// watchdogState is what keel-ctl shows of the watchdog.
type watchdogState struct {
	Device   string  `json:"device"`
	Identity string  `json:"identity"`
	Timeout  float64 `json:"timeout_seconds"`
	State    string  `json:"state"` // petting, not petting, disarmed
	Problem  string  `json:"problem,omitempty"`
	LastPet  float64 `json:"last_pet_seconds_ago"`
}

// openWatchdog opens path, sets its timeout and returns it armed, petted once.
func openWatchdog(path string, timeout time.Duration) (wdDevice, time.Duration, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", path, err)
	}
	d := &kernelWatchdog{f: f}
	got, err := d.setTimeout(int(timeout.Seconds()))
	if err != nil {
		// Some devices have a fixed timeout: keep theirs.
		logf("watchdog %s: set timeout %s: %v; using the device's", path, timeout, err)
		got = d.getTimeout()
	}
	if got <= 0 {
		_ = d.disarm()
		return nil, 0, fmt.Errorf("watchdog %s: no usable timeout", path)
	}
	return d, time.Duration(got) * time.Second, nil
}

func newWatchdog(dev wdDevice, path string, timeout time.Duration, healthy func() error) *watchdog {
	return &watchdog{
		dev: dev, path: path, timeout: timeout, interval: max(timeout/4, 250*time.Millisecond),
		healthy: healthy, stop: make(chan struct{}), lastPet: time.Now(),
	}
}

// run pets the device every interval while healthy reports no problem, until disarm.
func (w *watchdog) run() {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		w.tick()
		select {
		case <-t.C:
		case <-w.stop:
			return
		}
	}
}

// tick checks PID 1's health and pets the device if it is healthy.
func (w *watchdog) tick() {
	err := w.healthy()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disarmed {
		return
	}
	if w.problem == testProblem {
		return // keel-ctl watchdog test: petting stays off
	}
	if err != nil {
		if w.problem == "" {
			logf("watchdog: PID 1 is unwell (%v): no longer petting %s; the machine resets within %s unless it recovers", err, w.path, w.timeout)
		}
		w.problem = err.Error()
		return
	}
	if w.problem != "" {
		logf("watchdog: PID 1 recovered: petting %s again", w.path)
		w.problem = ""
	}
	if err := w.dev.keepalive(); err != nil {
		logf("watchdog %s: keepalive: %v", w.path, err)
		return
	}
	w.lastPet = time.Now()
}

const testProblem = "keel-ctl watchdog test"

// test stops petting for good, to show the watchdog resets the machine.
func (w *watchdog) test() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disarmed {
		return errors.New("the watchdog is disarmed")
	}
	w.problem = testProblem
	logf("watchdog: %s: no longer petting %s; the machine resets within %s", testProblem, w.path, w.timeout)
	return nil
}

// disarm stops the device (magic close) so the machine can go down without a reset. It is
// called just before reboot(2); further calls do nothing.
func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disarmed {
		return
	}
	w.disarmed = true
	close(w.stop)
	if err := w.dev.disarm(); err != nil {
		logf("watchdog %s: disarm: %v", w.path, err)
		return
	}
	logf("watchdog %s disarmed", w.path)
}

func (w *watchdog) state() watchdogState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := watchdogState{
		Device: w.path, Identity: w.dev.identity(), Timeout: w.timeout.Seconds(), State: "petting",
		Problem: w.problem, LastPet: time.Since(w.lastPet).Round(time.Millisecond).Seconds(),
	}
	switch {
	case w.disarmed:
		st.State = "disarmed"
	case w.problem != "":
		st.State = "not petting"
	}
	return st
}

// printWatchdog writes keel-ctl status's watchdog line.
func printWatchdog(w io.Writer, st watchdogState) {
	fmt.Fprintf(w, "watchdog: %s, %s (%s), timeout %gs, last pet %.1fs ago", st.State, st.Device, st.Identity, st.Timeout, st.LastPet)
	if st.Problem != "" {
		fmt.Fprintf(w, ": %s", st.Problem)
	}
	fmt.Fprintln(w)
}

// kernelWatchdog is a watchdog device file.
type kernelWatchdog struct{ f *os.File }

func (d *kernelWatchdog) identity() string {
	info, err := unix.IoctlGetWatchdogInfo(int(d.f.Fd()))
	if err != nil {
		return "unknown"
	}
	return string(bytes.TrimRight(info.Identity[:], "\x00"))
}

func (d *kernelWatchdog) setTimeout(seconds int) (int, error) {
	v := int32(seconds)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), unix.WDIOC_SETTIMEOUT, uintptr(unsafe.Pointer(&v))); errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

func (d *kernelWatchdog) getTimeout() int {
	var v int32
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), unix.WDIOC_GETTIMEOUT, uintptr(unsafe.Pointer(&v))); errno != 0 {
		return 0
	}
	return int(v)
}

func (d *kernelWatchdog) keepalive() error { return unix.IoctlWatchdogKeepalive(int(d.f.Fd())) }

func (d *kernelWatchdog) disarm() error {
	if _, err := d.f.Write([]byte("V")); err != nil {
		d.f.Close()
		return fmt.Errorf("magic close: %w", err)
	}
	return d.f.Close()
}

// pid1Health reports whether PID 1 does its one job no other process can: reaping. The
// reaper must answer within limit, and no child of PID 1 may stay a zombie from one check
// to the next.
type pid1Health struct {
	reaper *reaper
	proc   string
	limit  time.Duration
	last   []int // zombies seen by the previous check

	probing chan struct{} // the reaper probe in flight, if any
}

func (h *pid1Health) check() error {
	if err := h.probeReaper(); err != nil {
		return err
	}
	z := zombieChildren(h.proc, 1)
	var stuck []int
	for _, pid := range z {
		if slices.Contains(h.last, pid) {
			stuck = append(stuck, pid)
		}
	}
	h.last = z
	if len(stuck) > 0 {
		return fmt.Errorf("zombies %v were not reaped", stuck)
	}
	return nil
}

// probeReaper takes the reaper's lock, as every dispatch does, within limit. A probe that
// does not come back is not started again until it does.
func (h *pid1Health) probeReaper() error {
	if h.probing == nil {
		h.probing = make(chan struct{})
		done := h.probing
		go func() {
			h.reaper.waiting()
			close(done)
		}()
	}
	select {
	case <-h.probing:
		h.probing = nil
		return nil
	case <-time.After(h.limit):
		return fmt.Errorf("the reaper has not answered for %s", h.limit)
	}
}

// zombieChildren lists the zombie processes whose parent is ppid, from proc (/proc).
func zombieChildren(proc string, ppid int) []int {
	dirs, _ := filepath.Glob(filepath.Join(proc, "[0-9]*"))
	var out []int
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(data[i+1:])
		if len(f) < 2 || string(f[0]) != "Z" {
			continue
		}
		if p, err := strconv.Atoi(string(f[1])); err == nil && p == ppid {
			if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}
