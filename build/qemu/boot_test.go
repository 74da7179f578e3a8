package qemu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
)

// The boot tests run Debian's kernel under TCG with an initramfs holding only the static Go
// program in testdata/init, which acts on keeltest=MODE from the kernel command line.

var (
	testDir   string // removed by TestMain
	initOnce  sync.Once
	initPath  string
	initError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keel-qemu-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootKernel returns the host's Debian kernel, or skips the test when it or QEMU is absent.
func bootKernel(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("boot tests skipped in -short mode")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86): skipping boot test")
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Strings(kernels)
	for i := len(kernels) - 1; i >= 0; i-- {
		if f, err := os.Open(kernels[i]); err == nil {
			f.Close()
			return kernels[i]
		}
	}
	t.Skip("no readable /boot/vmlinuz-* (apt-get install linux-image-amd64): skipping boot test")
	return ""
}

// testInitramfs writes a newc cpio with the test init (and, if withFwCfg, the host's
// qemu_fw_cfg.ko for the kernel) and returns its path.
func testInitramfs(t *testing.T, kernel string, withFwCfg bool) string {
	t.Helper()
	initOnce.Do(func() {
		initPath = filepath.Join(testDir, "init")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", initPath, "./testdata/init")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			initError = fmt.Errorf("build test init: %v\n%s", err, out)
		}
	})
	if initError != nil {
		t.Fatal(initError)
	}
	files := map[string]string{"init": initPath}
	if withFwCfg {
		release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
		ko := filepath.Join("/lib/modules", release, "kernel/drivers/firmware/qemu_fw_cfg.ko")
		if _, err := os.Stat(ko); err == nil {
			files["qemu_fw_cfg.ko"] = ko
		}
	}
	var buf bytes.Buffer
	w := cpio.NewWriter(&buf)
	for _, dir := range []string{"dev", "sys"} {
		if err := w.WriteHeader(&cpio.Header{Name: dir, Mode: cpio.TypeDir | 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(files[n])
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteHeader(&cpio.Header{Name: n, Mode: cpio.TypeReg | 0o755, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "initrd.img")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// bootConfig is a TCG boot of the test init in mode, its console copied to the test log.
func bootConfig(t *testing.T, mode string, withFwCfg bool) (Config, *syncBuffer) {
	kernel := bootKernel(t)
	console := &syncBuffer{}
	return Config{
		Arch:    "amd64",
		Accel:   "tcg",
		Mem:     "256M",
		Kernel:  kernel,
		Initrd:  testInitramfs(t, kernel, withFwCfg),
		Cmdline: "quiet keeltest=" + mode,
		Stdout:  console,
		Timeout: 4 * time.Minute,
	}, console
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

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunReturnsNilWhenGuestPowersOff(t *testing.T) {
	cfg, console := bootConfig(t, "poweroff", true)
	disk := filepath.Join(t.TempDir(), "disk.img")
	cfg.Disks = []Disk{{Path: disk, Size: 64 << 20}}
	cfg.Data = []byte("hello from the host")
	cfg.DataVia = []string{"fwcfg"}
	start := time.Now()
	err := Run(context.Background(), cfg)
	t.Logf("boot took %v; console:\n%s", time.Since(start), console)
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if fi, err := os.Stat(disk); err != nil || fi.Size() != 64<<20 {
		t.Errorf("disk not created with 64M: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join("/lib/modules", strings.TrimPrefix(filepath.Base(cfg.Kernel), "vmlinuz-"))); err == nil {
		if !strings.Contains(console.String(), `keeltest: userdata "hello from the host"`) {
			t.Errorf("guest did not read the userdata through fw_cfg")
		}
	}
}

func TestRunReportsGuestRebootAsError(t *testing.T) {
	cfg, console := bootConfig(t, "reboot", false)
	// Also boots user-mode networking with a host forward, so QEMU accepts those arguments.
	cfg.NIC = "user"
	cfg.HostFwd = []string{fmt.Sprintf("%d:22", freePort(t))}
	err := Run(context.Background(), cfg)
	t.Logf("console:\n%s", console)
	if !errors.Is(err, ErrReboot) || !strings.Contains(err.Error(), "reboot") {
		t.Fatalf("Run = %v, want an ErrReboot mentioning reboot", err)
	}
}

func TestRunReportsKernelPanicAndStopsGuest(t *testing.T) {
	cfg, console := bootConfig(t, "panic", false)
	err := Run(context.Background(), cfg)
	t.Logf("console:\n%s", console)
	if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "Kernel panic") {
		t.Fatalf("Run = %v, want ErrPanic quoting the panic line", err)
	}
}

func TestRunReportsPowerOffWithoutKeelLine(t *testing.T) {
	cfg, console := bootConfig(t, "silent", false)
	err := Run(context.Background(), cfg)
	t.Logf("console:\n%s", console)
	if !errors.Is(err, ErrNoShutdown) {
		t.Fatalf("Run = %v, want ErrNoShutdown", err)
	}
}

func TestRunTimeoutStopsQEMU(t *testing.T) {
	cfg, _ := bootConfig(t, "hang", false)
	cfg.Timeout = 2 * time.Second
	start := time.Now()
	err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Run took %v after a 2s timeout", d)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestQEMUStopsWhenTheProcessThatRanItIsKilled kills (SIGKILL) a process in the middle of Run
// and checks that its QEMU goes too, instead of running on as an orphan.
func TestQEMUStopsWhenTheProcessThatRanItIsKilled(t *testing.T) {
	cfg, _ := bootConfig(t, "hang", false)
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperRunsAHangingGuest$")
	helper.Env = append(os.Environ(), "KEEL_QEMU_RUN_HELPER="+cfg.Kernel+"\n"+cfg.Initrd)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	running := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if strings.Contains(s.Text(), "init running, mode hang") {
				running <- true
			}
		}
		close(running)
	}()
	select {
	case ok := <-running:
		if !ok {
			t.Fatal("the helper ended before its guest ran")
		}
	case <-time.After(3 * time.Minute):
		helper.Process.Kill()
		t.Fatal("the guest never ran")
	}
	pids := qemuPidsWith(cfg.Initrd)
	if len(pids) != 1 {
		t.Fatalf("QEMU processes booting %s: %v, want one", cfg.Initrd, pids)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for len(qemuPidsWith(cfg.Initrd)) > 0 {
		if time.Now().After(deadline) {
			syscall.Kill(pids[0], syscall.SIGKILL)
			t.Fatalf("QEMU (pid %d) still runs 30 s after the process that ran it was killed", pids[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHelperRunsAHangingGuest is the process TestQEMUStopsWhenTheProcessThatRanItIsKilled
// kills; it does nothing in a normal test run.
func TestHelperRunsAHangingGuest(t *testing.T) {
	kernel, initrd, ok := strings.Cut(os.Getenv("KEEL_QEMU_RUN_HELPER"), "\n")
	if !ok {
		t.Skip("only run by TestQEMUStopsWhenTheProcessThatRanItIsKilled")
	}
	Run(context.Background(), Config{Arch: "amd64", Accel: "tcg", Mem: "256M", Kernel: kernel, Initrd: initrd,
		Cmdline: "quiet keeltest=hang", Stdout: os.Stdout, Timeout: 4 * time.Minute})
}

// qemuPidsWith lists the processes whose command line mentions path.
func qemuPidsWith(path string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil || !bytes.Contains(data, []byte(path)) || !bytes.HasPrefix(data, []byte("qemu-system")) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
