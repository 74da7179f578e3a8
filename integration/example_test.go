package integration

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keel-os/keel/guest"
)

// unames are uname -m for each arch.
var unames = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x"}

// TestExampleBootsToAShellAndPowersOff is the README's path on every architecture: keel
// kernel build and keel pkg build for the arch, keel build examples/keel.yml, keel run qemu
// (q35, virt with -cpu max, s390-ccw-virtio; TCG). The onboot sysctl ran through runc, the
// getty service is a running containerd task giving a root shell on the console, and
// poweroff ends qemu with 0.
func TestExampleBootsToAShellAndPowersOff(t *testing.T) {
	needGuest(t)
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		t.Run(arch, func(t *testing.T) {
			needArch(t, arch)
			image := buildImageFor(t, arch, "examples/keel.yml", t.TempDir())
			console := shellSession(t, []string{"--arch", arch}, image, []step{
				{"", "Welcome to Keel"},
				{"echo SHELL-$((40+2)) $(uname -m)", "SHELL-42 " + unames[arch]},
				{"date -u +CLOCK-%Y", "CLOCK-20"}, // set from the RTC or TOD clock, not 1970
				{"cat /var/log/onboot/000-sysctl.log", "sysctl: applied"},
				{"ctr -n services.linuxkit tasks ls | grep getty", "RUNNING"},
				{"keel-ctl analyze", "services ready"},
				{"keel-ctl analyze --json", `"services_ready":`},
				{"keel-ctl memory", "memory: PID 1 VmHWM"},
				{"poweroff", powerOffLine},
			})
			if arch == "amd64" {
				// q35's AHCI controller needs its modules: PID 1 times loading them.
				mustContain(t, console, `loaded \d+ kernel modules`, `(?m)^modules +[0-9.]+ +[0-9.]+`)
			}
			// sysctl touches none of containerd's paths: containerd starts before it, while
			// the drivers load.
			if at := spanStarts(console); at["containerd"] == 0 || at["containerd"] >= at["onboot/000-sysctl"] {
				t.Errorf("containerd started at %v s, the onboot container at %v s: want containerd first", at["containerd"], at["onboot/000-sysctl"])
			}
			checkCPUTime(t, console)
			if m := regexp.MustCompile(`kernel → PID 1\s+([0-9.]+)`).FindStringSubmatch(console); m != nil {
				t.Logf("%s: uptime at PID 1 %s s", arch, m[1])
			}
			if m := regexp.MustCompile(`services ready\s+([0-9.]+)`).FindStringSubmatch(console); m != nil {
				t.Logf("%s: services ready at %s s", arch, m[1])
			}
		})
	}
}

// TestALinuxKitFileBootsThroughUEFIFirmware boots a LinuxKit user's minimal file, unchanged
// (linuxkit/* images, substituted by keel build), through OVMF (amd64) and AAVMF (arm64),
// which start the kernel through its EFI stub as EFI hardware does, with a display: the
// framebuffer console and a shell on tty1.
func TestALinuxKitFileBootsThroughUEFIFirmware(t *testing.T) {
	needGuest(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			needArch(t, arch)
			dir := t.TempDir()
			args := []string{"build", "-o", dir, "--arch", arch, "integration/testdata/linuxkit-minimal.yml"}
			out, err := command(repo, keelBin, args...)
			if err != nil {
				t.Fatalf("keel build: %v\n%s", err, out)
			}
			for _, want := range []string{"linuxkit/kernel:6.6.71 → keel/kernel:dev", "linuxkit/getty:v1.0.0 → keel/getty:dev", "linuxkit/runc:667e7ea2c426a2460ca21e3da065a57dbb3369c9: dropped"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("keel build does not say %q:\n%s", want, out)
				}
			}
			image := filepath.Join(dir, "linuxkit-minimal")
			// A display, as desktop hypervisors give: the firmware's framebuffer becomes the
			// kernel's console, and getty serves a shell on tty1 too.
			display := map[string]string{"amd64": "VGA", "arm64": "ramfb"}[arch]
			console := shellSession(t, []string{"--arch", arch, "--uefi", "--qemu-arg", "-device", "--qemu-arg", display}, image, []step{
				{"", "Welcome to Keel"},
				{"ls /sys/firmware/efi/ && echo EFI-$((6*7))", "EFI-42"},
				{"cat /sys/class/vtconsole/vtcon*/name | grep -c 'frame buffer' | sed s/^/FBCON-/", "FBCON-1"},
				{"ls -l /proc/[0-9]*/fd/0 2>/dev/null | grep -c /dev/tty1 | sed s/^/TTY1-/", "TTY1-1"},
				{"cat /var/log/onboot/000-sysctl.log", "sysctl: applied"},
				{"echo $INSECURE-$(uname -m)", "true-" + unames[arch]},
				{"poweroff", powerOffLine},
			})
			mustContain(t, console, `(?i)efi`)
		})
	}
}

// TestZstdMaxImageUnpacksAndBoots boots the example written by zstd's own encoder at its
// highest level (keel build --compress zstd-max): the kernel's decoder takes its frame, with
// the window zstd-max asks for, and the machine comes up as with the default compression.
func TestZstdMaxImageUnpacksAndBoots(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	image := buildImageFor(t, "amd64", "examples/keel.yml", dir, "--compress", "zstd-max")
	initrd, err := os.ReadFile(guest.InitrdFile(image))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(initrd, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("initrd starts %x, not a zstd frame", initrd[:4])
	}
	t.Logf("zstd-max initrd: %d bytes", len(initrd))
	shellSession(t, nil, image, []step{
		{"", "Welcome to Keel"},
		{"ctr -n services.linuxkit tasks ls | grep getty", "RUNNING"},
		{"poweroff", powerOffLine},
	})
}

// checkCPUTime checks the CPU time keel-ctl analyze printed: PID 1 read it from /proc/stat
// when it started and when every service had, so the machine was busy for some time before
// each, and more before the second; busy and idle together cannot exceed the uptime of one
// vCPU.
func checkCPUTime(t *testing.T, console string) {
	t.Helper()
	re := regexp.MustCompile(`cpu at (PID 1 start|services ready): busy ([0-9.]+) s \(user ([0-9.]+), system ([0-9.]+)\), idle ([0-9.]+) s`)
	busy := map[string]float64{}
	for _, m := range re.FindAllStringSubmatch(console, -1) {
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(m[2+i], 64)
		}
		if v[0] <= 0 || v[1] <= 0 || v[2] <= 0 {
			t.Errorf("cpu at %s: %q: want busy, user and system time", m[1], m[0])
		}
		busy[m[1]] = v[0]
		if m[1] == "services ready" {
			if r := regexp.MustCompile(`services ready\s+([0-9.]+)`).FindStringSubmatch(console); r != nil {
				if up, _ := strconv.ParseFloat(r[1], 64); v[0]+v[3] > up+0.05 {
					t.Errorf("cpu at services ready: busy %.2f s and idle %.2f s, more than the uptime %.2f s of one vCPU", v[0], v[3], up)
				}
			}
			t.Logf("cpu at services ready: busy %.2f s, idle %.2f s", v[0], v[3])
		}
	}
	if len(busy) != 2 || busy["services ready"] <= busy["PID 1 start"] {
		t.Errorf("cpu time at PID 1 start and services ready: %v; want both, more at the second", busy)
	}
}

// spanStarts reads the start of each span from keel-ctl analyze's table on the console.
func spanStarts(console string) map[string]float64 {
	at := map[string]float64{}
	for _, m := range regexp.MustCompile(`(?m)^(containerd|onboot/\S+|service/\S+|modules) +([0-9.]+) +[0-9.]+\r?$`).FindAllStringSubmatch(console, -1) {
		if v, err := strconv.ParseFloat(m[2], 64); err == nil {
			at[m[1]] = v
		}
	}
	return at
}

// exampleOnly are the packages of examples/keel.yml, which needArch builds for other arches.
var exampleOnly = []string{"init", "services/getty", "onboot/sysctl"}

// archBuilds remembers, per arch other than amd64 (built by TestMain), the outcome of
// building its kernel and the example's packages, so that tests share one build.
var archBuilds sync.Map // arch → func() error (a sync.OnceValue)

// needArch builds arch's kernel and the example's packages once for all tests.
func needArch(t *testing.T, arch string) {
	t.Helper()
	if arch == "amd64" {
		return
	}
	build, _ := archBuilds.LoadOrStore(arch, sync.OnceValue(func() error {
		return buildArch(arch, exampleOnly)
	}))
	if err := build.(func() error)(); err != nil {
		t.Fatal(err)
	}
}

// step is one exchange with a guest's shell: send a line (if any), then wait for a text.
type step struct{ send, expect string }

// shellSession boots image with keel run qemu and extra flags, plays the steps on its
// console, and returns what the console showed. keel run must end with 0 (a clean poweroff).
func shellSession(t *testing.T, flags []string, image string, steps []step) string {
	t.Helper()
	argv := append([]string{"run", "qemu", "--accel", "tcg", "--timeout", "6m"}, flags...)
	cmd := exec.Command(keelBin, append(argv, image)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
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
	// waitFor reads console lines until one contains text.
	waitFor := func(text string) bool {
		timeout := time.After(4 * time.Minute)
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
	for _, s := range steps {
		if s.send != "" {
			io.WriteString(stdin, s.send+"\n")
		}
		if !waitFor(s.expect) {
			t.Errorf("console never showed %q after %q", s.expect, s.send)
			break
		}
	}
	if t.Failed() {
		cmd.Process.Kill()
	}
	for range lines { // drain to EOF so the console is complete
	}
	err = cmd.Wait()
	t.Logf("boot of %s took %s", strings.Join(append([]string{filepath.Base(image)}, flags...), " "), time.Since(start).Round(time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Errorf("keel run qemu: %v", err)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("console:\n%s", console.String())
	}
	return console.String()
}
