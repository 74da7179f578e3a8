package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// timelinePath is where PID 1 keeps the boot timeline; keel-ctl analyze reads it.
const timelinePath = "/run/keel/boot-timeline.json"

// timeline records when each boot and shutdown stage happened, in seconds of CLOCK_BOOTTIME:
// the kernel started at 0 on the same clock.
type timeline struct {
	mu sync.Mutex

	Clock           string  `json:"clock"`
	PID1Start       float64 `json:"pid1_start"`
	MountsDone      float64 `json:"mounts_done"`
	OnbootDone      float64 `json:"onboot_done"`
	ContainerdStart float64 `json:"containerd_start"`
	ContainerdReady float64 `json:"containerd_ready"`
	ServicesReady   float64 `json:"services_ready"`
	ShutdownStart   float64 `json:"shutdown_start"`
	ShutdownEnd     float64 `json:"shutdown_end"`
	Spans           []span  `json:"spans"`
	Memory          *memory `json:"memory,omitempty"`
}

// span is one container's (or containerd's) stretch of the boot.
type span struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// memory is sampled when the services are ready.
type memory struct {
	PID1VmHWM     int `json:"pid1_vmhwm_kb"`
	PID1RssAnon   int `json:"pid1_rss_anon_kb"`
	ContainerdRss int `json:"containerd_rss_kb"`
	ShimsRss      int `json:"shims_rss_kb"`
}

// uptime is the time since the kernel started, including suspend.
func uptime() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

func newTimeline() *timeline { return &timeline{Clock: "boottime", PID1Start: uptime()} }

// mark sets one of the stage fields to now.
func (t *timeline) mark(field *float64) {
	now := uptime()
	t.mu.Lock()
	*field = now
	t.mu.Unlock()
}

// addSpan records a span that started at start and ends now.
func (t *timeline) addSpan(name string, start float64) {
	end := uptime()
	t.mu.Lock()
	t.Spans = append(t.Spans, span{Name: name, Start: start, End: end})
	t.mu.Unlock()
}

func (t *timeline) setMemory(m *memory) {
	t.mu.Lock()
	t.Memory = m
	t.mu.Unlock()
}

// json renders the timeline with spans in start order.
func (t *timeline) json() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	sort.SliceStable(t.Spans, func(i, j int) bool { return t.Spans[i].Start < t.Spans[j].Start })
	data, _ := json.Marshal(t)
	return data
}

// save writes the timeline to timelinePath.
func (t *timeline) save() {
	data := t.json()
	tmp := timelinePath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		logf("write %s: %v", tmp, err)
		return
	}
	if err := os.Rename(tmp, timelinePath); err != nil {
		logf("write %s: %v", timelinePath, err)
	}
}

// sampleMemory reads PID 1's peak and anonymous memory and the resident memory of containerd
// and its shims.
func sampleMemory() *memory {
	m := &memory{}
	st := procStatus("/proc/self/status")
	m.PID1VmHWM, m.PID1RssAnon = st["VmHWM"], st["RssAnon"]
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
func procStatus(path string) map[string]int {
	out := map[string]int{}
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
			if n, err := strconv.Atoi(fields[0]); err == nil {
				out[k] = n
			}
		}
	}
	return out
}

// analyze prints a saved timeline as a table, like systemd-analyze blame in boot order.
func analyze(data []byte, w io.Writer) error {
	var t timeline
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
	if m := t.Memory; m != nil {
		fmt.Fprintf(w, "memory: PID 1 VmHWM %d kB, RssAnon %d kB; containerd %d kB; shims %d kB\n",
			m.PID1VmHWM, m.PID1RssAnon, m.ContainerdRss, m.ShimsRss)
	}
	return nil
}
