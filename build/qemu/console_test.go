package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/guest"
)

func feed(chunks ...string) *console {
	c := newConsole()
	for _, s := range chunks {
		c.Write([]byte(s))
	}
	c.flush()
	return c
}

func TestConsoleTracksLastKeelLineAcrossChunks(t *testing.T) {
	c := feed("boot\r\nkeel: re", "boot\r\n[ 1.0] x\nkeel: power", " off\r\n[ 2.0] reboot: Power down")
	last, panicLine, lastLine := c.state()
	if last != evPowerOff || panicLine != "" || lastLine != "[ 2.0] reboot: Power down" {
		t.Errorf("state = %v %q %q", last, panicLine, lastLine)
	}
}

func TestConsoleNotifiesHaltAndPanic(t *testing.T) {
	c := feed("keel: halt\n")
	if ev := <-c.notify; ev != evHalt {
		t.Errorf("event = %v, want halt", ev)
	}
	c = feed("[ 2.6] Kernel panic - not syncing: Attempted to kill init!\n[ 2.7] more\n")
	if ev := <-c.notify; ev != evPanic {
		t.Errorf("event = %v, want panic", ev)
	}
	if _, p, _ := c.state(); !strings.Contains(p, "Attempted to kill init") {
		t.Errorf("panic line = %q", p)
	}
}

func TestConsoleReadsTheShutdownLinesPID1Prints(t *testing.T) {
	for msg, want := range map[string]event{guest.PowerOff: evPowerOff, guest.Reboot: evReboot, guest.Halt: evHalt} {
		// PID 1's console is a tty: its lines end in \r\n.
		c := feed("[ 3.0] x\r\n" + guest.Line(msg) + "\r\n")
		if last, _, _ := c.state(); last != want {
			t.Errorf("%q: event %v, want %v", guest.Line(msg), last, want)
		}
	}
	c := feed(guest.Line(guest.PowerOff) + "\n")
	if err := outcome(context.Background(), context.Background(), Config{Arch: "amd64"}, nil, c, &tailBuffer{max: 100}); err != nil {
		t.Errorf("power off line then exit 0: %v, want success", err)
	}
}

func TestOutcomeMapsConsoleAndExitToErrors(t *testing.T) {
	bg := context.Background()
	expired, cancel := context.WithTimeout(bg, time.Nanosecond)
	defer cancel()
	<-expired.Done()
	exitErr := errors.New("exit status 1")
	for _, tc := range []struct {
		name    string
		console string
		tctx    context.Context
		waitErr error
		want    error
	}{
		{"poweroff", "keel: power off\n", bg, nil, nil},
		{"reboot", "keel: reboot\n", bg, nil, ErrReboot},
		{"poweroff then reboot", "keel: power off\nkeel: reboot\n", bg, nil, ErrReboot},
		{"halt", "keel: halt\n", bg, exitErr, ErrHalt},
		{"panic after poweroff line", "keel: power off\nKernel panic - not syncing\n", bg, nil, ErrPanic},
		{"no line", "hello\n", bg, nil, ErrNoShutdown},
		{"timeout", "keel: power off\n", expired, exitErr, ErrTimeout},
		{"qemu failed", "keel: power off\n", bg, exitErr, exitErr},
		{"any guest: no line", "reboot: Power down\n", bg, nil, nil},
		{"any guest: kernel restart", "reboot: Restarting system\n", bg, nil, ErrReboot},
		{"any guest: keel reboot", "keel: reboot\n", bg, nil, ErrReboot},
		{"any guest: halt", "keel: halt\n", bg, exitErr, ErrHalt},
		{"any guest: panic", "Kernel panic - not syncing\n", bg, nil, ErrPanic},
		{"any guest: qemu failed", "", bg, exitErr, exitErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Arch: "amd64", AnyGuest: strings.HasPrefix(tc.name, "any guest")}
			err := outcome(bg, tc.tctx, cfg, tc.waitErr, feed(tc.console), &tailBuffer{max: 100})
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("outcome = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTailBufferKeepsLastBytes(t *testing.T) {
	b := &tailBuffer{max: 4}
	b.Write([]byte("abcdef"))
	b.Write([]byte("gh"))
	if got := b.String(); got != "efgh" {
		t.Errorf("tail = %q, want efgh", got)
	}
}

func TestLoadImageReadsBuildOutputs(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "linuxkit")
	for file, data := range map[string]string{guest.KernelFile(name): "k", guest.InitrdFile(name): "i", guest.CmdlineFile(name): "quiet root=x\n"} {
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var c Config
	if err := c.LoadImage(name, false); err != nil {
		t.Fatal(err)
	}
	if c.Kernel != name+"-kernel" || c.Initrd != name+"-initrd.img" || c.Root != "" || c.Cmdline != "quiet root=x" {
		t.Errorf("config = %+v", c)
	}
	if err := c.LoadImage(filepath.Join(dir, "missing"), false); err == nil || !strings.Contains(err.Error(), "missing-kernel") {
		t.Errorf("missing image: err = %v", err)
	}
	if err := c.LoadImage(name, true); err == nil || !strings.Contains(err.Error(), "linuxkit-squashfs.img") {
		t.Errorf("--squashfs without a squashfs: err = %v", err)
	}
}

func TestLoadImageTakesTheSquashfsWhenAskedOrWhenThereIsNoInitrd(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "keel")
	for _, file := range []string{guest.KernelFile(name), guest.InitrdFile(name), guest.SquashfsFile(name)} {
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var c Config
	if err := c.LoadImage(name, true); err != nil {
		t.Fatal(err)
	}
	if c.Root != guest.SquashfsFile(name) || c.Initrd != "" {
		t.Errorf("--squashfs: root %q, initrd %q", c.Root, c.Initrd)
	}
	os.Remove(guest.InitrdFile(name))
	c = Config{}
	if err := c.LoadImage(name, false); err != nil {
		t.Fatal(err)
	}
	if c.Root != guest.SquashfsFile(name) || c.Initrd != "" {
		t.Errorf("no initrd: root %q, initrd %q", c.Root, c.Initrd)
	}
	os.Remove(guest.SquashfsFile(name))
	if err := c.LoadImage(name, false); err == nil || !strings.Contains(err.Error(), "keel-initrd.img") || !strings.Contains(err.Error(), "keel-squashfs.img") {
		t.Errorf("neither root: err = %v", err)
	}
}
