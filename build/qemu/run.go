package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// Run boots cfg in QEMU and waits until it ends. It creates missing disk files, puts
// cfg.Data and MetaData into temporary files and ISO images (removed after the run), copies
// the console to cfg.Stdout, and returns nil only if QEMU exited 0 after the guest printed
// "keel: power off", or with cfg.AnyGuest after any guest powered off (see the package doc).
func Run(ctx context.Context, cfg Config) error {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := prepareDisks(ctx, c.Disks); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	if c.hasData() {
		dir, err := os.MkdirTemp("", "keel-data-")
		if err != nil {
			return fmt.Errorf("qemu: data: %w", err)
		}
		defer os.RemoveAll(dir)
		if c, err = prepareData(c, dir); err != nil {
			return err
		}
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

// prepareData writes Data and MetaData into dir and builds the ISO images DataVia asks for.
func prepareData(c Config, dir string) (Config, error) {
	read := func(data []byte, file string) ([]byte, error) {
		if file == "" {
			return data, nil
		}
		return os.ReadFile(file)
	}
	user, err := read(c.Data, c.DataFile)
	if err != nil {
		return c, fmt.Errorf("qemu: user data: %w", err)
	}
	meta, err := read(c.MetaData, c.MetaDataFile)
	if err != nil {
		return c, fmt.Errorf("qemu: meta-data: %w", err)
	}
	c.ISOs = append([]string(nil), c.ISOs...)
	if c.via("cidata") {
		// NoCloud readers want both files, even empty.
		iso := filepath.Join(dir, "cidata.iso")
		if err := WriteISO(iso, "cidata", map[string][]byte{"user-data": user, "meta-data": meta}); err != nil {
			return c, fmt.Errorf("qemu: %w", err)
		}
		c.ISOs = append(c.ISOs, iso)
	}
	if c.via("cdrom") && user != nil {
		iso := filepath.Join(dir, "config.iso")
		if err := WriteISO(iso, "config", map[string][]byte{"config": user}); err != nil {
			return c, fmt.Errorf("qemu: %w", err)
		}
		c.ISOs = append(c.ISOs, iso)
	}
	if c.via("fwcfg") {
		write := func(name string, data []byte, file *string) error {
			if data == nil || *file != "" {
				return nil
			}
			*file = filepath.Join(dir, name)
			return os.WriteFile(*file, data, 0o600)
		}
		if err := write("user-data", c.Data, &c.DataFile); err != nil {
			return c, fmt.Errorf("qemu: user data: %w", err)
		}
		if err := write("meta-data", c.MetaData, &c.MetaDataFile); err != nil {
			return c, fmt.Errorf("qemu: meta-data: %w", err)
		}
	}
	return c, nil
}
