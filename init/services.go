package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/keel-os/keel/bundle"
)

// service is a system daemon supervised by PID 1: one containerd container whose task is
// started again, per its restart policy, each time it exits.
type service struct {
	name      string
	namespace string
	b         *bundle.Bundle
	policy    restartPolicy
	console   io.Writer // also receives the output when the service asks for console: true

	container client.Container
	logs      []*os.File

	running  chan struct{} // closed when the task first runs (for after:)
	stopReq  chan struct{} // closed when the service is to stop for good
	finished chan struct{} // closed when supervision has ended

	mu       sync.Mutex
	task     client.Task
	taskDone chan struct{} // closed when the current task has exited
	starts   int
	lastCode uint32
	lastExit time.Time
	next     time.Time // when the next start is due
	stopping bool
	runOnce  sync.Once
}

// serviceState is what keel-ctl and the logs show of a service.
type serviceState struct {
	Name        string    `json:"name"`
	State       string    `json:"state"` // running, restarting, stopped
	Pid         uint32    `json:"pid,omitempty"`
	Starts      int       `json:"starts"`
	LastStatus  *uint32   `json:"last_status,omitempty"`
	NextRestart time.Time `json:"next_restart,omitzero"`
}

func (s *service) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, s.namespace)
}

// namespaceOf returns the containerd namespace a bundle's service runs in.
func namespaceOf(b *bundle.Bundle) string {
	if b.Runtime.Namespace != "" {
		return b.Runtime.Namespace
	}
	return bundle.DefaultNamespace
}

// removeStale deletes containers (and their tasks) left in containerd's namespaces from an
// earlier run, as happens when /var/lib/containerd is on a persistent disk.
func removeStale(ctx context.Context, cl *client.Client, nss []string) {
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := cl.Containers(nctx)
		if err != nil {
			logf("list containers in %s: %v", ns, err)
			continue
		}
		for _, c := range ctrs {
			if t, err := c.Task(nctx, nil); err == nil {
				_, _ = t.Delete(nctx, client.WithProcessKill)
			}
			if err := c.Delete(nctx); err != nil {
				logf("remove stale container %s/%s: %v", ns, c.ID(), err)
			}
		}
	}
}

func newService(b *bundle.Bundle, defaults restartPolicy, console io.Writer) (*service, error) {
	p, err := policyFor(b.Runtime.Keel, defaults)
	if err != nil {
		return nil, fmt.Errorf("runtime.json: %w", err)
	}
	s := &service{
		name: b.Name, namespace: namespaceOf(b), b: b, policy: p,
		running: make(chan struct{}), stopReq: make(chan struct{}), finished: make(chan struct{}),
	}
	if b.Runtime.Keel != nil && b.Runtime.Keel.Console {
		s.console = console
	}
	return s, nil
}

// create makes the service's container in containerd and opens its logs: stdout goes to
// /var/log/NAME.out.log, stderr to /var/log/NAME.log.
func (s *service) create(ctx context.Context, cl *client.Client) error {
	ctx = s.ctx(ctx)
	if err := apply(preStartPlan(s.b.Runtime, s.b.Rootfs()), 0); err != nil {
		return fmt.Errorf("runtime.json: %w", err)
	}
	spec := *s.b.Spec
	if spec.Root == nil {
		return errors.New("config.json has no root")
	}
	root := *spec.Root
	if !filepath.IsAbs(root.Path) {
		root.Path = filepath.Join(s.b.Dir, root.Path)
	}
	spec.Root = &root
	ctr, err := cl.NewContainer(ctx, s.name, client.WithSpec(&spec), client.WithRuntime("io.containerd.runc.v2", nil))
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	s.container = ctr
	for _, name := range []string{s.name + ".out.log", s.name + ".log"} {
		f, err := os.OpenFile(filepath.Join("/var/log", name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		s.logs = append(s.logs, f)
	}
	return nil
}

// startTask creates a new task of the container and starts it.
func (s *service) startTask(ctx context.Context) (<-chan client.ExitStatus, error) {
	ctx = s.ctx(ctx)
	var stdout, stderr io.Writer = s.logs[0], s.logs[1]
	if s.console != nil {
		stdout, stderr = io.MultiWriter(s.logs[0], s.console), io.MultiWriter(s.logs[1], s.console)
	}
	task, err := s.container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, stdout, stderr), cio.WithFIFODir("/run/keel/fifo")))
	if err != nil {
		return nil, fmt.Errorf("create task: %w", err)
	}
	fail := func(err error) (<-chan client.ExitStatus, error) {
		_, _ = task.Delete(ctx, client.WithProcessKill)
		return nil, err
	}
	if err := apply(postCreatePlan(s.b.Runtime), int(task.Pid())); err != nil {
		return fail(fmt.Errorf("runtime.json: %w", err))
	}
	// The exit status is awaited on a context of its own: ending boot must not end the wait.
	exit, err := task.Wait(s.ctx(context.Background()))
	if err != nil {
		return fail(fmt.Errorf("wait task: %w", err))
	}
	if err := task.Start(ctx); err != nil {
		return fail(fmt.Errorf("start task: %w", err))
	}
	s.mu.Lock()
	s.task, s.taskDone = task, make(chan struct{})
	s.starts++
	s.next = time.Time{}
	s.mu.Unlock()
	return exit, nil
}

// supervise runs the service until it is stopped or its policy says it stays down.
// firstTry is called once the first start has been attempted.
func (s *service) supervise(ctx context.Context, firstTry func()) {
	defer close(s.finished)
	defer s.runOnce.Do(firstTry)
	bo := backoff{p: s.policy}
	for {
		started := time.Now()
		code := uint32(255)
		exit, err := s.startTask(ctx)
		if err != nil {
			logf("service %s: %v", s.name, err)
			s.runOnce.Do(firstTry)
		} else {
			s.mu.Lock()
			n, task, done := s.starts, s.task, s.taskDone
			s.mu.Unlock()
			if n == 1 {
				close(s.running)
				logf("service %s started (pid %d)", s.name, task.Pid())
			} else {
				logf("service %s restarted (pid %d, start %d)", s.name, task.Pid(), n)
			}
			s.runOnce.Do(firstTry)
			st := <-exit
			code = st.ExitCode()
			s.mu.Lock()
			s.lastCode, s.lastExit = code, time.Now()
			s.mu.Unlock()
			dctx, cancel := context.WithTimeout(s.ctx(context.Background()), 10*time.Second)
			if _, err := task.Delete(dctx); err != nil && !errdefs.IsNotFound(err) {
				logf("service %s: delete task: %v", s.name, err)
			}
			cancel()
			close(done)
		}
		if s.isStopping() {
			logf("service %s exited with status %d", s.name, code)
			return
		}
		if !s.policy.shouldRestart(code) {
			logf("service %s exited with status %d; not restarting (restart: %s)", s.name, code, s.policy.mode)
			return
		}
		d := bo.delay(time.Since(started))
		s.mu.Lock()
		s.next = time.Now().Add(d)
		n := s.starts
		s.mu.Unlock()
		logf("service %s exited with status %d; start %d in %s", s.name, code, n+1, d)
		select {
		case <-time.After(d):
		case <-s.stopReq:
			return
		}
	}
}

func (s *service) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

func (s *service) state() serviceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := serviceState{Name: s.name, Starts: s.starts, NextRestart: s.next}
	if !s.lastExit.IsZero() {
		c := s.lastCode
		st.LastStatus = &c
	}
	running := s.taskDone != nil
	if running {
		select {
		case <-s.taskDone:
			running = false
		default:
		}
	}
	switch {
	case running:
		st.State, st.Pid = "running", s.task.Pid()
	case !s.next.IsZero():
		st.State = "restarting"
	default:
		st.State = "stopped"
	}
	return st
}

// stop ends supervision: SIGTERM to the task, SIGKILL after grace, then the container is
// deleted. containerd may be wedged, so every call has a deadline.
func (s *service) stop(grace time.Duration) {
	s.mu.Lock()
	already := s.stopping
	s.stopping = true
	task, done := s.task, s.taskDone
	s.mu.Unlock()
	if !already {
		close(s.stopReq)
	}
	ctx, cancel := context.WithTimeout(s.ctx(context.Background()), grace+10*time.Second)
	defer cancel()
	if task != nil && done != nil {
		select {
		case <-done:
		default:
			if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
				logf("stop %s: %v", s.name, err)
			}
			select {
			case <-done:
			case <-time.After(grace):
				logf("service %s did not stop within %s: killing it", s.name, grace)
				if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
					logf("kill %s: %v", s.name, err)
				}
			}
		}
	}
	select {
	case <-s.finished:
	case <-time.After(15 * time.Second):
		logf("service %s: supervision did not end", s.name)
	}
	if s.container != nil {
		if err := s.container.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			logf("delete container %s: %v", s.name, err)
		}
	}
	for _, f := range s.logs {
		f.Close()
	}
}

// services is the set of supervised services.
type services struct {
	mu   sync.Mutex
	list []*service
}

// startAll creates every service and supervises each, honouring after: (wait until those
// services run) and wait: network. It returns once each service's first start was tried.
func (ss *services) startAll(ctx context.Context, cl *client.Client, bundles []*bundle.Bundle, defaults restartPolicy, tl *recorder) {
	byName := map[string]*service{}
	var list []*service
	for _, b := range bundles {
		s, err := newService(b, defaults, os.Stderr)
		if err != nil {
			logf("service %s: %v", b.Name, err)
			continue
		}
		byName[s.name] = s
		list = append(list, s)
	}
	ss.mu.Lock()
	ss.list = append(ss.list, list...)
	ss.mu.Unlock()
	var tried sync.WaitGroup
	for _, s := range list {
		tried.Add(1)
		goSafe("service "+s.name, func() {
			first := func() {
				tl.addSpan("service/"+s.name, uptime())
				tried.Done()
			}
			if !s.waitReady(ctx, byName) {
				s.runOnce.Do(first)
				close(s.finished)
				return
			}
			start := uptime()
			first = func() {
				tl.addSpan("service/"+s.name, start)
				tried.Done()
			}
			if err := s.create(ctx, cl); err != nil {
				logf("service %s: %v", s.name, err)
				s.runOnce.Do(first)
				close(s.finished)
				return
			}
			s.supervise(ctx, first)
		})
	}
	tried.Wait()
}

// waitReady waits for the services named in after: to run and, with wait: network, for a
// default route. It reports false when the service must not start.
func (s *service) waitReady(ctx context.Context, byName map[string]*service) bool {
	k := s.b.Runtime.Keel
	if k == nil {
		return true
	}
	for _, dep := range k.After {
		d, ok := byName[dep]
		if !ok {
			logf("service %s: after %s: no such service; starting anyway", s.name, dep)
			continue
		}
		select {
		case <-d.running:
		case <-d.finished:
			logf("service %s: not started: %s, which it comes after, never ran", s.name, dep)
			return false
		case <-s.stopReq:
			return false
		case <-ctx.Done():
			return false
		}
	}
	if k.Wait == bundle.WaitNetwork {
		waitForDefaultRoute(ctx, 60*time.Second, s.name)
	}
	return true
}

// all returns the services in name order.
func (ss *services) all() []*service {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	list := append([]*service(nil), ss.list...)
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// stopAll stops every service concurrently.
func (ss *services) stopAll(grace time.Duration) {
	list := ss.all()
	ss.mu.Lock()
	ss.list = nil
	ss.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Add(1)
		goSafe("stop "+s.name, func() {
			defer wg.Done()
			s.stop(grace)
		})
	}
	wg.Wait()
}
