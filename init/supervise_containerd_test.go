package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// syncBuffer is a log the code under test writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureLog sends PID 1's messages to a buffer until the test ends.
func captureLog(t *testing.T) *syncBuffer {
	t.Helper()
	var b syncBuffer
	defaultConsole.mu.Lock()
	old := defaultConsole.out
	defaultConsole.out = &b
	defaultConsole.mu.Unlock()
	t.Cleanup(func() {
		defaultConsole.mu.Lock()
		defaultConsole.out = old
		defaultConsole.mu.Unlock()
	})
	return &b
}

func mustLog(t *testing.T, log *syncBuffer, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(log.String(), "keel: "+l+"\n") {
			t.Errorf("log lacks %q:\n%s", l, log)
		}
	}
}

// fakeContainerd runs sleep processes as containerd, reaped by a reaper of its own.
type fakeContainerd struct {
	*containerd
	r           *reaper
	mu          sync.Mutex
	spawned     []int
	failSpawns  int      // the next spawns that fail
	reconnected chan int // the pid of each process reconnect was called for
}

func newFakeContainerd(t *testing.T, ctx context.Context) *fakeContainerd {
	t.Helper()
	f := &fakeContainerd{r: newReaper(), reconnected: make(chan int, 16)}
	stop := make(chan struct{})
	go f.r.run(stop)
	f.containerd = &containerd{ctx: ctx, policy: restartPolicy{mode: bundle.RestartAlways, initial: time.Millisecond, max: 2 * time.Millisecond, reset: time.Hour}}
	f.spawn = func() (int, <-chan unix.WaitStatus, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.failSpawns > 0 {
			f.failSpawns--
			return 0, nil, errors.New("exec: no containerd")
		}
		pid, ch, err := f.r.start(func() (int, error) {
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			return cmd.Process.Pid, nil
		})
		if err == nil {
			f.spawned = append(f.spawned, pid)
		}
		return pid, ch, err
	}
	f.reconnect = func(ctx context.Context, p *ctrdProc) (int, error) {
		f.reconnected <- p.pid
		return 3, nil
	}
	f.mu.Lock()
	f.failSpawns = 0
	f.mu.Unlock()
	f.containerd.mu.Lock()
	_, err := f.launchLocked()
	f.containerd.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.containerd.mu.Lock()
		f.stopping = true
		p := f.proc
		f.containerd.mu.Unlock()
		_ = unix.Kill(p.pid, unix.SIGKILL)
		<-p.dead
		close(stop)
	})
	return f
}

func (f *fakeContainerd) spawns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.spawned)
}

// watching runs watch and returns a channel closed when it returns.
func (f *fakeContainerd) watching() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		f.watch()
		close(done)
	}()
	return done
}

func (f *fakeContainerd) killCurrent(t *testing.T) int {
	t.Helper()
	f.containerd.mu.Lock()
	pid := f.proc.pid
	f.containerd.mu.Unlock()
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return pid
}

func (f *fakeContainerd) awaitReconnect(t *testing.T, old int) int {
	t.Helper()
	select {
	case pid := <-f.reconnected:
		if pid == old {
			t.Fatalf("reconnected to the dead process %d", old)
		}
		return pid
	case <-time.After(10 * time.Second):
		t.Fatal("containerd was not restarted")
	}
	return 0
}

func TestContainerdIsRestartedWithBackoffEachTimeItDiesUntilStopped(t *testing.T) {
	log := captureLog(t)
	f := newFakeContainerd(t, context.Background())
	done := f.watching()
	pid := 0
	for i := 0; i < 3; i++ {
		pid = f.awaitReconnect(t, f.killCurrent(t))
	}
	if st := f.state(); st != (containerdState{State: "running", Pid: pid, Restarts: 3}) {
		t.Errorf("state %+v, want running as pid %d after 3 restarts", st, pid)
	}
	mustLog(t, log,
		"containerd exited (signal: killed); restart 1 in 1ms",
		"containerd exited (signal: killed); restart 2 in 2ms",
		"containerd exited (signal: killed); restart 3 in 2ms",
		fmt.Sprintf("containerd restarted (pid %d); re-attached 3 services", pid))

	if err := f.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("supervision did not end once containerd was stopped")
	}
	if n := f.spawns(); n != 4 {
		t.Errorf("%d processes started, want 4: stop must not restart containerd", n)
	}
	if st := f.state(); st.State != "stopped" || st.Restarts != 3 {
		t.Errorf("state after stop %+v", st)
	}
}

func TestAContainerdThatCannotBeStartedIsTriedAgainLater(t *testing.T) {
	log := captureLog(t)
	f := newFakeContainerd(t, context.Background())
	f.policy.max, f.policy.reset = 8*time.Millisecond, 50*time.Millisecond
	f.mu.Lock()
	f.failSpawns = 2
	f.mu.Unlock()
	f.watching()
	time.Sleep(60 * time.Millisecond) // a healthy run: the schedule starts over
	f.awaitReconnect(t, f.killCurrent(t))
	mustLog(t, log, "containerd exited (signal: killed); restart 1 in 1ms",
		"containerd: restart 1: exec: no containerd", "containerd: restart 2 in 2ms",
		"containerd: restart 2: exec: no containerd", "containerd: restart 3 in 4ms")
	if st := f.state(); st.Restarts != 3 || st.State != "running" {
		t.Errorf("state %+v, want running after 3 restart attempts", st)
	}
}

func TestContainerdDyingAsTheMachineGoesDownIsNotRestarted(t *testing.T) {
	log := captureLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	f := newFakeContainerd(t, ctx)
	done := f.watching()
	cancel()
	f.killCurrent(t)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("supervision did not end")
	}
	if n := f.spawns(); n != 1 {
		t.Errorf("containerd started %d times, want once", n)
	}
	mustLog(t, log, "containerd exited (signal: killed) as the machine goes down; not restarting it")
}

func TestDescribeExitNamesTheSignalOrTheStatus(t *testing.T) {
	for ws, want := range map[unix.WaitStatus]string{
		unix.WaitStatus(unix.SIGKILL): "signal: killed",
		unix.WaitStatus(2 << 8):       "status 2",
		0:                             "status 0",
	} {
		if got := describeExit(ws); got != want {
			t.Errorf("describeExit(%#x) = %q, want %q", uint32(ws), got, want)
		}
	}
}

func TestAfterALostWaitOnlyATaskContainerdDoesNotHaveCountsAsExited(t *testing.T) {
	for _, c := range []struct {
		err  error
		want lostWait
	}{
		{nil, waitAgain},
		{fmt.Errorf("get task: %w", errdefs.ErrNotFound), taskGone},
		{errdefs.ErrUnavailable, retryLater},
		{context.DeadlineExceeded, retryLater},
	} {
		if got := afterLostWait(c.err); got != c.want {
			t.Errorf("afterLostWait(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// fakeTask is a task whose waits, status and pid the test sets.
type fakeTask struct {
	client.Task
	pid    uint32
	mu     sync.Mutex
	waits  []chan client.ExitStatus // each Wait returns the next
	nwaits int
	status func() (client.Status, error)
}

func newFakeTask(pid uint32, waits int) *fakeTask {
	t := &fakeTask{pid: pid, status: func() (client.Status, error) { return client.Status{Status: client.Running}, nil }}
	for range waits {
		t.waits = append(t.waits, make(chan client.ExitStatus, 1))
	}
	return t
}

func (t *fakeTask) ID() string                  { return "fake" }
func (t *fakeTask) Pid() uint32                 { return t.pid }
func (t *fakeTask) Start(context.Context) error { return nil }
func (t *fakeTask) IO() cio.IO                  { return nil }
func (t *fakeTask) Status(context.Context) (client.Status, error) {
	return t.status()
}

func (t *fakeTask) Delete(context.Context, ...client.ProcessDeleteOpts) (*client.ExitStatus, error) {
	return nil, nil
}

func (t *fakeTask) Wait(context.Context) (<-chan client.ExitStatus, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nwaits >= len(t.waits) {
		return nil, errors.New("no more waits")
	}
	t.nwaits++
	return t.waits[t.nwaits-1], nil
}

func (t *fakeTask) exit(i int, code uint32, err error) {
	t.waits[i] <- *client.NewExitStatus(code, time.Now(), err)
}

// fakeContainer hands out the tasks (or errors) the test queued.
type fakeContainer struct {
	client.Container
	mu    sync.Mutex
	tasks []any // *fakeTask or error
}

func (c *fakeContainer) NewTask(context.Context, cio.Creator, ...client.NewTaskOpts) (client.Task, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tasks) == 0 {
		return nil, errors.New("no more tasks")
	}
	next := c.tasks[0]
	c.tasks = c.tasks[1:]
	if err, ok := next.(error); ok {
		return nil, err
	}
	return next.(*fakeTask), nil
}

// noPid is above the kernel's largest pid: no process has it, and no pidfd opens.
const noPid = 1<<22 + 1

// fakeService is a service on fake containerd objects, whose containerd answers once
// serving is closed.
func fakeService(t *testing.T, ctr *fakeContainer, serving chan struct{}) (*service, context.CancelFunc) {
	t.Helper()
	life, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &service{name: "svc", namespace: "test", b: &bundle.Bundle{}, running: make(chan struct{}), life: life, container: ctr,
		policy: restartPolicy{mode: bundle.RestartOnFailure, initial: time.Millisecond, max: time.Millisecond, reset: time.Hour}}
	s.ping = func(ctx context.Context) error {
		select {
		case <-serving:
			return nil
		default:
			return errdefs.ErrUnavailable
		}
	}
	return s, cancel
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func TestAWaitLostWithContainerdIsNoExitAndWaitsAgainOnceContainerdIsBack(t *testing.T) {
	log := captureLog(t)
	first, second := newFakeTask(noPid, 2), newFakeTask(noPid, 1)
	ctr := &fakeContainer{tasks: []any{first, second}}
	serving := make(chan struct{})
	s, _ := fakeService(t, ctr, serving)
	run, err := s.beginRun()
	if err != nil {
		t.Fatal(err)
	}
	go s.supervise(s.life, run)
	<-run.tried

	// containerd dies: the wait fails as containerd's client reports it, with status 255.
	first.exit(0, client.UnknownExitStatus, fmt.Errorf("rpc error: code = Unavailable desc = error reading from server: EOF"))
	eventually(t, "the lost wait is logged", func() bool { return strings.Contains(log.String(), "lost the wait") })
	time.Sleep(20 * time.Millisecond) // containerd is still away
	if st := s.state(); st.State != "running" || st.Starts != 1 || st.LastStatus != nil {
		t.Fatalf("while containerd is away the service shows %+v, want running, started once, no exit", st)
	}
	close(serving)
	eventually(t, "the task is waited on again", func() bool { return strings.Contains(log.String(), "service svc re-attached") })

	// The task's real exit is an exit: one restart.
	first.exit(1, 3, nil)
	eventually(t, "the service is restarted", func() bool { return s.state().Starts == 2 })
	st := s.state()
	if st.LastStatus == nil || *st.LastStatus != 3 {
		t.Errorf("last status %v, want 3", st.LastStatus)
	}
	if strings.Contains(log.String(), "status 255") {
		t.Errorf("the lost wait counted as an exit:\n%s", log)
	}
	run.stop()
	second.exit(0, 143, nil)
	<-run.finished
}

func TestATaskContainerdNoLongerHasAfterItsRestartExitsWithTheUnknownStatus(t *testing.T) {
	log := captureLog(t)
	first, second := newFakeTask(noPid, 1), newFakeTask(noPid, 1)
	first.status = func() (client.Status, error) {
		return client.Status{}, fmt.Errorf("task fake: %w", errdefs.ErrNotFound)
	}
	ctr := &fakeContainer{tasks: []any{first, second}}
	serving := make(chan struct{})
	close(serving)
	s, _ := fakeService(t, ctr, serving)
	run, _ := s.beginRun()
	go s.supervise(s.life, run)
	first.exit(0, client.UnknownExitStatus, errors.New("transport is closing"))
	eventually(t, "the service is restarted", func() bool { return s.state().Starts == 2 })
	mustLog(t, log, "service svc: containerd no longer has its task: it counts as exited with status 255",
		"service svc exited with status 255; start 2 in 1ms")
	run.stop()
	second.exit(0, 0, nil)
	<-run.finished
}

func TestAStartWhileContainerdIsAwayWaitsForItWithoutUsingARestart(t *testing.T) {
	log := captureLog(t)
	task := newFakeTask(noPid, 1)
	ctr := &fakeContainer{tasks: []any{fmt.Errorf("connection refused: %w", errdefs.ErrUnavailable), task}}
	serving := make(chan struct{})
	s, _ := fakeService(t, ctr, serving)
	run, _ := s.beginRun()
	go s.supervise(s.life, run)
	eventually(t, "the failed start is logged", func() bool { return strings.Contains(log.String(), "once containerd is back") })
	close(serving)
	<-run.tried
	if st := s.state(); st.State != "running" || st.Starts != 1 || st.LastStatus != nil {
		t.Errorf("after containerd came back the service shows %+v, want running, started once, no exit", st)
	}
	run.stop()
	task.exit(0, 0, nil)
	<-run.finished
}

func TestTheMachineGoingDownEndsAWaitForContainerd(t *testing.T) {
	log := captureLog(t)
	task := newFakeTask(noPid, 1)
	s, cancel := fakeService(t, &fakeContainer{tasks: []any{task}}, make(chan struct{}))
	run, _ := s.beginRun()
	go s.supervise(s.life, run)
	<-run.tried
	task.exit(0, client.UnknownExitStatus, errdefs.ErrUnavailable)
	eventually(t, "the lost wait is logged", func() bool { return strings.Contains(log.String(), "lost the wait") })
	cancel()
	select {
	case <-run.finished:
	case <-time.After(10 * time.Second):
		t.Fatal("supervision went on waiting for containerd as the machine goes down")
	}
	mustLog(t, log, "service svc: containerd is gone as the machine goes down")
	if st := s.state(); st.Starts != 1 || st.LastStatus != nil {
		t.Errorf("state %+v: the machine going down is no exit", st)
	}
}

func TestAServiceGetsTheDefaultOOMScoreUnlessItsSpecSetsOne(t *testing.T) {
	unset := &specs.Process{Args: []string{"sleep"}}
	got := withOOMScore(unset)
	if got.OOMScoreAdj == nil || *got.OOMScoreAdj != 0 {
		t.Errorf("unset: got %v, want 0", got.OOMScoreAdj)
	}
	if unset.OOMScoreAdj != nil {
		t.Error("the bundle's own spec was changed")
	}
	own := 500
	if got := withOOMScore(&specs.Process{OOMScoreAdj: &own}); *got.OOMScoreAdj != 500 {
		t.Errorf("set to 500: got %d", *got.OOMScoreAdj)
	}
	if withOOMScore(nil) != nil {
		t.Error("no process: got one")
	}
}
