package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeelCtlAndLogs boots twice with /var/log and containerd's root on virtio disks. keel-ctl
// restarts, stops and starts a service; 5 MiB of a service's logs stay within the rotation
// limits; keel-ctl logs shows the newest lines; a kernel message lands in kmsg.log; boot 2
// reads boot 1's logs, down to what a service said as the poweroff stopped it, and starts its
// services over the containers boot 1 left. A service with its own namespaces and no
// CAP_SYS_BOOT that binds /run finds no socket there, may read through keel-ctl but is
// refused poweroff and stop, and finds /containers 0700.
func TestKeelCtlAndLogs(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	image := buildImage(t, "integration/testdata/ctl.yml", dir)
	disk, ctrd := filepath.Join(dir, "log.img"), filepath.Join(dir, "containerd.img")
	for _, d := range []string{disk, ctrd} {
		for _, c := range [][]string{{"truncate", "-s", "64M", d}, {"mkfs.ext4", "-q", "-F", d}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", c, err, out)
			}
		}
	}
	disks := []string{"--disk", "file=" + disk, "--disk", "file=" + ctrd}
	console, err := boot(t, image, disks...)
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	t.Run("ContainerdWaitsForTheOnbootContainerThatMountsItsDisks", func(t *testing.T) {
		mustContain(t, console, `keel: containerd starts after the onboot containers: onboot 000-varlog mounts /var/log`)
		inOrder(t, console, "keel: onboot 000-varlog done", "keel: containerd ready")
	})
	t.Run("RestartThreeTimesInARowWorks", func(t *testing.T) { mustContain(t, console, `CHECK restart-thrice ok`) })
	t.Run("StopThenStartWorks", func(t *testing.T) { mustContain(t, console, `CHECK stop-start ok`) })
	t.Run("AServiceStartedByKeelCtlIsStillSupervised", func(t *testing.T) {
		mustContain(t, console, `CHECK restarted-after-start ok`)
	})
	t.Run("LogsRotateWithinSizeTimesCount", func(t *testing.T) { mustContain(t, console, `CHECK rotation ok files=4`) })
	t.Run("KeelCtlLogsShowsTheNewestLines", func(t *testing.T) { mustContain(t, console, `CHECK logs-newest ok`) })
	t.Run("KernelMessagesReachKmsgLog", func(t *testing.T) { mustContain(t, console, `CHECK kmsg ok`) })
	// The intruder: its own namespaces, no CAP_SYS_BOOT, /run bound.
	t.Run("ABindOfRunShowsNoSocket", func(t *testing.T) { mustContain(t, console, `CHECK run-bind-hides-sockets ok`) })
	t.Run("KeelCtlReadsFromAnyContainer", func(t *testing.T) { mustContain(t, console, `CHECK ctl-read-open ok`) })
	t.Run("KeelCtlPoweroffIsRefusedWithoutHostNamespacesOrCapSysBoot", func(t *testing.T) {
		mustContain(t, console, `CHECK poweroff-refused ok`, `CHECK stop-refused ok`,
			`keel: keel-ctl: power off refused: the caller \(pid \d+\) is not in PID 1's pid and mount namespaces and has no CAP_SYS_BOOT`)
	})
	t.Run("ContainersIsOnlyForRoot", func(t *testing.T) { mustContain(t, console, `CHECK containers-private ok`) })
	t.Run("PoweroffThroughKeelCtl", func(t *testing.T) {
		mustContain(t, console, `driver: keel-ctl poweroff`, poweredOff)
	})
	t.Run("LogsOnAPersistentDiskSurviveTheNextBoot", func(t *testing.T) {
		mustContain(t, console, `CHECK boots 0`)
		console2, err := boot(t, image, disks...)
		if err != nil {
			t.Fatalf("second boot: %v", err)
		}
		mustContain(t, console2, `CHECK boots 1`)
		t.Run("AServicesLastWordsAtPoweroffReachItsLog", func(t *testing.T) {
			mustContain(t, console, `CHECK farewells 0`)
			mustContain(t, console2, `CHECK farewells 1`)
		})
		t.Run("ServicesStartOverTheContainersThePoweroffLeft", func(t *testing.T) {
			// The poweroff leaves its containers in containerd's root on the disk; this
			// boot removes them before it creates its own.
			mustContain(t, console2, `keel: service web started`, `keel: service farewell started`)
			if strings.Contains(console2, "remove stale container") || strings.Contains(console2, "create container") {
				t.Errorf("second boot could not replace the containers the first left")
			}
		})
	})
}
