package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/timeline"
)

func TestTimelineJSONKeepsSpansInStartOrderAndAnalyzePrintsEveryStage(t *testing.T) {
	tl := &recorder{t: timeline.Timeline{Clock: "boottime", PID1Start: 0.9, MountsDone: 1.0, OnbootDone: 2.0, ContainerdStart: 2.0,
		ContainerdReady: 2.5, ServicesReady: 3.0, ShutdownStart: 4.0, ShutdownEnd: 4.5}}
	tl.t.Spans = []timeline.Span{{Name: "service/getty", Start: 2.5, End: 3.0}, {Name: "onboot/000-sysctl", Start: 1.0, End: 2.0}, {Name: "containerd", Start: 2.0, End: 2.5}}
	tl.t.Memory = &timeline.Memory{PID1VmHWM: 9000, PID1RssAnon: 6000, PID1Goroutines: 30, PID1FDs: 14}
	tl.t.CPUAtServicesReady = &timeline.CPU{User: 1.25, System: 1.5, Idle: 0.25}
	var back map[string]any
	if err := json.Unmarshal(tl.json(), &back); err != nil {
		t.Fatal(err)
	}
	spans := back["spans"].([]any)
	if first := spans[0].(map[string]any)["name"]; first != "onboot/000-sysctl" {
		t.Fatalf("first span %v, want onboot/000-sysctl", first)
	}
	for _, k := range []string{"pid1_start", "mounts_done", "onboot_done", "containerd_ready", "services_ready", "shutdown_end"} {
		if _, ok := back[k]; !ok {
			t.Errorf("timeline JSON lacks %s", k)
		}
	}
	var out strings.Builder
	if err := analyze(tl.json(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kernel → PID 1", "onboot/000-sysctl", "containerd ready", "services ready", "shutdown",
		"memory at services ready: PID 1 VmHWM 9000 kB, RssAnon 6000 kB, 30 goroutines, 14 fds",
		"cpu at services ready: busy 2.75 s (user 1.25, system 1.50), idle 0.25 s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("analyze output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSampleCPUReadsThisMachinesCPUTime(t *testing.T) {
	var r recorder
	r.sampleCPU(func(t *timeline.Timeline) **timeline.CPU { return &t.CPUAtPID1 })
	c := r.t.CPUAtPID1
	if c == nil {
		t.Fatal("no CPU time recorded")
	}
	if c.Busy() <= 0 || c.Idle < 0 {
		t.Errorf("cpu %+v: a running machine has spent some time busy", *c)
	}
}

func TestUptimeIsMonotonic(t *testing.T) {
	a, b := uptime(), uptime()
	if a <= 0 || b < a {
		t.Fatalf("uptime %v then %v", a, b)
	}
}

func TestSampleMemoryCountsThisProcesssGoroutinesAndOpenFiles(t *testing.T) {
	start := sampleMemory()
	stop := make(chan struct{})
	defer close(stop)
	for range 100 {
		go func() { <-stop }()
	}
	// Earlier tests' goroutines may still be closing descriptors of their own: count again
	// until the one file opened between two samples is the only change.
	var before, after *timeline.Memory
	for try := 0; try < 20; try++ {
		before = sampleMemory()
		f, err := os.Open("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		after = sampleMemory()
		f.Close()
		if after.PID1FDs == before.PID1FDs+1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after.PID1RssAnon <= 0 || after.PID1VmHWM <= 0 {
		t.Errorf("memory not read: %+v", after)
	}
	if after.PID1FDs != before.PID1FDs+1 {
		t.Errorf("fds %d after opening one file, %d before", after.PID1FDs, before.PID1FDs)
	}
	if after.PID1Goroutines < 100 || after.PID1Goroutines < start.PID1Goroutines+90 {
		t.Errorf("goroutines %d after starting 100, %d before", after.PID1Goroutines, start.PID1Goroutines)
	}
}
