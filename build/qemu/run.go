package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/keel-os/keel/arch"
)

// How a run can fail; Run wraps them with context, test with errors.Is.
var (
	ErrReboot     = errors.New("guest rebooted instead of powering off")
	ErrHalt       = errors.New("guest halted instead of powering off")
	ErrPanic      = errors.New("guest kernel panic")
	ErrNoShutdown = errors.New(`guest stopped without printing "` + LinePowerOff + `"`)
	ErrTimeout    = errors.New("timed out")
)

// stopGrace is how long Run lets a halted or panicking guest go on printing before it
// stops QEMU, which a halted or panicked guest never ends by itself.
var stopGrace = 2 * time.Second

// Run boots cfg in QEMU and waits until it ends. It creates missing disk files, writes
// cfg.Data to a temporary file, copies the console to cfg.Stdout, and returns nil only if
// QEMU exited 0 after the guest printed "keel: power off", or with cfg.AnyGuest after any
// guest powered off (see the package doc).
func Run(ctx context.Context, cfg Config) error {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := prepareDisks(ctx, c.Disks); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	if c.Data != nil && c.DataFile == "" {
		name, err := writeTemp(c.Data)
		if err != nil {
			return fmt.Errorf("qemu: userdata: %w", err)
		}
		defer os.Remove(name)
		c.DataFile = name
	}
	argv, err := Command(c)
	if err != nil {
		return err
	}

	timeoutCtx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		timeoutCtx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	runCtx, stop := context.WithCancel(timeoutCtx)
	defer stop()

	con := newConsole()
	qerr := &tailBuffer{max: 8 << 10}
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // lets QEMU restore the tty
	cmd.WaitDelay = 5 * time.Second
	stopWithParent(cmd)
	cmd.Stdin = c.Stdin
	cmd.Stdout = con
	if c.Stdout != nil {
		cmd.Stdout = io.MultiWriter(con, c.Stdout)
	}
	cmd.Stderr = qerr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(qerr, c.Stderr)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu: start %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
wait:
	for {
		select {
		case waitErr = <-done:
			break wait
		case <-con.notify:
			time.AfterFunc(stopGrace, stop)
		}
	}
	con.flush()
	return outcome(ctx, timeoutCtx, c, waitErr, con, qerr)
}

// outcome turns how QEMU ended and what the console showed into Run's result.
func outcome(ctx, timeoutCtx context.Context, c Config, waitErr error, con *console, qerr *tailBuffer) error {
	last, panicLine, lastLine := con.state()
	detail := func() string {
		s := ""
		if lastLine != "" {
			s += fmt.Sprintf("; last console line: %q", lastLine)
		}
		if e := qerr.String(); e != "" {
			s += "; qemu: " + e
		}
		return s
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("qemu: %w%s", ctx.Err(), detail())
	case timeoutCtx.Err() != nil && panicLine == "" && last != evHalt:
		return fmt.Errorf("qemu: %w after %v%s", ErrTimeout, c.Timeout, detail())
	case panicLine != "":
		return fmt.Errorf("qemu: %w: %s", ErrPanic, panicLine)
	case last == evHalt:
		return fmt.Errorf("qemu: %w%s", ErrHalt, detail())
	case waitErr != nil:
		return fmt.Errorf("qemu: %s: %w%s", c.QEMUName(), waitErr, detail())
	case last == evPowerOff:
		return nil
	case last == evReboot, c.AnyGuest && con.restarted():
		return fmt.Errorf("qemu: %w", ErrReboot)
	case c.AnyGuest:
		return nil
	default:
		return fmt.Errorf("qemu: %w%s", ErrNoShutdown, detail())
	}
}

// QEMUName is the QEMU binary Command runs for c.
func (c Config) QEMUName() string {
	if c.QEMU != "" {
		return c.QEMU
	}
	if m, err := arch.Lookup(c.Arch); err == nil {
		return m.QEMU
	}
	return "qemu"
}

func writeTemp(data []byte) (string, error) {
	f, err := os.CreateTemp("", "keel-userdata-")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
