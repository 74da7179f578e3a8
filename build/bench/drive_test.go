package bench

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGuest is a booted machine's serial console as the driver sees it: a shell that echoes
// what is typed and runs echo and keel-ctl, PID 1's lines, and a shell of service shellOf
// that dies when that service restarts, its successor deaf to the next deafAfterRestart
// lines typed while it starts.
type fakeGuest struct {
	feed             *lineFeed
	shellOf          string
	deafAfterRestart int
	refuse           map[string]bool // services whose restart PID 1 refuses

	mu     sync.Mutex
	typed  []string
	deaf   int
	memory int // samples taken, for a growing RssAnon
}

var echoMarker = regexp.MustCompile(`echo keel-bench-\$\(\((\d+)\+1\)\)\.$`)

func (g *fakeGuest) print(lines ...string) {
	for _, l := range lines {
		fmt.Fprintf(g.feed, "%s\r\n", l)
	}
}

func (g *fakeGuest) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		g.typed = append(g.typed, line)
		if g.deaf > 0 {
			g.deaf--
			continue
		}
		g.print("keel:/# " + line)
		cmds := strings.Split(line, "; ")
		for _, cmd := range cmds {
			if !g.run(cmd) {
				break
			}
		}
	}
	return len(p), nil
}

// run runs one command; false when the shell died.
func (g *fakeGuest) run(cmd string) bool {
	switch {
	case echoMarker.MatchString(cmd):
		n, _ := strconv.Atoi(echoMarker.FindStringSubmatch(cmd)[1])
		g.print(fmt.Sprintf("keel-bench-%d.", n+1))
	case cmd == "keel-ctl memory --json":
		g.memory++
		g.print(fmt.Sprintf(`{"pid1_vmhwm_kb":28000,"pid1_rss_anon_kb":%d,"pid1_goroutines":17,"pid1_fds":16,"containerd_rss_kb":29000,"shims_rss_kb":27000}`, 5400+g.memory))
	case strings.HasPrefix(cmd, "keel-ctl restart "):
		name := strings.Fields(cmd)[2]
		if g.refuse[name] {
			g.print("keel-ctl: service " + name + " exited at once")
			return true
		}
		g.print("keel: keel-ctl: service " + name + " restart")
		if name == g.shellOf {
			g.deaf = g.deafAfterRestart
			g.print("", "Welcome to Keel. /dev/ttyS0 is a root shell.")
			return false
		}
	case cmd == "keel-ctl status":
		g.print("NAME   STATE    PID  STARTS  LAST EXIT  NEXT START  UPTIME", "getty  running  120  1       -          -           61s")
	case cmd == "keel-ctl poweroff --timeline":
		g.print("keel: power off requested", `keel: timeline {"clock":"boottime","services_ready":3.4,"shutdown_start":9,"shutdown_end":9.3}`, "keel: power off")
		g.feed.Close()
		return false
	default:
		g.print("sh: " + cmd + ": not found")
	}
	return true
}

func (g *fakeGuest) typedLines() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.typed...)
}

func newFakeGuest() (*fakeGuest, *driver) {
	g := &fakeGuest{feed: &lineFeed{}, shellOf: "getty", deafAfterRestart: 2}
	return g, &driver{in: g, feed: g.feed, boot: 5 * time.Second, step: 5 * time.Second, resend: 5 * time.Millisecond}
}

func TestDriveBootTypesNothingBeforeBootCompleteThenPowersOffWithTheTimeline(t *testing.T) {
	g, d := newFakeGuest()
	g.print("[    0.0] Linux version 6.12", "keel: onboot sysctl done in 700ms", "Welcome to Keel. /dev/ttyS0 is a root shell.")
	done := make(chan error, 1)
	go func() { done <- driveBoot(d) }()
	time.Sleep(50 * time.Millisecond)
	if typed := g.typedLines(); len(typed) != 0 {
		t.Fatalf("typed %q before PID 1 said boot complete", typed)
	}
	g.print("keel: boot complete")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	typed := g.typedLines()
	if len(typed) != 2 || !strings.HasPrefix(typed[0], "echo keel-bench-") || typed[1] != "keel-ctl poweroff --timeline" {
		t.Errorf("typed %q, want a marker, then the poweroff", typed)
	}
}

func TestDriveRestartsSamplesMemoryEachQuarterAndOutlivesRestartingItsOwnShell(t *testing.T) {
	g, d := newFakeGuest()
	g.print("keel: boot complete")
	samples, err := driveRestarts(d, []string{"getty", "web"}, 8)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, s := range samples {
		got = append(got, s.Restarts)
	}
	if fmt.Sprint(got) != "[0 2 4 6 8]" {
		t.Errorf("samples after %v restarts, want [0 2 4 6 8]", got)
	}
	if samples[0].Memory.PID1RssAnon != 5401 || samples[4].Memory.PID1RssAnon != 5405 || samples[4].Memory.PID1Goroutines != 17 {
		t.Errorf("memory read back wrong: first %+v, last %+v", samples[0].Memory, samples[4].Memory)
	}
	restarts := map[string]int{}
	for _, l := range g.typedLines() {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "restart" {
			restarts[f[2]]++
		}
	}
	if restarts["getty"] != 4 || restarts["web"] != 4 {
		t.Errorf("restarts typed %v, want 4 of each service in turn", restarts)
	}
	if typed := g.typedLines(); typed[len(typed)-1] != "keel-ctl poweroff --timeline" {
		t.Errorf("last typed %q, want the poweroff", typed[len(typed)-1])
	}
}

func TestDriveRestartsCountsOnlyRestartsPID1Made(t *testing.T) {
	g, d := newFakeGuest()
	g.refuse = map[string]bool{"broken": true}
	g.print("keel: boot complete")
	samples, err := driveRestarts(d, []string{"broken", "web"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if last := samples[len(samples)-1]; last.Restarts != 2 {
		t.Errorf("last sample after %d restarts, want 2 (web's; broken's were refused)", last.Restarts)
	}
}

func TestDriverWithoutAShellOnTheConsoleSaysWhatItNeeds(t *testing.T) {
	g, d := newFakeGuest()
	g.deaf = 1 << 30
	d.step = 100 * time.Millisecond
	g.print("keel: boot complete")
	err := driveBoot(d)
	if err == nil || !strings.Contains(err.Error(), "no shell answered") || !strings.Contains(err.Error(), "keel/getty") {
		t.Fatalf("err = %v, want one saying no shell answered and naming keel/getty", err)
	}
	if typed := g.typedLines(); len(typed) < 2 || typed[0] != typed[1] {
		t.Errorf("typed %q, want the same marker again while no shell answers", typed)
	}
}

func TestDriverStopsWaitingWhenTheConsoleEnds(t *testing.T) {
	g, d := newFakeGuest()
	g.print("[    1.2] Kernel panic - not syncing")
	g.feed.Close()
	if err := driveBoot(d); !errors.Is(err, errConsoleClosed) {
		t.Fatalf("err = %v, want errConsoleClosed", err)
	}
}

func TestLineFeedJoinsPartialWritesAndDropsCarriageReturns(t *testing.T) {
	var f lineFeed
	for _, p := range []string{"keel: boot ", "complete\r\nkeel:/# ec", "ho\r\n", "no newline yet"} {
		fmt.Fprint(&f, p)
	}
	lines, closed, _ := f.since(0)
	if fmt.Sprintf("%q", lines) != `["keel: boot complete" "keel:/# echo"]` || closed {
		t.Errorf("lines %q, closed %v", lines, closed)
	}
	if rest, _, _ := f.since(1); len(rest) != 1 || rest[0] != "keel:/# echo" {
		t.Errorf("since(1) = %q", rest)
	}
}

func TestDriverAsksForMemoryAgainWhenALineLandsInsideTheSample(t *testing.T) {
	g, d := newFakeGuest()
	g.print("keel: boot complete")
	garble := true
	d.in = writerFunc(func(p []byte) (int, error) {
		if garble && strings.HasPrefix(string(p), "keel-ctl memory") {
			garble = false
			g.print(`{"pid1_vmhwm_kb":28000,"pid1_rss_akeel: keel-ctl: service web restart`)
			mark := echoMarker.FindStringSubmatch(strings.TrimSpace(strings.SplitN(string(p), "; ", 2)[1]))
			n, _ := strconv.Atoi(mark[1])
			g.print(fmt.Sprintf("keel-bench-%d.", n+1))
			return len(p), nil
		}
		return g.Write(p)
	})
	m, err := d.memory()
	if err != nil || m.PID1RssAnon != 5401 {
		t.Fatalf("memory = %+v, %v; want the second sample", m, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
