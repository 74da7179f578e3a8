// Command getty gives a shell on each console of a Keel machine, as LinuxKit's getty does with
// INSECURE=true: for every console named on the kernel command line (or /dev/console), and on
// tty1 when the machine has a screen, it starts a login shell with that terminal as its
// controlling tty, and starts a new one when the shell exits.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const shell = "/bin/sh"

func main() {
	consoles := withScreen("/", consolesFromCmdline(readFile("/proc/cmdline")))
	var wg sync.WaitGroup
	for _, c := range consoles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := serve(ttyPath("/", c))
				if errors.Is(err, fs.ErrNotExist) {
					// A console without a tty node (s390's line-mode ttyS0 beside ttysclp0).
					fmt.Fprintf(os.Stderr, "getty %s: no terminal device, not served: %v\n", c, err)
					return
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "getty %s: %v\n", c, err)
				}
				time.Sleep(time.Second)
			}
		}()
	}
	wg.Wait()
}

func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

// consolesFromCmdline returns the console devices named by console= (without options such as
// ",115200"), or "console" when none is named.
func consolesFromCmdline(cmdline string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(f, "console=")
		if !ok {
			continue
		}
		dev, _, _ := strings.Cut(v, ",")
		if dev != "" && !seen[dev] {
			seen[dev] = true
			out = append(out, dev)
		}
	}
	if len(out) == 0 {
		out = []string{"console"}
	}
	return out
}

// withScreen returns consoles with tty0 (the current virtual terminal, which the kernel
// writes to) served as tty1, and tty1 added when the machine has a screen: a virtual
// console on a framebuffer or VGA text, not the dummy one a machine without display gets.
func withScreen(root string, consoles []string) []string {
	var out []string
	for _, c := range consoles {
		if c == "tty0" {
			c = "tty1"
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if slices.Contains(out, "tty1") || !hasScreen(root) {
		return out
	}
	return append(out, "tty1")
}

// hasScreen reports whether a virtual console is bound to a display (sysfs's vtconsole names
// it: "frame buffer device", "VGA+"), not only to the dummy console.
func hasScreen(root string) bool {
	names, _ := filepath.Glob(filepath.Join(root, "sys", "class", "vtconsole", "vtcon*", "name"))
	for _, n := range names {
		if name := readFile(n); name != "" && !strings.Contains(name, "dummy") {
			if _, err := os.Stat(filepath.Join(root, "dev", "tty1")); err == nil {
				return true
			}
		}
	}
	return false
}

// ttyPath returns the device node of console name under root: /dev/NAME when it exists, else
// the node /proc/consoles and sysfs give for it. A console's name is not always its node's:
// s390's SCLP console is ttyS0 on the command line and /dev/sclp_line0 in /dev.
func ttyPath(root, name string) string {
	dev := filepath.Join(root, "dev", name)
	if _, err := os.Stat(dev); err == nil {
		return dev
	}
	// /proc/consoles: "ttyS0                -W- (EC p a)    4:64"
	for _, line := range strings.Split(readFile(filepath.Join(root, "proc", "consoles")), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != name {
			continue
		}
		uevent := readFile(filepath.Join(root, "sys", "dev", "char", f[len(f)-1], "uevent"))
		for _, kv := range strings.Split(uevent, "\n") {
			if v, ok := strings.CutPrefix(kv, "DEVNAME="); ok && v != "" {
				return filepath.Join(root, "dev", v)
			}
		}
	}
	return dev
}

// serve runs one login shell on tty and waits for it to exit.
func serve(tty string) error {
	f, err := os.OpenFile(tty, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "\nWelcome to Keel. %s is a root shell.\n\n", tty)
	cmd := exec.Command(shell, "-l")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	cmd.Env = append(os.Environ(), "TERM=linux", "HOME=/root", "PS1=\\h:\\w# ")
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Wait()
}
