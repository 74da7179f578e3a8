package main

import (
	"context"
	"errors"
	"fmt"
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

// service is a system daemon running as a containerd task.
type service struct {
	name      string
	namespace string
	container client.Container
	task      client.Task
	exit      <-chan client.ExitStatus
	done      chan struct{} // closed once the task has exited and status is set
	status    client.ExitStatus
	logs      []*os.File
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

// startService creates the bundle's container and task in containerd and starts it. stdout
// goes to /var/log/NAME.out.log, stderr to /var/log/NAME.log.
func startService(ctx context.Context, cl *client.Client, b *bundle.Bundle) (*service, error) {
	s := &service{name: b.Name, namespace: namespaceOf(b), done: make(chan struct{})}
	ctx = s.ctx(ctx)
	if err := apply(preStartPlan(b.Runtime, b.Rootfs()), 0); err != nil {
		return nil, fmt.Errorf("runtime.json: %w", err)
	}
	spec := *b.Spec
	if spec.Root == nil {
		return nil, errors.New("config.json has no root")
	}
	root := *spec.Root
	if !filepath.IsAbs(root.Path) {
		root.Path = filepath.Join(b.Dir, root.Path)
	}
	spec.Root = &root
	ctr, err := cl.NewContainer(ctx, b.Name, client.WithSpec(&spec), client.WithRuntime("io.containerd.runc.v2", nil))
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	s.container = ctr
	stdout, err := os.OpenFile(filepath.Join("/var/log", b.Name+".out.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return s, fmt.Errorf("open log: %w", err)
	}
	stderr, err := os.OpenFile(filepath.Join("/var/log", b.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		stdout.Close()
		return s, fmt.Errorf("open log: %w", err)
	}
	s.logs = []*os.File{stdout, stderr}
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, stdout, stderr), cio.WithFIFODir("/run/keel/fifo")))
	if err != nil {
		return s, fmt.Errorf("create task: %w", err)
	}
	s.task = task
	if err := apply(postCreatePlan(b.Runtime), int(task.Pid())); err != nil {
		return s, fmt.Errorf("runtime.json: %w", err)
	}
	// The exit status is awaited on a context of its own: ending boot must not end the wait.
	if s.exit, err = task.Wait(namespaces.WithNamespace(context.Background(), s.namespace)); err != nil {
		return s, fmt.Errorf("wait task: %w", err)
	}
	if err := task.Start(ctx); err != nil {
		return s, fmt.Errorf("start task: %w", err)
	}
	return s, nil
}

// services is the set of running services.
type services struct {
	mu   sync.Mutex
	list []*service
}

// startAll starts every bundle concurrently and returns when all have been tried.
func (ss *services) startAll(ctx context.Context, cl *client.Client, bundles []*bundle.Bundle, tl *recorder) {
	var wg sync.WaitGroup
	for _, b := range bundles {
		wg.Add(1)
		goSafe("service "+b.Name, func() {
			defer wg.Done()
			start := uptime()
			s, err := startService(ctx, cl, b)
			if err != nil {
				logf("service %s: %v", b.Name, err)
				if s != nil {
					s.cleanup(context.Background())
				}
				return
			}
			tl.addSpan("service/"+b.Name, start)
			ss.mu.Lock()
			ss.list = append(ss.list, s)
			ss.mu.Unlock()
			logf("service %s started (pid %d)", s.name, s.task.Pid())
			goSafe("watch "+s.name, s.watch)
		})
	}
	wg.Wait()
}

// watch records the task's exit status and closes done.
func (s *service) watch() {
	defer close(s.done)
	st, ok := <-s.exit
	if !ok {
		return
	}
	s.status = st
	code, _, err := st.Result()
	if err != nil {
		logf("service %s: wait: %v", s.name, err)
		return
	}
	logf("service %s exited with status %d", s.name, code)
}

// cleanup deletes the task and container and closes the logs.
func (s *service) cleanup(ctx context.Context) {
	ctx = s.ctx(ctx)
	if s.task != nil {
		if _, err := s.task.Delete(ctx, client.WithProcessKill); err != nil {
			logf("delete task %s: %v", s.name, err)
		}
	}
	if s.container != nil {
		if err := s.container.Delete(ctx); err != nil {
			logf("delete container %s: %v", s.name, err)
		}
	}
	for _, f := range s.logs {
		f.Close()
	}
}

// stopAll sends SIGTERM to every service, SIGKILL to those still running after grace, and
// deletes them.
func (ss *services) stopAll(grace time.Duration) {
	ss.mu.Lock()
	list := append([]*service(nil), ss.list...)
	ss.list = nil
	ss.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
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

func (s *service) stop(grace time.Duration) {
	// containerd may be wedged: every call has a deadline so shutdown always goes on.
	ctx, cancel := context.WithTimeout(s.ctx(context.Background()), grace+10*time.Second)
	defer cancel()
	if err := s.task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		logf("stop %s: %v", s.name, err)
	}
	select {
	case <-s.done:
	case <-time.After(grace):
		logf("service %s did not stop within %s: killing it", s.name, grace)
		if err := s.task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			logf("kill %s: %v", s.name, err)
		}
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			logf("service %s did not die after SIGKILL", s.name)
		}
	}
	s.cleanup(ctx)
}
