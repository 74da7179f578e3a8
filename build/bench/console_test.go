package bench

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fakeKeelConsole is a bench boot's console as PID 1 prints it: kernel noise, the timeline
// once services are up, the shutdown, the final timeline and the power-off line, with CRs.
const fakeKeelConsole = "[    0.000000] Linux version 6.1.0\r\n" +
	"keel: onboot sysctl\r\n" +
	`keel: timeline {"clock":"boottime","pid1_start":0.91,"mounts_done":0.95,"onboot_done":2.1,"containerd_start":2.1,"containerd_ready":2.6,"services_ready":3.4,"spans":[{"name":"onboot/000-sysctl","start":0.99,"end":2.1},{"name":"containerd","start":2.1,"end":2.6},{"name":"service/getty","start":2.6,"end":3.4}],"memory":{"pid1_vmhwm_kb":9000,"pid1_rss_anon_kb":6000,"containerd_rss_kb":30000,"shims_rss_kb":12000}}` + "\r\n" +
	"keel: shutting down\r\n" +
	// A kernel message may start the line the marker is on.
	`[    4.1] reboot: Power down keel: timeline {"clock":"boottime","pid1_start":0.91,"mounts_done":0.95,"onboot_done":2.1,"containerd_start":2.1,"containerd_ready":2.6,"services_ready":3.4,"shutdown_start":3.5,"shutdown_end":4.2,"spans":[{"name":"onboot/000-sysctl","start":0.99,"end":2.1},{"name":"containerd","start":2.1,"end":2.6},{"name":"service/getty","start":2.6,"end":3.4}],"memory":{"pid1_vmhwm_kb":9000,"pid1_rss_anon_kb":6000,"containerd_rss_kb":30000,"shims_rss_kb":12000},"cpu_at_pid1_start":{"user_s":0.3,"system_s":0.55,"idle_s":0.02},"cpu_at_services_ready":{"user_s":1.5,"system_s":1.7,"idle_s":0}}` + "\r\n" +
	"keel: power off\r\n"

func TestParseTimelinesReturnsBothLinesInOrderDespiteCRsAndPrefixes(t *testing.T) {
	all, err := ParseTimelines(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("got %d timelines, want 2", len(all))
	}
	if all[0].ShutdownEnd != 0 || all[1].ShutdownEnd != 4.2 {
		t.Errorf("shutdown_end = %v, %v; want 0 then 4.2", all[0].ShutdownEnd, all[1].ShutdownEnd)
	}
}

func TestLastTimelineHasEveryStageSpanMemoryAndCPUTime(t *testing.T) {
	tl, err := LastTimeline(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	want := Timeline{Clock: "boottime", PID1Start: 0.91, MountsDone: 0.95, OnbootDone: 2.1, ContainerdStart: 2.1,
		ContainerdReady: 2.6, ServicesReady: 3.4, ShutdownStart: 3.5, ShutdownEnd: 4.2}
	got := tl
	got.Spans, got.Memory, got.CPUAtPID1, got.CPUAtServicesReady = nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stages = %+v\nwant %+v", got, want)
	}
	if len(tl.Spans) != 3 || tl.Spans[0] != (Span{Name: "onboot/000-sysctl", Start: 0.99, End: 2.1}) || tl.Spans[2].Name != "service/getty" {
		t.Errorf("spans = %+v", tl.Spans)
	}
	if tl.Memory == nil || *tl.Memory != (Memory{PID1VmHWM: 9000, PID1RssAnon: 6000, ContainerdRss: 30000, ShimsRss: 12000}) {
		t.Errorf("memory = %+v", tl.Memory)
	}
	if c := tl.CPUAtPID1; c == nil || *c != (CPU{User: 0.3, System: 0.55, Idle: 0.02}) {
		t.Errorf("cpu at PID 1 start = %+v", c)
	}
	if c := tl.CPUAtServicesReady; c == nil || *c != (CPU{User: 1.5, System: 1.7}) {
		t.Errorf("cpu at services ready = %+v", c)
	}
}

func TestParseTimelinesIgnoresTextAfterTheJSONObject(t *testing.T) {
	all, err := ParseTimelines(`keel: timeline {"clock":"boottime","pid1_start":1.5} [  5.0] random: crng init done` + "\n")
	if err != nil || len(all) != 1 || all[0].PID1Start != 1.5 {
		t.Fatalf("got %+v, %v", all, err)
	}
}

func TestParseTimelinesSkipsAGarbledLineWhenAnotherDecodes(t *testing.T) {
	console := `keel: timeline {"clock":"boottime","pid1_st[  3.1] oops` + "\n" +
		`keel: timeline {"clock":"boottime","pid1_start":2}` + "\n"
	all, err := ParseTimelines(console)
	if err != nil || len(all) != 1 || all[0].PID1Start != 2 {
		t.Fatalf("got %+v, %v", all, err)
	}
}

func TestParseTimelinesReportsBadJSONWhenNoLineDecodes(t *testing.T) {
	_, err := ParseTimelines("keel: timeline {not json\n")
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want a JSON error naming line 1", err)
	}
}

func TestParseTimelinesRejectsAnotherClock(t *testing.T) {
	_, err := ParseTimelines(`keel: timeline {"clock":"monotonic","pid1_start":1}` + "\n")
	if err == nil || !strings.Contains(err.Error(), "monotonic") {
		t.Fatalf("err = %v, want a clock error", err)
	}
}

func TestParseTimelinesWithoutMarkerIsErrNoTimeline(t *testing.T) {
	_, err := LastTimeline("keel: power off\n")
	if !errors.Is(err, ErrNoTimeline) {
		t.Fatalf("err = %v, want ErrNoTimeline", err)
	}
}

func TestParseFloorReadsTheUptimeLine(t *testing.T) {
	console := "[    0.000000] Linux version\r\nkeel-floor: uptime 0.912345\r\nkeel: power off\r\n"
	got, err := ParseFloor(console)
	if err != nil || got != 0.912345 {
		t.Fatalf("ParseFloor = %v, %v; want 0.912345", got, err)
	}
}

func TestParseFloorCPUReadsTheStatLineAndIsNilWithoutOne(t *testing.T) {
	console := "keel-floor: uptime 0.912345\r\nkeel-floor: stat cpu  30 0 52 4 1 0 2 0 0 0\r\nkeel: power off\r\n"
	got, err := ParseFloorCPU(console)
	if err != nil || got == nil {
		t.Fatalf("ParseFloorCPU = %v, %v", got, err)
	}
	if got.User != 0.30 || got.Idle != 0.05 || got.System != 0.54 {
		t.Errorf("got %+v, want user 0.30, system 0.54, idle 0.05", *got)
	}
	if got, err := ParseFloorCPU("keel-floor: uptime 0.9\nkeel-floor: stat: mount /proc: no such device\n"); got != nil || err != nil {
		t.Errorf("without a stat line: %v, %v; want nil, nil", got, err)
	}
	if _, err := ParseFloorCPU("keel-floor: stat cpu 1 x 3 4\n"); err == nil || !strings.Contains(err.Error(), "console line 1") {
		t.Errorf("garbled stat line: err = %v, want one naming the console line", err)
	}
}

func TestParseFloorRejectsMissingOrNonPositiveUptime(t *testing.T) {
	if _, err := ParseFloor("keel: power off\n"); !errors.Is(err, ErrNoFloor) {
		t.Errorf("no line: err = %v, want ErrNoFloor", err)
	}
	for _, line := range []string{"keel-floor: uptime x\n", "keel-floor: uptime 0\n", "keel-floor: uptime \n"} {
		if _, err := ParseFloor(line); err == nil {
			t.Errorf("ParseFloor(%q) succeeded", line)
		}
	}
}

func TestParseMemoryReadsKeelCtlMemoryJSONAndSkipsOtherLines(t *testing.T) {
	m, ok := ParseMemory(`{"pid1_vmhwm_kb":28316,"pid1_rss_anon_kb":5504,"pid1_goroutines":17,"pid1_fds":16,"containerd_rss_kb":29344,"shims_rss_kb":27112}` + "\r")
	if !ok || m != (Memory{PID1VmHWM: 28316, PID1RssAnon: 5504, PID1Goroutines: 17, PID1FDs: 16, ContainerdRss: 29344, ShimsRss: 27112}) {
		t.Errorf("got %+v, %v", m, ok)
	}
	for _, line := range []string{"keel:/# keel-ctl memory --json; echo keel-bench-$((3+1)).", `{"error":"no"}`, "{garbled", ""} {
		if _, ok := ParseMemory(line); ok {
			t.Errorf("ParseMemory(%q) took it for a sample", line)
		}
	}
}
