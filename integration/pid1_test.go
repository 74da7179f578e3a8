package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/guest"
)

// TestPID1 boots the PID 1 image twice with the same virtio disk. The first boot checks
// onboot ordering and failure, services as containerd tasks, orphan reaping, signals PID 1
// must survive and a forced stop at the grace period; the second checks that what the first
// wrote survived poweroff.
func TestPID1(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	image := buildImage(t, "integration/testdata/pid1.yml", dir)
	disk := filepath.Join(dir, "disk.img")
	if out, err := exec.Command("truncate", "-s", "64M", disk).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", disk).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}

	console, err := boot(t, image, "--disk", "file="+disk)
	t.Run("PoweroffEndsQEMUWithStatus0", func(t *testing.T) {
		if err != nil {
			t.Fatalf("keel run qemu: %v", err)
		}
		mustContain(t, console, poweredOff)
	})
	t.Run("PID1IsKeelInit", func(t *testing.T) {
		mustContain(t, console, `CHECK pid1 ok cmdline="/init`)
	})
	t.Run("OnbootContainersRunInOrderAndAFailureDoesNotStopBoot", func(t *testing.T) {
		inOrder(t, console,
			"onboot first ran", "keel: onboot 000-first done",
			"exiting with 1", "keel: onboot 001-fails exited with status 1",
			"onboot second ran", "keel: onboot 002-second done")
		// No onboot container here touches containerd's paths (the disk is mounted beside
		// its root), so containerd starts while they run, and its readiness can come
		// between them.
		inOrder(t, console, "keel: containerd ready", guest.Line(guest.BootComplete))
		if strings.Contains(console, "containerd starts after the onboot containers") {
			t.Errorf("containerd waited for onboot containers that do not touch its paths")
		}
		mustContain(t, console, `CHECK onboot-logs ok .*000-first\.log.*001-fails\.log.*002-second\.log`)
	})
	t.Run("RuntimeJSONCreatesInterfacesAndBindsNamespaces", func(t *testing.T) {
		// runc create, then a veth end moved into the container and its netns bound,
		// then runc start: the container sees the interface, the host keeps the peer.
		mustContain(t, console, `ifaces: keel0 lo`, `keel: onboot 003-netns done`, `CHECK runtime-json ok`)
	})
	t.Run("ServicesGetTheOpenFileLimitPID1Sets", func(t *testing.T) {
		mustContain(t, console, `CHECK nofile ok soft=1048576 hard=1048576`)
	})
	t.Run("PID1LinksItselfAsTheKernelsModprobeAndMountsBPFFilesystemWithoutIt", func(t *testing.T) {
		mustContain(t, console, `CHECK modprobe ok path="/sbin/modprobe" linked=true`)
	})
	t.Run("ServicesRunAsContainerdTasksInTheirCgroups", func(t *testing.T) {
		mustContain(t, console, `CHECK tasks ok`, `suite +\d+ +RUNNING`, `stubborn +\d+ +RUNNING`, `CHECK cgroup ok stubborn /../stubborn`)
	})
	t.Run("OrphansOfAServiceLeaveNoZombie", func(t *testing.T) {
		// The suite passes only once /var/log/orphans.out.log says the 1000 were left
		// behind and none of them is alive.
		mustContain(t, console, `CHECK zombies ok zombies=0`)
	})
	t.Run("PID1LogsAndSurvivesSignalsAnInitMustIgnore", func(t *testing.T) {
		// The suite sends them from the host's pid namespace, then powers off.
		for _, sig := range []string{"SIGHUP", "SIGQUIT", "SIGABRT", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGSTKFLT", "SIGPIPE"} {
			mustContain(t, console, `keel: signal `+sig+` ignored`)
		}
		inOrder(t, console, "CHECK signals ok", "keel: power off requested", "keel: power off")
	})
	t.Run("OnshutdownContainersRunBeforeServicesStop", func(t *testing.T) {
		inOrder(t, console, "keel: power off requested", "onshutdown farewell ran",
			"keel: onshutdown 000-farewell done", "keel: service stubborn did not stop", powerOffLine)
	})
	t.Run("ServiceIgnoringSIGTERMIsKilledAfterTheGracePeriod", func(t *testing.T) {
		inOrder(t, console, "keel: service stubborn started", "keel: power off requested",
			"keel: service stubborn did not stop within 3s: killing it", powerOffLine)
	})
	t.Run("DataWrittenBeforePoweroffSurvivesTheNextBoot", func(t *testing.T) {
		mustContain(t, console, `disk: wrote marker boot-1`)
		console2, err := boot(t, image, "--disk", "file="+disk)
		if err != nil {
			t.Fatalf("second boot: %v", err)
		}
		mustContain(t, console2, `disk: found marker "boot-1"`, `disk: wrote marker boot-2`)
	})
	if t.Failed() && !strings.Contains(console, "keel:") {
		t.Logf("the guest printed nothing from PID 1")
	}
}
