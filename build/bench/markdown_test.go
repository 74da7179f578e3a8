package bench

import (
	"strings"
	"testing"
)

func TestMarkdownShowsStagesRatioMemorySizesAndBuildTimes(t *testing.T) {
	tl, err := LastTimeline(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	r := &Result{
		Config: Settings{Files: []string{"examples/keel.yml"}, Runs: 1, Accel: "tcg", CPUs: 1, Mem: "1G", Cmdline: "console=ttyS0 quiet", Compression: "zstd-max"},
		Runs: []BootRun{{Kind: KindFloor, N: 1, FloorUptime: 1.7, FloorCPU: &CPU{User: 0.1, System: 1.5, Idle: 0.1}, WallSeconds: 3},
			{Kind: KindKeel, N: 1, Timeline: &tl, WallSeconds: 6}},
		Size:  Size{Kernel: 8 << 20, InitrdCompressed: 1234567, Parts: []Part{{Name: "/init", Bytes: 2 << 20, Files: 1, Links: []string{"/usr/bin/containerd"}}}},
		Build: BuildTimes{Runs: 1, Store: Stat{1, 1.5, 1.5, 1.5}, Cold: Stat{1, 4.25, 4.25, 4.25}, Warm: Stat{1, 2, 2, 2}},
	}
	r.summarize()
	md := Markdown(r)
	for _, s := range []string{
		"| floor: /init runs (the kernel alone) | 1.70 | 1.70 | 1.70 |",
		"| keel: PID 1 starts | 0.91 | 0.91 | 0.91 |",
		"| keel: all services started | 3.40 |",
		"| keel: powered off (shutdown end) | 4.20 |",
		"| keel: shutdown took | 0.70 |",
		"| **all services started / floor** (medians) | **2.00×** | | |",
		"| qemu wall time, keel | 6.00 |",
		"| PID 1 peak RSS (VmHWM) | 9,000 |",
		"| floor: busy when /init runs | 1.60 | 1.60 | 1.60 |",
		"| keel: busy when PID 1 starts | 0.85 | 0.85 | 0.85 |",
		"| keel: idle when all services started | 0.00 | 0.00 | 0.00 |",
		"| keel: busy from PID 1 start to all services started | 2.35 | 2.35 | 2.35 |",
		"| kernel | 8,388,608 | 8.00 |",
		"| initrd, zstd-max (as booted) | 1,234,567 | 1.18 |",
		"&nbsp;&nbsp;/init (one binary, also /usr/bin/containerd) | 2,097,152 | 2.00 |",
		"| cold: empty cache, pulled from a registry on 127.0.0.1 | 4.25 | 4.25 | 4.25 |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}

func TestMarkdownShowsADashForStagesNeverReached(t *testing.T) {
	r := &Result{Runs: []BootRun{{Kind: KindKeel, N: 1, Timeline: &Timeline{PID1Start: 1}}}}
	r.summarize()
	if md := Markdown(r); !strings.Contains(md, "| keel: onboot done | — | — | — |") {
		t.Errorf("no dash row for onboot done:\n%s", md)
	}
}

func TestThousandsGroupsDigitsByThree(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRestartsBootIsReportedBesideTheBootStatisticsNotInThem(t *testing.T) {
	tl, err := LastTimeline(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	after := *tl.Memory
	after.PID1RssAnon, after.PID1Goroutines, after.PID1FDs = 5600, 31, 12
	restarted := tl
	restarted.ServicesReady, restarted.ShutdownStart, restarted.ShutdownEnd = 3.4, 103.4, 104.5
	// PID 1's own sample at services ready does not count its control connection: the
	// table compares the driver's samples only.
	restarted.Memory = &Memory{PID1VmHWM: 9000, PID1RssAnon: 5400, PID1Goroutines: 28, PID1FDs: 11, ContainerdRss: 30000, ShimsRss: 20000}
	before := Memory{PID1VmHWM: 9000, PID1RssAnon: 5500, PID1Goroutines: 30, PID1FDs: 12, ContainerdRss: 30000, ShimsRss: 20000}
	half := after
	half.PID1RssAnon = 5580
	r := &Result{
		Config: Settings{Runs: 1, Restarts: 100},
		Runs: []BootRun{
			{Kind: KindFloor, N: 1, FloorUptime: 1.7},
			{Kind: KindKeel, N: 1, Timeline: &tl},
			{Kind: KindRestarts, N: 1, Timeline: &restarted, RestartSamples: []RestartSample{
				{Restarts: 0, Memory: before}, {Restarts: 50, Memory: half}, {Restarts: 100, Memory: after}}},
		},
	}
	r.summarize()
	if m, _ := metric(r.Boot, "shutdown_end"); m.N != 1 || m.Max != tl.ShutdownEnd {
		t.Errorf("shutdown_end stat %+v counts the restarts boot", m)
	}
	if r.Restarts == nil || r.Restarts.Done != 100 || r.Restarts.Requested != 100 || r.Restarts.Seconds != 100 {
		t.Fatalf("restarts = %+v", r.Restarts)
	}
	md := Markdown(r)
	for _, s := range []string{
		"100 of 100 service restarts",
		"took 100.0 s",
		"| when all services started | after 50 restarts | after 100 restarts |",
		"| PID 1 anonymous RSS (RssAnon) | 5,500 kB | 5,580 kB | 5,600 kB |",
		"| PID 1 goroutines | 30 | 31 | 31 |",
		"| PID 1 open file descriptors | 12 | 12 | 12 |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}

func TestSquashfsBootsAreComparedWithTheInitramfsBootsNotMixedIntoThem(t *testing.T) {
	tl, err := LastTimeline(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	initrd, squash := tl, tl
	initrd.Memory = &Memory{MemUsed: 60000}
	squash.PID1Start, squash.ServicesReady = 0.9, 2.5
	squash.Memory = &Memory{MemUsed: 30000}
	r := &Result{
		Config: Settings{Runs: 1},
		Size:   Size{InitrdCompressed: 13 << 20, Squashfs: 16 << 20},
		Runs: []BootRun{
			{Kind: KindFloor, N: 1, FloorUptime: 1.7},
			{Kind: KindKeel, N: 1, Timeline: &initrd, WallSeconds: 5},
			{Kind: KindSquashfs, N: 1, Timeline: &squash, WallSeconds: 4},
		},
	}
	r.summarize()
	if m, _ := metric(r.Boot, "services_ready"); m.N != 1 || m.Median != tl.ServicesReady {
		t.Errorf("services_ready %+v counts the squashfs boot", m)
	}
	if len(r.Layouts) != 2 || r.Layouts[1].Name != "kernel+squashfs" || r.Layouts[1].ServicesReady.Median != 2.5 || r.Layouts[0].MemUsed.Median != 60000 {
		t.Fatalf("layouts = %+v", r.Layouts)
	}
	md := Markdown(r)
	for _, s := range []string{
		"| kernel+initrd | 13.00 MiB |",
		"| kernel+squashfs | 16.00 MiB | 0.90 | 2.50 | 30,000 kB | 4.00 |",
		"| squashfs root (kernel+squashfs), as booted | 16,777,216 |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	r.Runs = r.Runs[:2]
	if r.summarize(); r.Layouts != nil {
		t.Errorf("one layout reported as a comparison: %+v", r.Layouts)
	}
}
