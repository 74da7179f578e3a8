package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/keel-os/keel/build/qemu"
)

// Boot kinds.
const (
	KindFloor = "floor"
	KindKeel  = "keel"
	// KindSquashfs boots the same image from its squashfs root (kernel+squashfs); its
	// stages are reported beside the initramfs's in Result.Layouts, not in Boot.
	KindSquashfs = "keel-squashfs"
	// KindRestarts is the extra Keel boot that restarts services before powering off
	// (Options.Restarts); its stages are not part of the boot statistics.
	KindRestarts = "keel-restarts"
)

// BootRun is one boot's raw data.
type BootRun struct {
	Kind        string    `json:"kind"` // KindFloor, KindKeel, KindSquashfs or KindRestarts
	N           int       `json:"n"`    // 1.. within its kind and vCPU count
	CPUs        int       `json:"cpus"` // the guest's virtual CPUs
	WallSeconds float64   `json:"wall_s"`
	FloorUptime float64   `json:"floor_uptime_s,omitempty"` // floor: uptime when /init ran
	FloorCPU    *CPU      `json:"floor_cpu,omitempty"`      // floor: CPU time when /init ran
	Timeline    *Timeline `json:"timeline,omitempty"`       // keel: the last timeline printed
	// RestartSamples (the restarts boot) are the memory before the first restart, after each
	// quarter of them and after the last.
	RestartSamples []RestartSample `json:"restart_samples,omitempty"`
	Console        string          `json:"console_log"` // file holding the console output
	// OtherQEMUs are the pids of QEMU processes (not the benchmark's) seen running during
	// the boot: it competed with them for the CPU, so its times are too long.
	OtherQEMUs []int `json:"other_qemus,omitempty"`
}

// bootTarget is an image to boot.
type bootTarget struct {
	Kind    string
	Kernel  string
	Initrd  string
	Root    string // a squashfs root instead of Initrd
	Cmdline string
	// Drive, if set, runs beside the boot with the console's input and output (a Keel boot
	// ends when it asks for the poweroff); its error ends the boot.
	Drive func(*driver) error
}

// Driver timing: a step is one keel-ctl command or the shell's answer, generous for TCG.
const (
	driverStep   = 3 * time.Minute
	driverResend = 2 * time.Second
)

// bootSettings are the QEMU settings shared by every boot.
type bootSettings struct {
	Arch    string
	Mem     string
	CPUs    int
	Accel   string
	Timeout time.Duration
}

// bootOnce boots target once, with its driver on the console, writes its console to
// consoleLog, and parses what the run measures: the floor's uptime, or Keel's last timeline.
// The wall time runs from starting QEMU until it exited.
func bootOnce(ctx context.Context, s bootSettings, target bootTarget, n int, consoleLog string) (BootRun, error) {
	r := BootRun{Kind: target.Kind, N: n, CPUs: s.CPUs, Console: consoleLog}
	var console syncBuffer
	var feed lineFeed
	cfg := qemu.Config{
		Arch: s.Arch, Mem: s.Mem, CPUs: s.CPUs, Accel: s.Accel, NIC: "none",
		Kernel: target.Kernel, Initrd: target.Initrd, Root: target.Root, Cmdline: target.Cmdline,
		Stdout: io.MultiWriter(&console, &feed), Stderr: &console, Timeout: s.Timeout,
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	driven := make(chan error, 1)
	if target.Drive == nil {
		driven <- nil
	} else {
		// A pipe QEMU reads as its stdin directly: Run's wait does not hang on copying it.
		in, typed, err := os.Pipe()
		if err != nil {
			return r, fmt.Errorf("%s boot %d: console input: %w", target.Kind, n, err)
		}
		defer in.Close()
		defer typed.Close()
		cfg.Stdin = in
		d := &driver{in: typed, feed: &feed, boot: s.Timeout, step: driverStep, resend: driverResend}
		if d.boot <= 0 {
			d.boot = driverStep
		}
		go func() {
			err := target.Drive(d)
			if err != nil {
				cancel()
			}
			driven <- err
		}()
	}
	watch := watchContention(250 * time.Millisecond)
	start := time.Now()
	err := qemu.Run(runCtx, cfg)
	r.WallSeconds = time.Since(start).Seconds()
	r.OtherQEMUs = watch.Stop()
	feed.Close()
	// A driver that lost the console reports the end QEMU's own error explains better.
	if derr := <-driven; derr != nil && (err == nil || !errors.Is(derr, errConsoleClosed)) {
		err = fmt.Errorf("driver: %w", derr)
	}
	out := console.Bytes()
	if werr := os.WriteFile(consoleLog, out, 0o644); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return r, fmt.Errorf("%s boot %d: %w (console in %s)", target.Kind, n, err, consoleLog)
	}
	switch target.Kind {
	case KindFloor:
		r.FloorUptime, err = ParseFloor(string(out))
		if err == nil {
			r.FloorCPU, err = ParseFloorCPU(string(out))
		}
	default:
		var t Timeline
		t, err = LastTimeline(string(out))
		r.Timeline = &t
	}
	if err != nil {
		return r, fmt.Errorf("%s boot %d: %w (console in %s)", target.Kind, n, err, consoleLog)
	}
	return r, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
