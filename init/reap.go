package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper is PID 1's single wait4(-1) loop. It reaps every child and every orphan the kernel
// hands to PID 1, and delivers an exit status to whoever registered for that pid. Nothing
// else in PID 1 may wait for a process.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	reaped  int // processes reaped with nobody waiting (orphans)
	sigc    chan os.Signal
}

func newReaper() *reaper {
	return &reaper{waiters: map[int]chan unix.WaitStatus{}, sigc: make(chan os.Signal, 1)}
}

// start runs startFn, which must start exactly one child and return its pid, with the reaper
// held, so the child cannot be reaped before its waiter exists. The returned channel receives
// the child's wait status once.
func (r *reaper) start(startFn func() (int, error)) (int, <-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := startFn()
	if err != nil {
		return 0, nil, err
	}
	return pid, r.watchLocked(pid), nil
}

// watch registers a waiter for pid, a process that has been made PID 1's child and that
// cannot have been reaped before this call; watchRunning checks that.
func (r *reaper) watch(pid int) <-chan unix.WaitStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.watchLocked(pid)
}

// watchRunning registers a waiter for pid, a process made PID 1's child that may already
// have exited (a container's init between `runc create` and this call). One that was reaped
// before its waiter existed would never deliver a status: that is an error instead.
func (r *reaper) watchRunning(pid int) (<-chan unix.WaitStatus, error) {
	ch := r.watch(pid)
	// A zombie still exists: the reaper will deliver its status.
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		return ch, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiters[pid] != ch {
		return ch, nil // reaped after the waiter was registered: the status is on its way
	}
	delete(r.waiters, pid)
	return nil, fmt.Errorf("process %d exited before it could be watched", pid)
}

// waiting is how many processes have a waiter. It takes the lock every dispatch takes: the
// watchdog's health check calls it to see that the reaper is not stuck.
func (r *reaper) waiting() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiters)
}

func (r *reaper) watchLocked(pid int) chan unix.WaitStatus {
	ch := make(chan unix.WaitStatus, 1)
	r.waiters[pid] = ch
	return ch
}

// run reaps until stop is closed. It subscribes to SIGCHLD and drains all exited children
// after each one.
func (r *reaper) run(stop <-chan struct{}) {
	signal.Notify(r.sigc, unix.SIGCHLD)
	defer signal.Stop(r.sigc)
	for {
		r.reapAll()
		select {
		case <-r.sigc:
		case <-stop:
			return
		}
	}
}

// reapAll reaps every child that has exited, without blocking.
func (r *reaper) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.dispatch(pid, ws)
	}
}

func (r *reaper) dispatch(pid int, ws unix.WaitStatus) {
	r.mu.Lock()
	ch, ok := r.waiters[pid]
	if ok {
		delete(r.waiters, pid)
	} else {
		r.reaped++
	}
	r.mu.Unlock()
	if ok {
		ch <- ws
	}
}

// exitCode turns a wait status into a shell-style exit code (128+signal when killed).
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
