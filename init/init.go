package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/init/logs"
	"github.com/keel-os/keel/timeline"
	"golang.org/x/sys/unix"
)

// initProc is the state of PID 1.
type initProc struct {
	reaper     *reaper
	runc       *runc
	services   services
	grace      time.Duration
	bootCtx    context.Context
	cancelBoot context.CancelFunc

	tl         *recorder
	logs       *logs.Manager // services and the kernel: /var/log
	onbootLogs *logs.Manager // onboot containers: /var/log/onboot
	offLogs    *logs.Manager // onshutdown containers: /var/log/onshutdown
	defaults   restartPolicy // restart policy of services that set none
	// timelineAtEnd (keel-ctl poweroff --timeline) prints the timeline, shutdown included,
	// on the console just before reboot(2): the file in /run does not outlive the machine.
	timelineAtEnd atomic.Bool

	// serviceBundles loads the service bundles the first time it is called: by containerd's
	// early start or by startServices, whichever comes first.
	serviceBundles func() ([]*bundle.Bundle, bool)

	early *earlyStart // containerd started before the onboot containers, or nil

	mu         sync.Mutex
	containerd *containerd
	watchdog   *watchdog // armed by keel.watchdog, or nil
	shutdown   sync.Once
	final      sync.Once
	finished   chan struct{} // closed when finish has synced and unmounted
}

func newInit() *initProc {
	r := newReaper()
	ctx, cancel := context.WithCancel(context.Background())
	return &initProc{
		tl:         newRecorder(),
		reaper:     r,
		runc:       &runc{bin: "/usr/bin/runc", root: runcRoot, reaper: r},
		grace:      guest.DefaultSettings().ShutdownTimeout,
		bootCtx:    ctx,
		cancelBoot: cancel,
		finished:   make(chan struct{}),
		serviceBundles: sync.OnceValues(func() ([]*bundle.Bundle, bool) {
			return loadBundles(bundle.ServicesDir)
		}),
	}
}

// run boots the machine and then serves signals and reaps until shutdown. It never returns.
func (in *initProc) run() {
	defer func() {
		if r := recover(); r != nil {
			logf("panic during boot: %v", r)
			in.idle()
		}
	}()
	os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	// PID 1 lives as long as the machine and is mostly idle: keep its heap tight.
	debug.SetGCPercent(50)
	unix.Umask(0o022)
	// Ctrl-alt-del sends SIGINT to PID 1 instead of rebooting at once.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
	// Signals and the reaper first, so poweroff works and no zombie is left whatever happens.
	sigc := make(chan os.Signal, 32)
	notifySignals(sigc)
	goSafe("signals", func() { in.serveSignals(sigc) })
	goSafe("reaper", func() { in.reaper.run(nil) })

	if err := in.boot(); err != nil {
		logf("boot failed: %v", err)
		logf("the system stays up: poweroff or reboot to leave it")
	}
	in.idle()
}

func (in *initProc) idle() {
	select {}
}

func (in *initProc) serveSignals(sigc <-chan os.Signal) {
	for sig := range sigc {
		if a, ok := actionForSignal(sig); ok {
			goSafe("shutdown", func() { in.shutdownMachine(a) })
			continue
		}
		logf("signal %s ignored", signalName(sig))
	}
}

// enableControllers enables every cgroup v2 controller at the root for child cgroups.
func enableControllers() {
	m, err := cgroup2.Load("/keel")
	if err != nil {
		logf("cgroup2: %v", err)
		return
	}
	ctrls, err := m.RootControllers()
	if err != nil {
		logf("cgroup2 controllers: %v", err)
		return
	}
	if err := m.ToggleControllers(ctrls, cgroup2.Enable); err != nil {
		logf("cgroup2 enable controllers: %v", err)
	}
}

// runContainers runs each onboot or onshutdown bundle in order, one at a time. A failing
// container is reported and the next one runs, unless it is essential: then the name of the
// failed container is returned and no further container runs. A container with a timeout is
// killed when it runs longer.
func (in *initProc) runContainers(dir string, bundles []*bundle.Bundle) (failedEssential string) {
	for _, b := range bundles {
		if in.bootCtx.Err() != nil && dir == bundle.OnbootDir {
			return ""
		}
		k := b.Runtime.Keel
		ctx, cancel := containerContext(in.bootCtx, dir, b)
		start, up := time.Now(), uptime()
		w := in.containerLog(dir, b.Name)
		code, err := in.runc.runContainer(ctx, b, w)
		w.Close()
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		in.tl.addSpan(filepath.Base(dir)+"/"+b.Name, up)
		switch {
		case timedOut:
			logf("%s %s timed out after %s and was killed", filepath.Base(dir), b.Name, k.Timeout)
		case err != nil:
			logf("%s %s failed: %v", filepath.Base(dir), b.Name, err)
		case code != 0:
			logf("%s %s exited with status %d", filepath.Base(dir), b.Name, code)
		default:
			logf("%s %s done in %s", filepath.Base(dir), b.Name, time.Since(start).Round(time.Millisecond))
			continue
		}
		if k != nil && k.Essential {
			return b.Name
		}
	}
	return ""
}

// loadBundles loads the bundles in dir in order. One that does not load is logged and left
// out, and complete is false.
func loadBundles(dir string) (bundles []*bundle.Bundle, complete bool) {
	dirs, err := bundle.List("/", dir)
	if err != nil {
		logf("%v", err)
		return nil, false
	}
	complete = true
	for _, d := range dirs {
		b, err := bundle.Load(d)
		if err != nil {
			logf("%v", err)
			complete = false
			continue
		}
		bundles = append(bundles, b)
	}
	return bundles, complete
}

// containerContext is the context an onboot or onshutdown container runs on: boot's, or for
// onshutdown containers a fresh one (shutdown has already ended boot's, which would kill
// them), limited by the container's timeout if it has one.
func containerContext(boot context.Context, dir string, b *bundle.Bundle) (context.Context, context.CancelFunc) {
	base := boot
	if dir == bundle.OnshutdownDir {
		base = context.Background()
	}
	k := b.Runtime.Keel
	if k != nil && k.Timeout != "" {
		if d, err := time.ParseDuration(k.Timeout); err == nil && d > 0 {
			return context.WithTimeout(base, d)
		}
		logf("%s %s: timeout %q: not a positive duration", filepath.Base(dir), b.Name, k.Timeout)
	}
	return base, func() {}
}

// containerLog is where an onboot or onshutdown container's output goes: its log (rotated,
// timestamped) and the console.
func (in *initProc) containerLog(dir, name string) io.WriteCloser {
	lm := in.onbootLogs
	if dir == bundle.OnshutdownDir {
		lm = in.offLogs
	}
	if lm == nil { // boot failed before the log managers existed
		lm = logs.New(logs.Options{Dir: "/var/log/" + filepath.Base(dir), Console: os.Stderr})
	}
	return lm.Writer(name, true)
}

// startServices starts containerd and every service bundle; in an emergency only the
// services marked emergency.
func (in *initProc) startServices(emergency bool) error {
	var all []*bundle.Bundle
	var c *containerd
	if e := in.early; e != nil {
		<-e.done
		if e.err != nil {
			return fmt.Errorf("containerd: %w", e.err)
		}
		c = e.c
		all, _ = in.serviceBundles()
	} else {
		dirs, err := bundle.List("/", bundle.ServicesDir)
		if err != nil {
			return err
		}
		if len(dirs) == 0 {
			return nil
		}
		all, _ = in.serviceBundles()
		if c, err = in.launchContainerd(); err != nil {
			return fmt.Errorf("containerd: %w", err)
		}
	}
	var bundles []*bundle.Bundle
	for _, b := range all {
		if emergency && (b.Runtime.Keel == nil || !b.Runtime.Keel.Emergency) {
			continue
		}
		bundles = append(bundles, b)
	}
	if in.early == nil {
		// containerd's root may be on a disk an onboot container mounted: clear what an
		// earlier boot left there.
		removeStale(in.bootCtx, c.client, serviceNamespaces(bundles))
	}
	in.services.startAll(in.bootCtx, c.client, bundles, in.defaults, in.logs, in.tl)
	return nil
}

// serviceNamespaces are the containerd namespaces bundles run in, each once, in order.
func serviceNamespaces(bundles []*bundle.Bundle) []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range bundles {
		if ns := namespaceOf(b); !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// earlyStart is containerd starting while the onboot containers run.
type earlyStart struct {
	done chan struct{} // closed when the start ended
	c    *containerd
	err  error
}

// startContainerdEarly starts containerd before the devices' drivers load and the onboot
// containers run, when the image has services and no onboot container could change what
// containerd finds at start (containerdWaitsFor); otherwise startServices starts it after
// them. onboot are the onboot bundles, complete false when one did not load (it cannot be
// checked, so containerd waits). On one vCPU containerd's start fills the time the drivers'
// probes sleep.
func (in *initProc) startContainerdEarly(onboot []*bundle.Bundle, complete bool) {
	if dirs, err := bundle.List("/", bundle.ServicesDir); err != nil || len(dirs) == 0 {
		return
	}
	if _, err := os.Stat(containerdUser); err == nil {
		logf("containerd starts after the onboot containers: %s may put its root anywhere", containerdUser)
		return
	}
	if !complete {
		logf("containerd starts after the onboot containers: not every onboot bundle loaded")
		return
	}
	if why := containerdWaitsFor(onboot); why != "" {
		logf("containerd starts after the onboot containers: %s", why)
		return
	}
	e := &earlyStart{done: make(chan struct{}), err: errors.New("containerd's start did not finish")}
	in.early = e
	goSafe("containerd start", func() {
		defer close(e.done)
		if e.c, e.err = in.launchContainerd(); e.err != nil {
			return
		}
		// Started early, containerd's root is the fresh /var tmpfs (an onboot container
		// that could put a disk there makes it wait), so the services' namespaces hold no
		// earlier boot's containers. Listing them anyway is the first gRPC call on both
		// sides, mostly cold code: made now, it fills the time the drivers' probes sleep
		// instead of delaying the first service, which would otherwise pay for it.
		services, _ := in.serviceBundles()
		removeStale(in.bootCtx, e.c.client, serviceNamespaces(services))
	})
}

// launchContainerd starts containerd, records it on the timeline and makes it the machine's.
func (in *initProc) launchContainerd() (*containerd, error) {
	in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.ContainerdStart })
	logFile, err := in.containerdLog()
	if err != nil {
		return nil, err
	}
	c, err := startContainerd(in.bootCtx, in.reaper, logFile)
	if c != nil {
		in.mu.Lock()
		in.containerd = c
		in.mu.Unlock()
	}
	if err != nil {
		return c, err
	}
	in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.ContainerdReady })
	in.tl.addSpan("containerd", in.tl.get(func(t *timeline.Timeline) *float64 { return &t.ContainerdStart }))
	logf("containerd ready")
	return c, nil
}

// shutdownMachine runs the onshutdown containers, stops services and containerd, kills what
// is left, syncs, unmounts and finally calls reboot(2). Only the first request counts.
func (in *initProc) shutdownMachine(a powerAction) {
	in.shutdown.Do(func() {
		logPowerRequested(a)
		in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.ShutdownStart })
		in.cancelBoot()
		in.mu.Lock()
		grace, ctrd := in.grace, in.containerd
		in.mu.Unlock()
		// Whatever hangs (a wedged containerd, an onshutdown container), the machine
		// goes down: after the deadline the final steps run regardless.
		deadline := time.AfterFunc(grace+60*time.Second, func() {
			logf("shutdown is taking too long: forcing it")
			rescue(func() { in.finish(a) }, in.finished, finishWait, func() {
				logf("the final steps hang (sync or unmount?): %s now", a)
				in.disarmWatchdog()
				if err := unix.Reboot(a.rebootCmd()); err != nil {
					logf("reboot(2): %v", err)
				}
			})
		})
		defer deadline.Stop()

		onshutdown, _ := loadBundles(bundle.OnshutdownDir)
		in.runContainers(bundle.OnshutdownDir, onshutdown)
		in.services.stopAll(grace)
		if ctrd != nil {
			if err := ctrd.stop(5 * time.Second); err != nil {
				logf("%v", err)
			}
		}
		in.finish(a)
	})
}

// finish kills what is left, syncs, unmounts and calls reboot(2). It runs once.
func (in *initProc) finish(a powerAction) {
	in.final.Do(func() {
		if !killAll(unix.SIGTERM, 2*time.Second) {
			killAll(unix.SIGKILL, 2*time.Second)
		}
		for _, lm := range []*logs.Manager{in.logs, in.onbootLogs, in.offLogs} {
			if lm != nil {
				_ = lm.Close()
			}
		}
		unix.Sync()
		in.tl.save()
		unmountAll()
		unix.Sync()
		in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.ShutdownEnd })
		if in.timelineAtEnd.Load() {
			logTimeline(in.tl.json())
		}
		close(in.finished)
		in.disarmWatchdog()
		logPowerAction(a)
		if err := unix.Reboot(a.rebootCmd()); err != nil {
			logf("reboot(2): %v", err)
		}
	})
}

// disarmWatchdog stops the hardware watchdog, if one is armed, so that reboot(2) is not
// followed by a reset.
func (in *initProc) disarmWatchdog() {
	in.mu.Lock()
	w := in.watchdog
	in.mu.Unlock()
	if w != nil {
		w.disarm()
	}
}
