package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/init/logs"
	"github.com/keel-os/keel/timeline"
)

// bootStep is one step of the boot. The error of a fatal step stops the boot (the system
// stays up without the later steps); any other step's error is logged and boot goes on.
type bootStep struct {
	name  string
	run   func() error
	fatal bool
}

// booting is the state the boot steps hand on to each other.
type booting struct {
	in             *initProc
	onboot         []*bundle.Bundle
	onbootComplete bool           // every onboot bundle loaded
	failed         string         // the essential onboot container that failed, or ""
	cmdline        guest.Settings // the keel.* settings, once the settings step read them
}

// bootSteps are the steps of the boot, in order.
func (in *initProc) bootSteps() []bootStep {
	b := &booting{in: in}
	return []bootStep{
		// First: the other steps mount on and write to the root it replaces. Without it a
		// squashfs root stays read-only, as its volumes, but the rest boots.
		{"overlay a read-only root", overlayReadOnlyRoot, false},
		{"mount /proc", b.mountProc, true},
		{"pivotable root", makeRootPivotable, true},
		{"boot mounts", b.mounts, true},
		{"populate /dev", b.populateDev, false},
		{"populate /var", populateVar, true},
		{"modprobe link", b.modprobe, false},
		{"cgroup controllers", b.controllers, false},
		{"rlimits", b.rlimits, false},
		// Before containerd can start, whose output goes to a rotated log.
		{"settings", b.settings, false},
		{"load onboot bundles", b.loadOnboot, false},
		{"containerd early", b.containerdEarly, false},
		{"coldplug", b.coldplug, false},
		// After coldplug: a watchdog driver may be a module.
		{"watchdog", b.watchdog, false},
		{"read-only root", b.readOnlyRoot, false},
		{"hostname", b.hostname, false},
		{"loopback", loopbackUp, false},
		{"resolv.conf", func() error { return makeResolvConf(bundle.ResolvConf) }, false},
		{"onboot containers", b.onbootContainers, false},
		{"kernel log", b.kernelLog, false},
		{"control socket", in.serveControl, false},
		{"services", b.services, true},
		{"boot complete", b.complete, false},
	}
}

// boot runs the boot steps in order. It returns the error of a fatal step, naming it.
func (in *initProc) boot() error {
	return runSteps(in.bootSteps())
}

// runSteps runs steps in order until a fatal one fails; the others' errors are logged.
func runSteps(steps []bootStep) error {
	for _, s := range steps {
		err := s.run()
		switch {
		case err == nil:
		case s.fatal:
			return fmt.Errorf("%s: %w", s.name, err)
		default:
			logf("%s: %v", s.name, err)
		}
	}
	return nil
}

func (b *booting) mountProc() error {
	if err := mountProc(); err != nil {
		return err
	}
	b.in.tl.sampleCPU(func(t *timeline.Timeline) **timeline.CPU { return &t.CPUAtPID1 })
	return nil
}

func (b *booting) mounts() error { return mountAll(bootMounts()) }

func (b *booting) populateDev() error { populateDev(); return nil }

func (b *booting) modprobe() error { installModprobe(); return nil }

func (b *booting) controllers() error { enableControllers(); return nil }

// rlimits: containerd, its shims and the services without rlimits of their own inherit PID 1's.
func (b *booting) rlimits() error { setRlimits(); return nil }

// settings reads the kernel command line and sets up what depends on it: the grace period,
// the log managers and the services' default restart policy.
func (b *booting) settings() error {
	in := b.in
	s := readSettings()
	in.mu.Lock()
	in.grace = s.ShutdownTimeout
	in.mu.Unlock()
	opts := func(dir string, ring int) logs.Options {
		return logs.Options{Dir: dir, MaxSize: s.LogMaxSize, MaxFiles: s.LogMaxFiles, RingSize: ring, Console: os.Stderr}
	}
	in.logs = logs.New(opts("/var/log", 64<<10))
	in.onbootLogs = logs.New(opts("/var/log/onboot", 16<<10))
	in.offLogs = logs.New(opts("/var/log/onshutdown", 16<<10))
	in.defaults = defaultPolicy(s)
	b.cmdline = s
	return nil
}

// watchdog arms the hardware watchdog when keel.watchdog asks for it.
func (b *booting) watchdog() error {
	if b.cmdline.Watchdog == 0 {
		return nil
	}
	dev, timeout, err := openWatchdog(watchdogDevice, b.cmdline.Watchdog)
	if err != nil {
		return err
	}
	h := &pid1Health{reaper: b.in.reaper, proc: "/proc", limit: timeout / 2}
	w := newWatchdog(dev, watchdogDevice, timeout, h.check)
	b.in.mu.Lock()
	b.in.watchdog = w
	b.in.mu.Unlock()
	logf("watchdog %s (%s): timeout %s, petted every %s", watchdogDevice, dev.identity(), timeout, w.interval)
	goSafe("watchdog", w.run)
	return nil
}

func (b *booting) loadOnboot() error {
	b.onboot, b.onbootComplete = loadBundles(bundle.OnbootDir)
	return nil
}

func (b *booting) containerdEarly() error {
	b.in.startContainerdEarly(b.onboot, b.onbootComplete)
	return nil
}

// coldplug loads the drivers of the devices. Loading a driver waits for the probe it starts
// (AHCI resets its links): the span shows how much of PID 1's start that is.
func (b *booting) coldplug() error {
	if start := uptime(); coldplug() > 0 {
		b.in.tl.addSpan(timeline.ModulesSpan, start)
	}
	return nil
}

func (b *booting) readOnlyRoot() error {
	bindVolumes("/", bindOnItself)
	err := remountRootReadOnly()
	b.in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.MountsDone })
	return err
}

func (b *booting) hostname() error { setHostname(); return nil }

func (b *booting) onbootContainers() error {
	b.failed = b.in.runContainers(bundle.OnbootDir, b.onboot)
	b.in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.OnbootDone })
	return nil
}

func (b *booting) kernelLog() error { b.in.startKernelLog(); return nil }

// services starts containerd (unless it started early) and the services; after an essential
// onboot container failed, only the emergency ones.
func (b *booting) services() error {
	if b.failed != "" {
		logf("EMERGENCY: essential onboot container %s failed; boot stopped", b.failed)
		logf("EMERGENCY: only services marked emergency start; poweroff or reboot to leave")
	}
	if err := b.in.startServices(b.failed != ""); err != nil {
		return err
	}
	b.in.tl.mark(func(t *timeline.Timeline) *float64 { return &t.ServicesReady })
	b.in.tl.sampleCPU(func(t *timeline.Timeline) **timeline.CPU { return &t.CPUAtServicesReady })
	return nil
}

func (b *booting) complete() error {
	// Boot allocated most of what PID 1 will ever allocate; hand the free pages back.
	debug.FreeOSMemory()
	b.in.tl.setMemory(sampleMemory())
	b.in.tl.save()
	logBootComplete()
	return nil
}
