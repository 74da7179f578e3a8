package integration

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestExampleBootsToAShellAndPowersOff is the README's path: keel build examples/keel.yml,
// keel run qemu, a root shell on the console (the getty service), poweroff ends qemu with 0.
func TestExampleBootsToAShellAndPowersOff(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "examples/keel.yml", t.TempDir())
	cmd := exec.Command(keelBin, "run", "qemu", "--accel", "tcg", "--timeout", "4m", image)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
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
	// waitFor reads console lines until one contains text.
	waitFor := func(text string) bool {
		timeout := time.After(3 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return false
				}
				if strings.Contains(l, text) {
					return true
				}
			case <-timeout:
				return false
			}
		}
	}
	type step struct{ send, expect string }
	steps := []step{
		{"", "Welcome to Keel"},
		{"echo SHELL-$((40+2))", "SHELL-42"},
		{"ctr -n services.linuxkit tasks ls | grep getty", "RUNNING"},
		{"cat /var/log/onboot/000-sysctl.log", "sysctl: applied"},
		{"poweroff", "keel: power off"},
	}
	for _, s := range steps {
		if s.send != "" {
			io.WriteString(stdin, s.send+"\n")
		}
		if !waitFor(s.expect) {
			t.Errorf("console never showed %q after %q", s.expect, s.send)
			break
		}
	}
	err = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Errorf("keel run qemu: %v", err)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("console:\n%s", console.String())
	}
}
