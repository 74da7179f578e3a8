package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keel-os/keel/build/qemu"
)

// The minimum-memory search: bisection over whole MiB between minMemLow, which is expected to
// fail, and the benchmark's own memory (Options.Mem), which must pass.
const (
	minMemLow = 32
	// minMemBootWait bounds a probe's wait for boot complete: a guest short of memory can
	// stall rather than fail, and a Keel boot takes seconds even under TCG.
	minMemBootWait = 2 * time.Minute
)

// Console lines that fail a probe however the boot goes on: the OOM killer struck, or the
// initramfs did not fit (the kernel panic after it ends QEMU anyway).
var minMemFailLines = []string{"Out of memory", "Initramfs unpacking failed"}

// MinMem is the smallest guest memory (qemu -m, whole MiB) one layout booted to services
// ready in and stayed up with (Options.MinMemStay), to Options.MinMem MiB.
type MinMem struct {
	Name string `json:"name"` // kernel+initrd or kernel+squashfs
	// MiB passed; Failed is the largest that failed (0 if the low bound passed, so MiB is
	// only an upper bound). MiB is 0 when the search failed: Error says why.
	MiB    int        `json:"mib,omitempty"`
	Failed int        `json:"failed_mib,omitempty"`
	Error  string     `json:"error,omitempty"`
	Probes []MemProbe `json:"probes"`
}

// MemProbe is one boot of the search.
type MemProbe struct {
	MiB         int     `json:"mib"`
	OK          bool    `json:"ok"`
	Why         string  `json:"why,omitempty"` // why it failed
	WallSeconds float64 `json:"wall_s,omitempty"`
	Console     string  `json:"console_log,omitempty"`
}

// probeFunc boots with mib MiB and tells whether the guest passed; err is for what ends the
// whole search (the benchmark was interrupted), not for a guest that failed.
type probeFunc func(mib int) (MemProbe, error)

// bisectMem finds the smallest memory in (low, high] that passes, to within res MiB,
// assuming that more memory never fails where less passed. It probes high first (failing
// there is an error) and then low (passing there gives low, an upper bound).
func bisectMem(low, high, res int, probe probeFunc) (MinMem, error) {
	var m MinMem
	if res < 1 || low < 1 || high <= low {
		return m, fmt.Errorf("min memory: bad search: low %d MiB, high %d MiB, resolution %d MiB", low, high, res)
	}
	try := func(mib int) (bool, error) {
		p, err := probe(mib)
		p.MiB = mib
		m.Probes = append(m.Probes, p)
		return p.OK, err
	}
	ok, err := try(high)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, fmt.Errorf("min memory: the guest failed with %d MiB, the high bound: %s", high, m.Probes[0].Why)
	}
	if ok, err = try(low); err != nil {
		return m, err
	}
	if ok {
		m.MiB = low
		return m, nil
	}
	for high-low > res {
		mid := low + (high-low)/2
		ok, err := try(mid)
		if err != nil {
			return m, err
		}
		if ok {
			high = mid
		} else {
			low = mid
		}
	}
	m.MiB, m.Failed = high, low
	return m, nil
}

// searchMinMem bisects target's memory (see bisectMem) and writes each probe's console to
// consoleDir/minmem-<kind>-<MiB>.log. A search that found nothing is reported in the
// result's Error; only an interrupted benchmark returns an error.
func searchMinMem(ctx context.Context, s bootSettings, target bootTarget, name string, services []string,
	low, res int, stay time.Duration, consoleDir string, logf func(string, ...any)) (MinMem, error) {
	high, err := qemu.ParseMem(s.Mem)
	if err != nil {
		return MinMem{Name: name, Error: err.Error()}, nil
	}
	bootWait := min(s.Timeout, minMemBootWait)
	target.Drive = func(d *driver) error {
		d.boot = bootWait
		return driveMinMem(d, services, stay)
	}
	s.Timeout = bootWait + stay + 3*driverStep
	m, err := bisectMem(low, high, res, func(mib int) (MemProbe, error) {
		ps := s
		ps.Mem = strconv.Itoa(mib)
		log := filepath.Join(consoleDir, fmt.Sprintf("minmem-%s-%d.log", target.Kind, mib))
		run, err := bootOnce(ctx, ps, target, mib, log)
		p := MemProbe{OK: err == nil, WallSeconds: run.WallSeconds, Console: log}
		if err != nil {
			if ctx.Err() != nil {
				return p, fmt.Errorf("min memory: %w", ctx.Err())
			}
			p.Why = err.Error()
		}
		verdict := "passed"
		if !p.OK {
			verdict = "failed"
		}
		logf("min memory %s: %d MiB %s in %.1f s", name, mib, verdict, p.WallSeconds)
		return p, nil
	})
	m.Name = name
	if err != nil {
		if ctx.Err() != nil {
			return m, err
		}
		m.Error = err.Error()
	}
	return m, nil
}

// driveMinMem is a memory probe's driver: once every service has started it waits stay,
// failing on an OOM kill or a guest that ended, then checks at the shell that every service
// still runs and never restarted, and powers off.
func driveMinMem(d *driver, services []string, stay time.Duration) error {
	failed := func(l string) bool {
		for _, f := range minMemFailLines {
			if strings.Contains(l, f) {
				return true
			}
		}
		return false
	}
	line, err := d.waitFor(d.boot, func(l string) bool { return failed(l) || strings.Contains(l, BootCompleteLine) })
	if err != nil {
		return fmt.Errorf("waiting for %q: %w", BootCompleteLine, err)
	}
	if failed(line) {
		return fmt.Errorf("before boot complete: %s", strings.TrimSpace(line))
	}
	line, err = d.waitFor(stay, failed)
	switch {
	case err == nil:
		return fmt.Errorf("within %s of boot complete: %s", stay, strings.TrimSpace(line))
	case !errors.Is(err, errWaitTimeout):
		return fmt.Errorf("within %s of boot complete: %w", stay, err)
	}
	if err := d.sync(); err != nil {
		return err
	}
	out, err := d.run("keel-ctl status")
	if err != nil {
		return err
	}
	if err := servicesHealthy(out, services); err != nil {
		return fmt.Errorf("after %s: %w", stay, err)
	}
	return d.powerOff()
}

// servicesHealthy checks keel-ctl status's table (among other console lines) for each
// service: running, started once (a service the OOM killer ended was started again).
func servicesHealthy(lines, services []string) error {
	want := make(map[string]bool, len(services))
	for _, s := range services {
		want[s] = true
	}
	seen := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 || !want[f[0]] || seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		if f[1] != "running" || f[3] != "1" {
			return fmt.Errorf("service %s is %s after %s starts (keel-ctl status: %q)", f[0], f[1], f[3], strings.TrimSpace(l))
		}
	}
	for _, s := range services {
		if !seen[s] {
			return fmt.Errorf("keel-ctl status does not list service %s: %q", s, lines)
		}
	}
	return nil
}
