package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// containerdRestarts is containerd's restart schedule: a second, doubling up to 30 s, back
// to a second once it ran for a minute.
var containerdRestarts = restartPolicy{mode: bundle.RestartAlways, initial: time.Second, max: 30 * time.Second, reset: time.Minute}

// errStopping is why containerd is not started again: the machine goes down.
var errStopping = errors.New("the machine is going down")

// watch starts containerd again each time it dies, with backoff, until the machine goes down.
// The shims and their tasks live on without it; the restarted daemon loads them from its
// state under /system, and the services' supervisors wait on their tasks again (awaitExit).
func (c *containerd) watch() {
	bo := backoff{p: c.policy}
	var last *ctrdProc
	for {
		c.mu.Lock()
		p := c.proc
		c.mu.Unlock()
		<-p.dead
		retry := p == last // the last restart started no process
		last = p
		if c.goingDown() {
			if !c.isStopping() {
				logf("containerd exited (%s) as the machine goes down; not restarting it", describeExit(p.status))
			}
			return
		}
		c.mu.Lock()
		c.restarts++
		n := c.restarts
		c.mu.Unlock()
		var d time.Duration
		if retry {
			d = bo.delay(0)
			logf("containerd: restart %d in %s", n, d)
		} else {
			d = bo.delay(time.Since(p.started))
			logf("containerd exited (%s); restart %d in %s", describeExit(p.status), n, d)
		}
		select {
		case <-time.After(d):
		case <-c.ctx.Done():
			return
		}
		np, err := c.relaunch()
		if errors.Is(err, errStopping) {
			return
		}
		if err != nil {
			logf("containerd: restart %d: %v", n, err)
			continue // the last process is dead: the loop schedules the next attempt
		}
		live, err := c.reconnect(c.ctx, np)
		if err != nil {
			logf("containerd: restart %d: %v", n, err)
			if !isClosed(np.dead) {
				_ = unix.Kill(np.pid, unix.SIGKILL)
			}
			continue
		}
		logf("containerd restarted (pid %d); re-attached %d services", np.pid, live)
	}
}

// relaunch starts the next containerd process, unless the machine goes down.
func (c *containerd) relaunch() (*ctrdProc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping || c.ctx.Err() != nil {
		return nil, errStopping
	}
	return c.launchLocked()
}

func (c *containerd) goingDown() bool { return c.isStopping() || c.ctx.Err() != nil }

func (c *containerd) isStopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping
}

// reconnectClient waits until restarted containerd serves on its socket and the client's
// connection is back, and counts the running tasks it re-attached.
func (c *containerd) reconnectClient(ctx context.Context, p *ctrdProc) (int, error) {
	if err := waitSocket(ctx, containerdSocket, p, 60*time.Second); err != nil {
		return 0, err
	}
	// gRPC redials a lost connection with backoff (up to the client's 10 s timeout): the
	// daemon is there now, so redial at once.
	if conn, ok := c.client.Conn().(interface{ ResetConnectBackoff() }); ok {
		conn.ResetConnectBackoff()
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 500*time.Millisecond) {
		err := pingContainerd(sctx, c.client)
		if err == nil {
			break
		}
		select {
		case <-sctx.Done():
			return 0, fmt.Errorf("containerd does not answer: %w", err)
		case <-p.dead:
			return 0, fmt.Errorf("containerd exited (%s) before it answered", describeExit(p.status))
		case <-time.After(delay):
		}
	}
	return runningTasks(sctx, c.client)
}

// pingContainerd asks containerd for its version: the cheapest call, as Keel's containerd
// has no health service (plugins.go).
func pingContainerd(ctx context.Context, cl *client.Client) error {
	_, err := cl.Version(ctx)
	return err
}

// runningTasks counts the running tasks in every containerd namespace.
func runningTasks(ctx context.Context, cl *client.Client) (int, error) {
	nss, err := cl.NamespaceService().List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list namespaces: %w", err)
	}
	n := 0
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := cl.Containers(nctx)
		if err != nil {
			return n, fmt.Errorf("list containers in %s: %w", ns, err)
		}
		for _, ctr := range ctrs {
			t, err := ctr.Task(nctx, nil)
			if err != nil {
				continue // no task
			}
			if st, err := t.Status(nctx); err == nil && st.Status == client.Running {
				n++
			}
		}
	}
	return n, nil
}

// describeExit says how a process ended: "signal: killed" or "status 2".
func describeExit(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("status %d", ws.ExitStatus())
}

// containerdState is what keel-ctl status shows of containerd.
type containerdState struct {
	State    string `json:"state"` // running, restarting, stopped
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
}

func (c *containerd) state() containerdState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := containerdState{State: "stopped", Restarts: c.restarts}
	switch {
	case c.proc != nil && !isClosed(c.proc.dead):
		st.State, st.Pid = "running", c.proc.pid
	case !c.stopping && c.ctx.Err() == nil && c.client != nil:
		st.State = "restarting"
	}
	return st
}

// printContainerd writes keel-ctl status's containerd line.
func printContainerd(w io.Writer, st containerdState) {
	pid := "-"
	if st.Pid != 0 {
		pid = fmt.Sprint(st.Pid)
	}
	fmt.Fprintf(w, "containerd: %s, pid %s, restarts %d\n", st.State, pid, st.Restarts)
}

// awaitExit waits for the task's exit status. A failed wait is no exit: containerd went away
// (PID 1 restarts it) while the task runs on under its shim. Once containerd answers again,
// the task it re-attached is waited on anew; one it no longer has counts as exited with
// containerd's unknown status. up is false when the machine goes down without containerd.
func (s *service) awaitExit(task client.Task, exit <-chan client.ExitStatus) (code uint32, up bool) {
	lost, attached := 0, time.Time{}
	for {
		st := <-exit
		if st.Error() == nil {
			return st.ExitCode(), true
		}
		if time.Since(attached) > time.Minute {
			lost = 0
		}
		if lost > 0 {
			// Lost again soon after: do not spin on a wait containerd keeps failing.
			select {
			case <-time.After(min(100*time.Millisecond<<min(lost, 6), 5*time.Second)):
			case <-s.life.Done():
				return client.UnknownExitStatus, false
			}
		}
		lost++
		logf("service %s: lost the wait on its task (%v); waiting for containerd", s.name, st.Error())
		var gone bool
		if exit, gone, up = s.rewait(task); !up || gone {
			return client.UnknownExitStatus, up
		}
		attached = time.Now()
	}
}

// rewait waits until containerd answers, then waits on the task again: exit is the new wait,
// or gone is true when containerd no longer has the task. up is false when the machine goes
// down first.
func (s *service) rewait(task client.Task) (exit <-chan client.ExitStatus, gone, up bool) {
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 2*time.Second) {
		if !s.waitContainerd(nil) {
			return nil, false, false
		}
		ctx, cancel := context.WithTimeout(s.ctx(s.life), 10*time.Second)
		_, err := task.Status(ctx)
		cancel()
		switch afterLostWait(err) {
		case taskGone:
			logf("service %s: containerd no longer has its task: it counts as exited with status %d", s.name, client.UnknownExitStatus)
			return nil, true, true
		case waitAgain:
			exit, err = task.Wait(s.ctx(context.Background()))
			if err == nil {
				// st.Status is not logged: a shim containerd has just reloaded may report a
				// running task as stopped until it has asked runc again.
				logf("service %s re-attached (pid %d)", s.name, task.Pid())
				return exit, false, true
			}
		}
		select {
		case <-time.After(delay):
		case <-s.life.Done():
			return nil, false, false
		}
	}
}

// lostWait is what a wait containerd lost becomes, once containerd answers again.
type lostWait int

const (
	waitAgain  lostWait = iota // containerd has the task: wait on it again
	taskGone                   // containerd no longer has it: it counts as exited
	retryLater                 // containerd could not say
)

// afterLostWait decides from the error of asking containerd for the task's status.
func afterLostWait(statusErr error) lostWait {
	switch {
	case statusErr == nil:
		return waitAgain
	case errdefs.IsNotFound(statusErr):
		return taskGone
	}
	return retryLater
}

// waitContainerd blocks until containerd answers. It reports false when the machine goes
// down first (containerd is then not restarted) or stop is closed.
func (s *service) waitContainerd(stop <-chan struct{}) bool {
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 2*time.Second) {
		ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
		err := s.ping(ctx)
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-time.After(delay):
		case <-s.life.Done():
			return false
		case <-stop:
			return false
		}
	}
}

// withOOMScore returns a service's process with an OOM score: its own, or the kernel's default,
// 0. Without one it would inherit its shim's, close to containerd's (containerdOOMScore), and
// the OOM killer would pick containerd before it.
func withOOMScore(p *specs.Process) *specs.Process {
	if p == nil || p.OOMScoreAdj != nil {
		return p
	}
	q := *p
	q.OOMScoreAdj = new(int)
	return &q
}
