package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeWatchdog counts what PID 1 does to the device.
type fakeWatchdog struct {
	mu         sync.Mutex
	keepalives int
	disarms    int
}

func (f *fakeWatchdog) identity() string                    { return "fake" }
func (f *fakeWatchdog) setTimeout(seconds int) (int, error) { return seconds, nil }
func (f *fakeWatchdog) keepalive() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keepalives++
	return nil
}
func (f *fakeWatchdog) disarm() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disarms++
	return nil
}
func (f *fakeWatchdog) pets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keepalives
}

func TestTheWatchdogIsPettedOnlyWhilePID1IsHealthy(t *testing.T) {
	log := captureLog(t)
	dev := &fakeWatchdog{}
	var problem error
	w := newWatchdog(dev, "/dev/watchdog", 8*time.Second, func() error { return problem })
	w.tick()
	w.tick()
	if dev.pets() != 2 || w.state().State != "petting" {
		t.Fatalf("healthy: %d pets, state %+v", dev.pets(), w.state())
	}
	problem = errors.New("the reaper has not answered for 4s")
	w.tick()
	w.tick()
	if dev.pets() != 2 {
		t.Errorf("petted while unhealthy: %d", dev.pets())
	}
	if st := w.state(); st.State != "not petting" || st.Problem != problem.Error() {
		t.Errorf("state %+v", st)
	}
	if n := strings.Count(log.String(), "no longer petting"); n != 1 {
		t.Errorf("the problem was logged %d times, want once:\n%s", n, log.String())
	}
	problem = nil
	w.tick()
	if dev.pets() != 3 || !strings.Contains(log.String(), "PID 1 recovered") {
		t.Errorf("after recovery: %d pets\n%s", dev.pets(), log.String())
	}
}

func TestAWatchdogTestStopsPettingForGoodAndDisarmStopsTheDevice(t *testing.T) {
	captureLog(t)
	dev := &fakeWatchdog{}
	w := newWatchdog(dev, "/dev/watchdog", 8*time.Second, func() error { return nil })
	if err := w.test(); err != nil {
		t.Fatal(err)
	}
	w.tick()
	if dev.pets() != 0 || w.state().State != "not petting" {
		t.Errorf("petted during a test: %d, %+v", dev.pets(), w.state())
	}
	w.disarm()
	w.disarm()
	if dev.disarms != 1 || w.state().State != "disarmed" {
		t.Errorf("disarms %d, state %+v", dev.disarms, w.state())
	}
	if err := w.test(); err == nil {
		t.Error("a disarmed watchdog accepted a test")
	}
}

func TestTheWatchdogLoopPetsEveryQuarterTimeoutUntilDisarmed(t *testing.T) {
	captureLog(t)
	dev := &fakeWatchdog{}
	w := newWatchdog(dev, "/dev/watchdog", time.Second, func() error { return nil })
	if w.interval != 250*time.Millisecond {
		t.Fatalf("interval %s", w.interval)
	}
	done := make(chan struct{})
	go func() { w.run(); close(done) }()
	eventually(t, "three pets", func() bool { return dev.pets() >= 3 })
	w.disarm()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after disarm")
	}
}

// writeStat writes a /proc/PID/stat line for a fake process.
func writeStat(t *testing.T, proc string, pid int, comm, state string, ppid int) {
	t.Helper()
	dir := filepath.Join(proc, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	line := strconv.Itoa(pid) + " (" + comm + ") " + state + " " + strconv.Itoa(ppid) + " 1 1 0 -1\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAZombieLeftFromOneCheckToTheNextMakesPID1Unhealthy(t *testing.T) {
	proc := t.TempDir()
	writeStat(t, proc, 40, "sh", "S", 1)
	writeStat(t, proc, 41, "odd) Z 1 (name", "Z", 1) // a comm with spaces and parentheses
	writeStat(t, proc, 42, "child", "Z", 40)         // not PID 1's
	if got := zombieChildren(proc, 1); !slices.Equal(got, []int{41}) {
		t.Fatalf("zombies %v, want [41]", got)
	}
	h := &pid1Health{reaper: newReaper(), proc: proc, limit: time.Second}
	if err := h.check(); err != nil {
		t.Fatalf("first sight of a zombie: %v", err)
	}
	if err := h.check(); err == nil || !strings.Contains(err.Error(), "zombies [41] were not reaped") {
		t.Errorf("second sight: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(proc, "41")); err != nil {
		t.Fatal(err)
	}
	if err := h.check(); err != nil {
		t.Errorf("once reaped: %v", err)
	}
}

func TestAReaperHoldingItsLockMakesPID1Unhealthy(t *testing.T) {
	r := newReaper()
	h := &pid1Health{reaper: r, proc: t.TempDir(), limit: 50 * time.Millisecond}
	if err := h.check(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	if err := h.check(); err == nil || !strings.Contains(err.Error(), "the reaper has not answered") {
		t.Errorf("wedged reaper: %v", err)
	}
	r.mu.Unlock()
	eventually(t, "the reaper answers again", func() bool { return h.check() == nil })
}
