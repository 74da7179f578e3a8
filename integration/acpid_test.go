package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// acpidBuilds builds, once per arch, the packages of testdata/acpid.yml that the arch's
// shared build (TestMain's packages for amd64, needArch's otherwise) may lack.
var acpidBuilds sync.Map // arch → func() error (a sync.OnceValue)

func needAcpidPackages(t *testing.T, arch string) {
	t.Helper()
	needArch(t, arch)
	var pkgs []string
	for _, p := range []string{"services/acpid", "integration/checker"} {
		if arch != "amd64" || !slices.Contains(packages, p) {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		return
	}
	build, _ := acpidBuilds.LoadOrStore(arch, sync.OnceValue(func() error {
		args := append([]string{"pkg", "build", "--arch", arch}, pkgs...)
		if out, err := command(repo, keelBin, args...); err != nil {
			return fmt.Errorf("keel pkg build --arch %s: %v\n%s", arch, err, out)
		}
		return nil
	}))
	if err := build.(func() error)(); err != nil {
		t.Fatal(err)
	}
}

// TestQMPPowerdownPowersOffThroughAcpid presses the machine's power button as a hypervisor
// does when asked to shut a guest down: qemu's QMP system_powerdown, an ACPI power button
// event on amd64 (q35) and virt's GPIO power key on arm64 (booted without firmware, so
// without ACPI). keel/acpid asks PID 1 to power off over its control socket, with only the
// privileges its label grants; PID 1 runs the onshutdown container, stops the services and
// powers off, and qemu exits 0.
func TestQMPPowerdownPowersOffThroughAcpid(t *testing.T) {
	needGuest(t)
	for _, tc := range []struct{ arch, device string }{
		{"amd64", "Power Button"}, // the kernel's ACPI button driver (LNXPWRBN)
		{"arm64", "gpio-keys"},    // the gpio-keys node of virt's device tree, on the PL061
	} {
		t.Run(tc.arch, func(t *testing.T) {
			needAcpidPackages(t, tc.arch)
			image := buildImageFor(t, tc.arch, "integration/testdata/acpid.yml", t.TempDir())
			console := powerdownSession(t, tc.arch, image)
			mustContain(t, console,
				`acpid: watching /dev/input/event\d+ \(`+regexp.QuoteMeta(tc.device)+`\)`,
				poweredOff)
			inOrder(t, console,
				"acpid: power button pressed: asking PID 1 to power off",
				"keel: power off requested",
				"onshutdown goodbye ran",
				"keel: onshutdown 000-goodbye done",
				"farewell: stopped by SIGTERM",
				powerOffLine)
			if strings.Contains(console, "acpid: power off:") {
				t.Errorf("PID 1 refused acpid's request (its label's CAP_SYS_BOOT and binds are not enough)")
			}
		})
	}
}

// powerdownSession boots image with a QMP monitor, waits for acpid to watch the power
// button, sends system_powerdown and returns the console once qemu has exited, which it
// must do with 0 within a grace period.
func powerdownSession(t *testing.T, arch, image string) string {
	t.Helper()
	// qemu connects to the test's socket (a client chardev: --qemu-arg splits its value at
	// commas, so server=on,wait=off cannot be passed). The path must be short for sun_path.
	dir, err := os.MkdirTemp("", "qmp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	qmpConn := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			qmpConn <- c
		}
	}()

	argv := []string{"run", "qemu", "--accel", "tcg", "--timeout", "8m", "--arch", arch,
		"--qemu-arg=-qmp", "--qemu-arg=unix:" + sock, image}
	cmd := exec.Command(keelBin, argv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var console strings.Builder
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			mu.Lock()
			console.WriteString(s.Text() + "\n")
			mu.Unlock()
			lines <- s.Text()
		}
	}()
	// The console is read to its end, then qemu waited for: by the waiter once QMP asked
	// for the power off, else (a failure) here after killing it.
	exited := make(chan error, 1)
	waiter := func() {
		for range lines {
		}
		exited <- cmd.Wait()
	}
	waiting := false
	defer func() {
		if t.Failed() {
			_ = cmd.Process.Kill()
		}
		if !waiting {
			go waiter()
		}
		<-exited
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() || testing.Verbose() {
			t.Logf("console:\n%s", console.String())
		}
	}()

	watching := regexp.MustCompile(`acpid: watching /dev/input/event\d+`)
	if !waitForLine(lines, 5*time.Minute, watching.MatchString) {
		t.Errorf("acpid never watched a power button")
		return consoleOf(&mu, &console)
	}
	var c net.Conn
	select {
	case c = <-qmpConn:
	case <-time.After(30 * time.Second):
		t.Errorf("qemu never connected to the QMP socket %s", sock)
		return consoleOf(&mu, &console)
	}
	defer c.Close()
	if err := qmpPowerdown(c); err != nil {
		t.Errorf("QMP: %v", err)
		return consoleOf(&mu, &console)
	}
	sent := time.Now()
	waiting = true
	go waiter()
	// Onshutdown container, services' SIGTERM (5 s at most here), containerd, unmounts.
	const grace = 3 * time.Minute
	select {
	case err := <-exited:
		exited <- err // for the deferred function
		t.Logf("boot of %s (%s) took %s, %s after system_powerdown", filepath.Base(image), arch,
			time.Since(start).Round(time.Millisecond), time.Since(sent).Round(time.Millisecond))
		if err != nil {
			t.Errorf("keel run qemu: %v", err)
		}
	case <-time.After(grace):
		t.Errorf("qemu still ran %s after system_powerdown", grace)
	}
	return consoleOf(&mu, &console)
}

// waitForLine reads console lines until one matches, the console ends or timeout passes.
func waitForLine(lines <-chan string, timeout time.Duration, match func(string) bool) bool {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if match(l) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func consoleOf(mu *sync.Mutex, b *strings.Builder) string {
	mu.Lock()
	defer mu.Unlock()
	return b.String()
}

// qmpPowerdown speaks QMP on c: it reads the greeting, leaves capabilities negotiation
// mode and asks for system_powerdown, checking each command's answer.
func qmpPowerdown(c net.Conn) error {
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	dec := json.NewDecoder(c)
	var greeting map[string]json.RawMessage
	if err := dec.Decode(&greeting); err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if _, ok := greeting["QMP"]; !ok {
		return fmt.Errorf("greeting without QMP: %v", greeting)
	}
	for _, cmd := range []string{"qmp_capabilities", "system_powerdown"} {
		if _, err := fmt.Fprintf(c, `{"execute":%q}`+"\n", cmd); err != nil {
			return fmt.Errorf("send %s: %w", cmd, err)
		}
		for {
			var msg map[string]json.RawMessage
			if err := dec.Decode(&msg); err != nil {
				return fmt.Errorf("answer to %s: %w", cmd, err)
			}
			if _, ok := msg["event"]; ok {
				continue // asynchronous events (POWERDOWN) may come before the answer
			}
			if e, ok := msg["error"]; ok {
				return fmt.Errorf("%s: %s", cmd, e)
			}
			if _, ok := msg["return"]; ok {
				break
			}
			return fmt.Errorf("answer to %s: unexpected %v", cmd, msg)
		}
	}
	return nil
}
