package bench

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// threshold is a guest that passes with at least need MiB.
func threshold(need int, probed *[]int) probeFunc {
	return func(mib int) (MemProbe, error) {
		*probed = append(*probed, mib)
		if mib < need {
			return MemProbe{Why: "out of memory"}, nil
		}
		return MemProbe{OK: true}, nil
	}
}

func TestBisectMemFindsTheThresholdToTheResolution(t *testing.T) {
	for _, c := range []struct {
		name                 string
		low, high, res, need int
		wantMiB, wantFailed  int
		maxProbes            int
	}{
		{"initrd-like", 32, 1024, 4, 57, 0, 0, 10},
		{"squashfs-like", 32, 1024, 4, 41, 0, 0, 10},
		{"exactly a probe", 32, 1024, 4, 528, 0, 0, 10},
		{"resolution 8", 32, 1024, 8, 100, 0, 0, 9},
		{"resolution 1", 32, 1024, 1, 77, 77, 76, 12},
		{"low bound passes", 32, 1024, 4, 16, 32, 0, 2},
		{"just above low", 32, 1024, 4, 33, 0, 0, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			var probed []int
			m, err := bisectMem(c.low, c.high, c.res, threshold(c.need, &probed))
			if err != nil {
				t.Fatal(err)
			}
			if probed[0] != c.high || probed[1] != c.low {
				t.Errorf("probed %v: want the high bound, then the low", probed)
			}
			if len(probed) > c.maxProbes || len(m.Probes) != len(probed) {
				t.Errorf("%d probes (%d recorded): %v, want at most %d", len(probed), len(m.Probes), probed, c.maxProbes)
			}
			if c.wantMiB != 0 && (m.MiB != c.wantMiB || m.Failed != c.wantFailed) {
				t.Errorf("MiB %d, failed %d; want %d, %d", m.MiB, m.Failed, c.wantMiB, c.wantFailed)
			}
			if m.MiB < c.need {
				t.Errorf("MiB %d is below the threshold %d", m.MiB, c.need)
			}
			if m.Failed != 0 && (m.Failed >= c.need || m.MiB-m.Failed > c.res) {
				t.Errorf("failed at %d, passed at %d: not a failure within %d MiB below the threshold %d", m.Failed, m.MiB, c.res, c.need)
			}
			for _, p := range m.Probes {
				if p.OK != (p.MiB >= c.need) {
					t.Errorf("probe %d MiB recorded ok=%v", p.MiB, p.OK)
				}
			}
		})
	}
}

func TestBisectMemReportsAHighBoundThatFailsAsAnError(t *testing.T) {
	var probed []int
	m, err := bisectMem(32, 1024, 4, threshold(2048, &probed))
	if err == nil || !strings.Contains(err.Error(), "1024 MiB") || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("err = %v, want one naming the high bound and why it failed", err)
	}
	if len(probed) != 1 || len(m.Probes) != 1 || m.MiB != 0 {
		t.Errorf("probed %v, MiB %d: want the high bound alone and no result", probed, m.MiB)
	}
}

func TestBisectMemStopsAtAProbeError(t *testing.T) {
	stop := errors.New("interrupted")
	n := 0
	_, err := bisectMem(32, 1024, 4, func(int) (MemProbe, error) {
		n++
		if n == 3 {
			return MemProbe{}, stop
		}
		return MemProbe{OK: n == 1}, nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("err = %v after %d probes, want the probe's error after 3", err, n)
	}
}

func TestBisectMemRefusesABadRange(t *testing.T) {
	for _, r := range [][3]int{{32, 32, 4}, {64, 32, 4}, {32, 1024, 0}, {0, 1024, 4}} {
		if _, err := bisectMem(r[0], r[1], r[2], func(int) (MemProbe, error) { return MemProbe{OK: true}, nil }); err == nil {
			t.Errorf("bisectMem%v succeeded", r)
		}
	}
}

func TestServicesHealthyWantsEveryServiceRunningAndStartedOnce(t *testing.T) {
	table := []string{
		"keel:/# keel-ctl status; echo keel-bench-$((2+1)).",
		"NAME    STATE       PID  STARTS  LAST EXIT  NEXT START  UPTIME",
		"getty   running     120  1       -          -           61s",
		"sshd    running     130  1       -          -           61s",
		"containerd: running, pid 90",
	}
	if err := servicesHealthy(table, []string{"getty", "sshd"}); err != nil {
		t.Errorf("healthy table: %v", err)
	}
	restarted := append([]string(nil), table...)
	restarted[3] = "sshd    running     131  2       137        -           3s"
	if err := servicesHealthy(restarted, []string{"getty", "sshd"}); err == nil || !strings.Contains(err.Error(), "sshd") {
		t.Errorf("restarted sshd: err = %v", err)
	}
	waiting := append([]string(nil), table...)
	waiting[3] = "sshd    restarting  -    1       137        in 1s       -"
	if err := servicesHealthy(waiting, []string{"getty", "sshd"}); err == nil {
		t.Error("a restarting service passed")
	}
	if err := servicesHealthy(table, []string{"getty", "sshd", "ntpd"}); err == nil || !strings.Contains(err.Error(), "ntpd") {
		t.Errorf("missing ntpd: err = %v", err)
	}
}

func TestDriveMinMemStaysUpChecksServicesAndPowersOff(t *testing.T) {
	g, d := newFakeGuest()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- driveMinMem(d, []string{"getty"}, 100*time.Millisecond) }()
	g.print("keel: boot complete")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("powered off before the stay was over")
	}
	typed := g.typedLines()
	if len(typed) != 3 || !strings.HasPrefix(typed[1], "keel-ctl status; ") || typed[2] != "keel-ctl poweroff --timeline" {
		t.Errorf("typed %q, want a marker, keel-ctl status, the poweroff", typed)
	}
}

func TestDriveMinMemFailsOnAnOOMKill(t *testing.T) {
	for _, c := range []struct{ name, before, after string }{
		{"during boot", "[    2.1] Out of memory: Killed process 91 (containerd)", ""},
		{"during the stay", "", "[   30.0] Out of memory: Killed process 120 (getty)"},
		{"initramfs too large", "[    0.9] Initramfs unpacking failed: write error", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, d := newFakeGuest()
			done := make(chan error, 1)
			go func() { done <- driveMinMem(d, []string{"getty"}, time.Second) }()
			if c.before != "" {
				g.print(c.before)
			}
			g.print("keel: boot complete")
			if c.after != "" {
				g.print(c.after)
			}
			err := <-done
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(c.before+c.after)) {
				t.Errorf("err = %v, want the console line", err)
			}
			if typed := g.typedLines(); len(typed) != 0 {
				t.Errorf("typed %q at a guest short of memory", typed)
			}
		})
	}
}

func TestDriveMinMemFailsWhenTheGuestEndsDuringTheStay(t *testing.T) {
	g, d := newFakeGuest()
	done := make(chan error, 1)
	go func() { done <- driveMinMem(d, []string{"getty"}, 5*time.Second) }()
	g.print("keel: boot complete")
	g.feed.Close()
	if err := <-done; !errors.Is(err, errConsoleClosed) {
		t.Errorf("err = %v, want the console's end", err)
	}
}

func TestMarkdownShowsTheMinimumMemoryOfEachLayoutAndItsProbes(t *testing.T) {
	r := &Result{
		Config: Settings{MinMemResolution: 4, MinMemStay: 60},
		MinMemory: []MinMem{
			{Name: "kernel+initrd", MiB: 60, Failed: 56, Probes: []MemProbe{{MiB: 1024, OK: true}, {MiB: 32}, {MiB: 528, OK: true}}},
			{Name: "kernel+squashfs", MiB: 32, Probes: []MemProbe{{MiB: 1024, OK: true}, {MiB: 32, OK: true}}},
		},
	}
	md := Markdown(r)
	for _, s := range []string{
		"| smallest `-m` that reaches services-ready and stays up 60 s | kernel+initrd | kernel+squashfs |\n|---|--:|--:|\n",
		"| MiB (to 4 MiB) | **60** | ≤ 32 |",
		"| probes (MiB: ✓ passed, ✗ failed) | 1024 ✓, 32 ✗, 528 ✓ | 1024 ✓, 32 ✓ |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	r.MinMemory[1] = MinMem{Name: "kernel+squashfs", Error: "the guest failed with 1024 MiB", Probes: []MemProbe{{MiB: 1024}}}
	md = Markdown(r)
	if !strings.Contains(md, "| MiB (to 4 MiB) | **60** | — |") || !strings.Contains(md, "kernel+squashfs: no minimum found: the guest failed with 1024 MiB") {
		t.Errorf("no dash and error for a failed search:\n%s", md)
	}
	if md := Markdown(&Result{}); strings.Contains(md, "smallest `-m`") {
		t.Errorf("a minimum-memory table without a search:\n%s", md)
	}
}

func TestOptionsSearchTheMinimumMemoryTo4MiBWithAMinuteStayUnlessTold(t *testing.T) {
	o := Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir()}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	if o.MinMem != 4 || o.MinMemStay != time.Minute {
		t.Errorf("defaults: MinMem %d, MinMemStay %s; want 4 and 1m", o.MinMem, o.MinMemStay)
	}
	o = Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir(), MinMem: -1, MinMemStay: 3 * time.Second}
	if err := o.defaults(); err != nil || o.MinMem != -1 || o.MinMemStay != 3*time.Second {
		t.Errorf("skip, 3s: MinMem %d, MinMemStay %s, %v", o.MinMem, o.MinMemStay, err)
	}
	o = Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir(), Mem: "lots"}
	if err := o.defaults(); err == nil || !strings.Contains(err.Error(), "lots") {
		t.Errorf("Mem lots: err = %v, want one naming it", err)
	}
}
