package main

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func startCmd(t *testing.T, r *reaper, name string, args ...string) (int, <-chan unix.WaitStatus) {
	t.Helper()
	pid, ch, err := r.start(func() (int, error) {
		cmd := exec.Command(name, args...)
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pid, ch
}

func waitStatus(t *testing.T, ch <-chan unix.WaitStatus) unix.WaitStatus {
	t.Helper()
	select {
	case ws := <-ch:
		return ws
	case <-time.After(10 * time.Second):
		t.Fatal("no exit status delivered")
	}
	return 0
}

func TestReaperDeliversExitStatusToTheWaiterOfEachPid(t *testing.T) {
	r := newReaper()
	stop := make(chan struct{})
	defer close(stop)
	go r.run(stop)

	_, ok := startCmd(t, r, "sh", "-c", "exit 0")
	_, bad := startCmd(t, r, "sh", "-c", "exit 7")
	_, killed := startCmd(t, r, "sh", "-c", "kill -9 $$")
	if got := exitCode(waitStatus(t, ok)); got != 0 {
		t.Errorf("exit 0: got %d", got)
	}
	if got := exitCode(waitStatus(t, bad)); got != 7 {
		t.Errorf("exit 7: got %d", got)
	}
	if got := exitCode(waitStatus(t, killed)); got != 128+9 {
		t.Errorf("kill -9: got %d", got)
	}
}

func TestReaperReapsOrphansHandedToTheSubreaper(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	r := newReaper()
	stop := make(chan struct{})
	defer close(stop)
	go r.run(stop)

	// The shell leaves 20 orphans behind, which are reparented to us and must be reaped.
	_, ch := startCmd(t, r, "sh", "-c", "for i in $(seq 20); do (sleep 0.2 &) ; done; exit 0")
	waitStatus(t, ch)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := r.reaped
		r.mu.Unlock()
		if n >= 20 && zombies(t) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("orphans not reaped: reaped=%d zombies=%d", r.reaped, zombies(t))
}

// zombies counts this process's zombie children.
func zombies(t *testing.T) int {
	entries, _ := os.ReadDir("/proc")
	n, self := 0, os.Getpid()
	for _, e := range entries {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		_, state, ppid, err := parseStat(string(data))
		if err != nil {
			continue
		}
		if ppid == self && state == 'Z' {
			n++
		}
	}
	return n
}

// orphanPid starts a child the reaper has no waiter for, as a container's init is after
// `runc create`, and returns its pid.
func orphanPid(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestWatchingAProcessReapedBeforeItsWaiterExistedFailsInsteadOfHanging(t *testing.T) {
	r := newReaper()
	pid := orphanPid(t, "true")
	// The reaper reaps it with nobody waiting, as between `runc create` and the watch.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r.reapAll()
		r.mu.Lock()
		n := r.reaped
		r.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child not reaped")
		}
	}
	ch, err := r.watchRunning(pid)
	if err == nil {
		select {
		case <-ch:
		case <-time.After(2 * time.Second):
			t.Fatal("watching a reaped process: no error and no status, a boot would hang here")
		}
	}
	if len(r.waiters) != 0 {
		t.Errorf("waiters left: %v", r.waiters)
	}
}

func TestWatchingALiveOrZombieProcessDeliversItsStatus(t *testing.T) {
	r := newReaper()
	stop := make(chan struct{})
	defer close(stop)
	live := orphanPid(t, "sh", "-c", "sleep 0.2; exit 3")
	zombie := orphanPid(t, "sh", "-c", "exit 4")
	time.Sleep(100 * time.Millisecond) // the second one exits, unreaped: a zombie
	liveCh, err := r.watchRunning(live)
	if err != nil {
		t.Fatal(err)
	}
	zombieCh, err := r.watchRunning(zombie)
	if err != nil {
		t.Fatal(err)
	}
	go r.run(stop)
	if got := exitCode(waitStatus(t, liveCh)); got != 3 {
		t.Errorf("live: got %d", got)
	}
	if got := exitCode(waitStatus(t, zombieCh)); got != 4 {
		t.Errorf("zombie: got %d", got)
	}
}
