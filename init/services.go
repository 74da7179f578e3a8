package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/init/logs"
	"golang.org/x/sys/unix"
)

// service is a system daemon supervised by PID 1: one containerd container whose task is
// started again, per its restart policy, each time it exits.
type service struct {
	name      string
	namespace string
	b         *bundle.Bundle
	policy    restartPolicy
	console   bool // its output also goes to the console (console: true)
	logs      *logs.Manager
	life      context.Context // the machine's lifetime: supervision runs on it, not on a request's

	ping      func(context.Context) error // asks containerd whether it answers
	container client.Container
	stdout    io.WriteCloser // source NAME.out: /var/log/NAME.out.log
	stderr    io.WriteCloser // source NAME: /var/log/NAME.log

	running     chan struct{} // closed when the task first runs (for after:)
	runningOnce sync.Once

	mu       sync.Mutex
	cur      *supervision // the current (or last) supervision run
	task     client.Task
	taskDone chan struct{} // closed when the current task has exited
	pidfd    *os.File      // the running task's process, to signal it directly; nil if none
	starts   int
	started  time.Time // when the current task started
	lastCode uint32
	lastExit time.Time
	next     time.Time // when the next start is due
}

// supervision is one run of a service's supervisor, from start (at boot or keel-ctl start)
// to stop. A stopped service can be started again: a new run.
type supervision struct {
	stopReq   chan struct{} // closed to end the run
	tried     chan struct{} // closed once the run's first start was attempted, or it ended
	finished  chan struct{} // closed when the run has ended
	stopOnce  sync.Once
	triedOnce sync.Once
	// leave is set when the machine goes down: the last task is not deleted (see stop).
	leave atomic.Bool
}

func (r *supervision) stop()      { r.stopOnce.Do(func() { close(r.stopReq) }) }
func (r *supervision) markTried() { r.triedOnce.Do(func() { close(r.tried) }) }

// end closes a run that never reached supervise.
func (r *supervision) end() {
	r.markTried()
	close(r.finished)
}
func (r *supervision) ended() bool   { return isClosed(r.finished) }
func (r *supervision) stopped() bool { return isClosed(r.stopReq) }

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// beginRun starts a new supervision run, unless one is active.
func (s *service) beginRun() (*supervision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && !s.cur.ended() {
		return nil, fmt.Errorf("service %s is already running", s.name)
	}
	s.cur = &supervision{stopReq: make(chan struct{}), tried: make(chan struct{}), finished: make(chan struct{})}
	return s.cur, nil
}

// serviceState is what keel-ctl and the logs show of a service.
type serviceState struct {
	Name        string    `json:"name"`
	State       string    `json:"state"` // running, restarting, stopped
	Pid         uint32    `json:"pid,omitempty"`
	Starts      int       `json:"starts"`
	Since       time.Time `json:"since,omitzero"` // when the running task started
	LastStatus  *uint32   `json:"last_status,omitempty"`
	NextRestart time.Time `json:"next_restart,omitzero"`
}

// leaseID names the lease that holds a service's container while PID 1 creates it: unique
// per service and moment, and a valid containerd identifier (at most 76 characters).
func leaseID(name string, now time.Time) string {
	id := "keel-" + strconv.FormatInt(now.UnixNano(), 36) + "-" + name
	if len(id) > identifierMax {
		id = id[:identifierMax]
	}
	return strings.TrimRight(id, "-._")
}

// identifierMax is the longest identifier containerd accepts (pkg/identifiers does not
// export it; TestLeaseIDIsAValidContainerdIdentifierUniquePerServiceAndMoment checks it).
const identifierMax = 76

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

func newService(b *bundle.Bundle, defaults restartPolicy, lm *logs.Manager) (*service, error) {
	p, err := policyFor(b.Runtime.Keel, defaults)
	if err != nil {
		return nil, fmt.Errorf("runtime.json: %w", err)
	}
	s := &service{name: b.Name, namespace: namespaceOf(b), b: b, policy: p, running: make(chan struct{}), logs: lm}
	s.console = b.Runtime.Keel != nil && b.Runtime.Keel.Console
	return s, nil
}

// create makes the service's container in containerd and its log writers: stdout goes to
// /var/log/NAME.out.log, stderr to /var/log/NAME.log, timestamped and rotated.
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
	spec.Process = withOOMScore(spec.Process)
	// The client would name the container's temporary lease with crypto/rand, which blocks
	// until the kernel's random pool is ready: a second or more into a boot under emulation
	// without an RNG device. A name from the clock does as well and never waits.
	ctx, done, err := cl.WithLease(ctx, leases.WithID(leaseID(s.name, time.Now())), leases.WithExpiration(time.Hour))
	if err != nil {
		return fmt.Errorf("create lease: %w", err)
	}
	defer func() { _ = done(ctx) }()
	// runc's state for the task goes on /system, not in the shim's default under /run.
	runtimeOpts := &runcoptions.Options{Root: servicesRunc}
	ctr, err := cl.NewContainer(ctx, s.name, client.WithSpec(&spec), client.WithRuntime("io.containerd.runc.v2", runtimeOpts))
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	s.ping, s.container = func(ctx context.Context) error { return pingContainerd(ctx, cl) }, ctr
	s.stdout, s.stderr = s.logs.Writer(s.name+".out", s.console), s.logs.Writer(s.name, s.console)
	return nil
}

// startTask creates a new task of the container and starts it.
func (s *service) startTask(ctx context.Context) (<-chan client.ExitStatus, error) {
	ctx = s.ctx(ctx)
	creator := cio.NewCreator(cio.WithStreams(nil, s.stdout, s.stderr), cio.WithFIFODir(serviceFIFOs))
	task, err := s.container.NewTask(ctx, creator)
	if errdefs.IsAlreadyExists(err) {
		// A start or an exit that containerd's death cut short left its task behind.
		if old, lerr := s.container.Task(ctx, nil); lerr == nil {
			if _, derr := old.Delete(ctx, client.WithProcessKill); derr != nil {
				logf("service %s: delete the task left behind: %v", s.name, derr)
			}
		}
		task, err = s.container.NewTask(ctx, creator)
	}
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
	// A pidfd lets halt signal the process itself, race-free, instead of a Kill through
	// containerd, the shim and a runc kill process. Without one (pidfd_open is Linux 5.3+),
	// halt goes through containerd.
	var pidfd *os.File
	if fd, err := unix.PidfdOpen(int(task.Pid()), 0); err == nil {
		pidfd = os.NewFile(uintptr(fd), "pidfd")
	}
	s.mu.Lock()
	s.task, s.taskDone, s.pidfd = task, make(chan struct{}), pidfd
	s.starts++
	s.started = time.Now()
	s.next = time.Time{}
	s.mu.Unlock()
	return exit, nil
}

// supervise runs the service until run is stopped or its policy says it stays down.
func (s *service) supervise(ctx context.Context, run *supervision) {
	defer close(run.finished)
	defer run.markTried()
	bo := backoff{p: s.policy}
	for {
		if run.stopped() {
			return
		}
		started := time.Now()
		code := uint32(255)
		exit, err := s.startTask(ctx)
		if err != nil && errdefs.IsUnavailable(err) {
			// containerd is away (and being restarted): not an exit of the service, and no
			// restart attempt is used up. Start it once containerd answers again.
			logf("service %s: %v; starting it once containerd is back", s.name, err)
			if !s.waitContainerd(run.stopReq) {
				return
			}
			continue
		}
		if err != nil {
			logf("service %s: %v", s.name, err)
			run.markTried()
		} else {
			s.mu.Lock()
			n, task, done := s.starts, s.task, s.taskDone
			s.mu.Unlock()
			if n == 1 {
				logf("service %s started (pid %d)", s.name, task.Pid())
			} else {
				logf("service %s restarted (pid %d, start %d)", s.name, task.Pid(), n)
			}
			s.runningOnce.Do(func() { close(s.running) })
			run.markTried()
			var up bool
			code, up = s.awaitExit(task, exit)
			s.mu.Lock()
			if up {
				s.lastCode, s.lastExit = code, time.Now()
			}
			if s.pidfd != nil {
				s.pidfd.Close()
				s.pidfd = nil
			}
			s.mu.Unlock()
			if !up {
				// The machine goes down without containerd: the task is left to the end.
				logf("service %s: containerd is gone as the machine goes down", s.name)
				close(done)
				return
			}
			if run.leave.Load() {
				drainOutput(task, time.Second)
			} else {
				dctx, cancel := context.WithTimeout(s.ctx(context.Background()), 10*time.Second)
				if _, err := task.Delete(dctx); errdefs.IsNotFound(err) {
					// Gone with containerd's restart: close its output here.
					drainOutput(task, time.Second)
				} else if err != nil {
					logf("service %s: delete task: %v", s.name, err)
				}
				cancel()
			}
			close(done)
		}
		if run.stopped() {
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
		case <-run.stopReq:
			s.mu.Lock()
			s.next = time.Time{}
			s.mu.Unlock()
			return
		}
	}
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
		st.State, st.Pid, st.Since = "running", s.task.Pid(), s.started
	case !s.next.IsZero():
		st.State = "restarting"
	default:
		st.State = "stopped"
	}
	return st
}

// halt ends the current supervision run: SIGTERM to the task, SIGKILL after grace. The
// container stays, so the service can be started again. containerd may be wedged, so every
// call has a deadline.
func (s *service) halt(grace time.Duration) {
	s.mu.Lock()
	run, task, done := s.cur, s.task, s.taskDone
	s.mu.Unlock()
	if run == nil {
		return
	}
	run.stop()
	ctx, cancel := context.WithTimeout(s.ctx(context.Background()), grace+10*time.Second)
	defer cancel()
	if task != nil && done != nil {
		select {
		case <-done:
		default:
			if !s.signal(unix.SIGTERM) {
				if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
					logf("stop %s: %v", s.name, err)
				}
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
	case <-run.finished:
	case <-time.After(15 * time.Second):
		logf("service %s: supervision did not end", s.name)
	}
}

// stop halts the service for good as the machine goes down. Its last task and its container
// are left in containerd: their state under /system goes with the reboot, and removeStale
// deletes the records a persistent containerd root keeps at the next boot. Deleting them
// here would cost, per service, a runc delete and the shim's shutdown on the way down.
func (s *service) stop(grace time.Duration) {
	s.mu.Lock()
	if s.cur != nil {
		s.cur.leave.Store(true)
	}
	s.mu.Unlock()
	s.halt(grace)
	for _, w := range []io.WriteCloser{s.stdout, s.stderr} {
		if w != nil {
			w.Close()
		}
	}
}

// signal sends sig to the running task's process through its pidfd, and reports whether it
// could. The lock keeps the pidfd open until the signal is sent.
func (s *service) signal(sig unix.Signal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pidfd != nil && unix.PidfdSendSignal(int(s.pidfd.Fd()), sig, nil, 0) == nil
}

// drainOutput waits, at most limit, until the exited task's output has reached PID 1's log
// writers, as deleting the task would, and closes its FIFOs.
func drainOutput(task client.Task, limit time.Duration) {
	tio := task.IO()
	if tio == nil {
		return
	}
	tio.Cancel()
	drained := make(chan struct{})
	goSafe("drain "+task.ID(), func() {
		tio.Wait()
		close(drained)
	})
	select {
	case <-drained:
	case <-time.After(limit):
	}
	tio.Close()
}

// services is the set of supervised services.
type services struct {
	mu   sync.Mutex
	list []*service
}

// startAll creates every service and supervises each, honouring after: (wait until those
// services run) and wait: network. It returns once each service's first start was tried.
func (ss *services) startAll(ctx context.Context, cl *client.Client, bundles []*bundle.Bundle, defaults restartPolicy, lm *logs.Manager, tl *recorder) {
	byName := map[string]*service{}
	var list []*service
	for _, b := range bundles {
		s, err := newService(b, defaults, lm)
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
			defer tried.Done()
			run, err := s.beginRun()
			if err != nil {
				return
			}
			if !s.waitReady(ctx, run, byName) {
				run.end()
				return
			}
			start := uptime()
			s.life = ctx
			if err := s.create(ctx, cl); err != nil {
				logf("service %s: %v", s.name, err)
				run.end()
				return
			}
			goSafe("supervise "+s.name, func() { s.supervise(ctx, run) })
			<-run.tried
			tl.addSpan("service/"+s.name, start)
		})
	}
	tried.Wait()
}

// waitReady waits for the services named in after: to run and, with wait: network, for a
// default route and a name server. It reports false when the service must not start.
func (s *service) waitReady(ctx context.Context, run *supervision, byName map[string]*service) bool {
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
		d.mu.Lock()
		depRun := d.cur
		d.mu.Unlock()
		var depFinished chan struct{}
		if depRun != nil {
			depFinished = depRun.finished
		}
		select {
		case <-d.running:
		case <-depFinished:
			logf("service %s: not started: %s, which it comes after, never ran", s.name, dep)
			return false
		case <-run.stopReq:
			return false
		case <-ctx.Done():
			return false
		}
	}
	if k.Wait == bundle.WaitNetwork {
		waitForNetwork(ctx, 60*time.Second, s.name, networkMissing)
	}
	return true
}

// find returns the service called name.
func (ss *services) find(name string) (*service, error) {
	for _, s := range ss.all() {
		if s.name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no service %q", name)
}

// start starts a stopped service again (keel-ctl start), with a fresh backoff schedule. ctx
// bounds only the wait for the first start; the service runs on after it ends.
func (s *service) start(ctx context.Context) error {
	if s.container == nil {
		return fmt.Errorf("service %s was never created", s.name)
	}
	run, err := s.beginRun()
	if err != nil {
		return err
	}
	goSafe("supervise "+s.name, func() { s.supervise(s.life, run) })
	select {
	case <-run.tried:
	case <-ctx.Done():
	}
	if run.ended() {
		return fmt.Errorf("service %s exited at once", s.name)
	}
	return nil
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
