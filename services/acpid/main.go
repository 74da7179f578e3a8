// Command acpid powers the machine off cleanly when its power button is pressed, as
// LinuxKit's acpid (busybox acpid) does: it reads every evdev device that can emit
// KEY_POWER (the ACPI power button on amd64, a GPIO power key on arm64's virt machine,
// both of which qemu's system_powerdown presses) and asks PID 1 to power off over its
// control socket. Devices that appear later are found through inotify on the input
// directory, or by rescanning it when inotify is unavailable.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keel-os/keel/guest"
	"golang.org/x/sys/unix"
)

// rescanInterval is how often the input directory is listed when inotify cannot watch it.
const rescanInterval = 5 * time.Second

func main() {
	fs := flag.NewFlagSet("acpid", flag.ExitOnError)
	dir := fs.String("input", "/dev/input", "directory of the evdev devices (event*)")
	socket := fs.String("socket", guest.ControlSocket, "PID 1's control socket")
	window := fs.Duration("debounce", 3*time.Second, "presses within this long of the last one are ignored")
	// LinuxKit's acpid takes busybox acpid's flags (-f, -d, ...): they do not apply here.
	_ = fs.Parse(knownFlags(os.Args[1:]))

	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	client := newControlClient(*socket)
	d := newDaemon(*dir, &debouncer{window: *window}, client.powerOff)
	go d.watchDir(ctx)
	d.serve(ctx)
	logf("stopping")
}

// knownFlags drops the arguments that are not acpid's own flags (busybox acpid's, which a
// LinuxKit file may pass), so that such a file still starts acpid.
func knownFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case !strings.HasPrefix(args[i], "-"):
		case name == "h" || name == "help":
			out = append(out, args[i])
			continue
		case name == "input" || name == "socket" || name == "debounce":
			out = append(out, args[i])
			if !hasValue && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		fmt.Fprintf(os.Stderr, "acpid: ignoring argument %q\n", args[i])
	}
	return out
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "acpid: "+format+"\n", args...)
}

// daemon watches the input devices and turns power key presses into poweroff requests.
type daemon struct {
	dir      string
	debounce *debouncer
	power    func(context.Context) error // asks PID 1 to power off
	logf     func(format string, args ...any)
	now      func() time.Time
	// open opens a device that can emit KEY_POWER, returning its name; errNoPowerKey
	// when it cannot.
	open    func(path string) (io.ReadCloser, string, error)
	presses chan string // the device of each press

	mu      sync.Mutex
	devices map[string]bool // path: being read (true), or probed and skipped (false)
}

func newDaemon(dir string, deb *debouncer, power func(context.Context) error) *daemon {
	return &daemon{
		dir:      dir,
		debounce: deb,
		power:    power,
		logf:     logf,
		now:      time.Now,
		open: func(path string) (io.ReadCloser, string, error) {
			return openPowerDevice(path)
		},
		presses: make(chan string, 16),
		devices: map[string]bool{},
	}
}

// serve handles presses until ctx is done.
func (d *daemon) serve(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case dev := <-d.presses:
			d.handle(ctx, dev)
		}
	}
}

// handle asks PID 1 to power off unless a press was let through within the debounce
// window; after a failed request the next press tries again.
func (d *daemon) handle(ctx context.Context, dev string) {
	if !d.debounce.allow(d.now()) {
		d.logf("power button pressed again (%s): ignored, power off already asked", dev)
		return
	}
	d.logf("power button pressed: asking PID 1 to power off")
	if err := d.power(ctx); err != nil {
		d.logf("power off: %v", err)
		d.debounce.reset()
	}
}

// add starts reading the device at path unless it is being read or was skipped; after
// forget, a path is probed again (a new device under a reused name).
func (d *daemon) add(path string) {
	d.mu.Lock()
	if _, seen := d.devices[path]; seen {
		d.mu.Unlock()
		return
	}
	d.devices[path] = false
	d.mu.Unlock()
	r, name, err := d.open(path)
	if err != nil {
		if errors.Is(err, errNoPowerKey) {
			d.logf("not watching %s: it has no power key", path)
		} else {
			d.logf("not watching %v", err)
		}
		return
	}
	d.mu.Lock()
	d.devices[path] = true
	d.mu.Unlock()
	d.logf("watching %s (%s)", path, name)
	go d.read(path, r)
}

// read reads presses from the device until it fails (it was unplugged).
func (d *daemon) read(path string, r io.ReadCloser) {
	defer r.Close()
	err := readPresses(r, binary.NativeEndian, wordSize, func() { d.presses <- path })
	if errors.Is(err, io.EOF) {
		err = errors.New("end of events")
	}
	d.logf("no longer watching %s: %v", path, err)
	d.forget(path)
}

// forget lets add probe path again.
func (d *daemon) forget(path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.devices, path)
}

// retry adds path again if it was skipped: a new node, or one whose mode changed.
func (d *daemon) retry(path string) {
	d.mu.Lock()
	if reading, seen := d.devices[path]; seen && !reading {
		delete(d.devices, path)
	}
	d.mu.Unlock()
	d.add(path)
}

// scan adds every event* device of the directory.
func (d *daemon) scan() {
	paths, _ := filepath.Glob(filepath.Join(d.dir, "event*"))
	sort.Strings(paths)
	for _, p := range paths {
		d.add(p)
	}
}

// watchDir scans the input directory, then adds devices as they appear: through inotify,
// or by rescanning every rescanInterval when inotify cannot watch the directory.
func (d *daemon) watchDir(ctx context.Context) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err == nil {
		if _, err = unix.InotifyAddWatch(fd, d.dir, unix.IN_CREATE|unix.IN_ATTRIB|unix.IN_MOVED_TO); err != nil {
			unix.Close(fd)
			err = fmt.Errorf("inotify %s: %w", d.dir, err)
		}
	} else {
		err = fmt.Errorf("inotify: %w", err)
	}
	d.scan()
	if err != nil {
		d.logf("%v: rescanning every %s instead", err, rescanInterval)
		t := time.NewTicker(rescanInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.scan()
			}
		}
	}
	// Non-blocking, the descriptor goes to Go's poller, so closing it ends the read.
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() == nil {
				d.logf("inotify %s: %v", d.dir, err)
			}
			return
		}
		for _, name := range inotifyNames(buf[:n]) {
			if strings.HasPrefix(name, "event") {
				d.retry(filepath.Join(d.dir, name))
			}
		}
	}
}

// inotifyNames returns the names of the struct inotify_event records in b.
func inotifyNames(b []byte) []string {
	var names []string
	for len(b) >= unix.SizeofInotifyEvent {
		n := int(binary.NativeEndian.Uint32(b[12:16]))
		end := unix.SizeofInotifyEvent + n
		if end > len(b) {
			break
		}
		if name := cString(b[unix.SizeofInotifyEvent:end]); name != "" {
			names = append(names, name)
		}
		b = b[end:]
	}
	return names
}
