package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/keel-os/keel/timeline"
	"golang.org/x/sys/unix"
)

// recorder keeps PID 1's boot timeline (package timeline) as boot and shutdown go on.
type recorder struct {
	mu sync.Mutex
	t  timeline.Timeline
}

// uptime is the time since the kernel started, including suspend.
func uptime() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

func newRecorder() *recorder {
	return &recorder{t: timeline.Timeline{Clock: timeline.Clock, PID1Start: uptime()}}
}

// mark sets the stage field that pick selects to now.
func (r *recorder) mark(pick func(*timeline.Timeline) *float64) {
	now := uptime()
	r.mu.Lock()
	*pick(&r.t) = now
	r.mu.Unlock()
}

// get reads a stage field.
func (r *recorder) get(pick func(*timeline.Timeline) *float64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *pick(&r.t)
}

// addSpan records a span that started at start and ends now.
func (r *recorder) addSpan(name string, start float64) {
	end := uptime()
	r.mu.Lock()
	r.t.Spans = append(r.t.Spans, timeline.Span{Name: name, Start: start, End: end})
	r.mu.Unlock()
}

// sampleCPU records the machine's CPU time so far (/proc/stat) in the field pick selects.
func (r *recorder) sampleCPU(pick func(*timeline.Timeline) **timeline.CPU) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		logf("cpu time: %v", err)
		return
	}
	c, err := timeline.ParseCPU(data)
	if err != nil {
		logf("cpu time: %v", err)
		return
	}
	r.mu.Lock()
	*pick(&r.t) = &c
	r.mu.Unlock()
}

func (r *recorder) setMemory(m *timeline.Memory) {
	r.mu.Lock()
	r.t.Memory = m
	r.mu.Unlock()
}

// json renders the timeline with spans in start order.
func (r *recorder) json() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.SliceStable(r.t.Spans, func(i, j int) bool { return r.t.Spans[i].Start < r.t.Spans[j].Start })
	data, _ := json.Marshal(&r.t)
	return data
}

// save writes the timeline to timeline.Path.
func (r *recorder) save() {
	data := r.json()
	tmp := timeline.Path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		logf("write %s: %v", tmp, err)
		return
	}
	if err := os.Rename(tmp, timeline.Path); err != nil {
		logf("write %s: %v", timeline.Path, err)
	}
}

// sampleMemory reads PID 1's peak and anonymous memory and the resident memory of containerd
// and its shims.
func sampleMemory() *timeline.Memory {
	m := &timeline.Memory{}
	st := procStatus("/proc/self/status")
	m.PID1VmHWM, m.PID1RssAnon = st["VmHWM"], st["RssAnon"]
	m.PID1Goroutines = runtime.NumGoroutine()
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		m.PID1FDs = len(fds) - 1 // less the one ReadDir itself held open
	}
	if mi := procStatus("/proc/meminfo"); mi["MemTotal"] > 0 {
		m.MemUsed = mi["MemTotal"] - mi["MemAvailable"]
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		switch c := strings.TrimSpace(string(comm)); {
		case c == "containerd":
			m.ContainerdRss += procStatus(filepath.Join("/proc", e.Name(), "status"))["VmRSS"]
		case strings.HasPrefix(c, "containerd-shim"):
			m.ShimsRss += procStatus(filepath.Join("/proc", e.Name(), "status"))["VmRSS"]
		}
	}
	return m
}

// procStatus reads the kB fields of a /proc/PID/status file.
func procStatus(path string) map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 2 && fields[1] == "kB" {
			if n, err := strconv.ParseFloat(fields[0], 64); err == nil {
				out[k] = n
			}
		}
	}
	return out
}

// analyze prints a saved timeline as a table, like systemd-analyze blame in boot order.
func analyze(data []byte, w io.Writer) error {
	var t timeline.Timeline
	if err := json.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("parse timeline: %w", err)
	}
	fmt.Fprintf(w, "%-28s %9s %9s\n", "STAGE", "AT (s)", "TOOK (s)")
	row := func(name string, at, took float64) {
		if at > 0 {
			fmt.Fprintf(w, "%-28s %9.3f %9.3f\n", name, at, took)
		}
	}
	row("kernel → PID 1", t.PID1Start, t.PID1Start)
	row("mounts and modules", t.MountsDone, t.MountsDone-t.PID1Start)
	for _, s := range t.Spans {
		row(s.Name, s.Start, s.End-s.Start)
	}
	row("onboot done", t.OnbootDone, 0)
	row("containerd ready", t.ContainerdReady, t.ContainerdReady-t.ContainerdStart)
	row("services ready", t.ServicesReady, 0)
	row("shutdown", t.ShutdownStart, t.ShutdownEnd-t.ShutdownStart)
	printCPU := func(when string, c *timeline.CPU) {
		if c != nil {
			fmt.Fprintf(w, "cpu %s: busy %.2f s (user %.2f, system %.2f), idle %.2f s\n",
				when, c.Busy(), c.User, c.System, c.Idle)
		}
	}
	printCPU("at PID 1 start", t.CPUAtPID1)
	printCPU("at services ready", t.CPUAtServicesReady)
	if t.Memory != nil {
		printMemory(w, "memory at services ready", t.Memory)
	}
	return nil
}

// printMemory writes one line of a memory sample, after label.
func printMemory(w io.Writer, label string, m *timeline.Memory) {
	fmt.Fprintf(w, "%s: PID 1 VmHWM %.0f kB, RssAnon %.0f kB, %d goroutines, %d fds; containerd %.0f kB; shims %.0f kB; machine in use %.0f kB\n",
		label, m.PID1VmHWM, m.PID1RssAnon, m.PID1Goroutines, m.PID1FDs, m.ContainerdRss, m.ShimsRss, m.MemUsed)
}
