package integration

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestKeelCtlAndLogs boots twice with /var/log on a virtio disk. keel-ctl restarts, stops and
// starts a service; 5 MiB of a service's logs stay within the rotation limits; keel-ctl logs
// shows the newest lines; a kernel message lands in kmsg.log; boot 2 reads boot 1's logs.
func TestKeelCtlAndLogs(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	image := buildImage(t, "integration/testdata/ctl.yml", dir)
	disk := filepath.Join(dir, "log.img")
	for _, c := range [][]string{{"truncate", "-s", "64M", disk}, {"mkfs.ext4", "-q", "-F", disk}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	console, err := boot(t, image, "--disk", "file="+disk)
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	t.Run("RestartThreeTimesInARowWorks", func(t *testing.T) { mustContain(t, console, `CHECK restart-thrice ok`) })
	t.Run("StopThenStartWorks", func(t *testing.T) { mustContain(t, console, `CHECK stop-start ok`) })
	t.Run("AServiceStartedByKeelCtlIsStillSupervised", func(t *testing.T) {
		mustContain(t, console, `CHECK restarted-after-start ok`)
	})
	t.Run("LogsRotateWithinSizeTimesCount", func(t *testing.T) { mustContain(t, console, `CHECK rotation ok files=4`) })
	t.Run("KeelCtlLogsShowsTheNewestLines", func(t *testing.T) { mustContain(t, console, `CHECK logs-newest ok`) })
	t.Run("KernelMessagesReachKmsgLog", func(t *testing.T) { mustContain(t, console, `CHECK kmsg ok`) })
	t.Run("PoweroffThroughKeelCtl", func(t *testing.T) {
		mustContain(t, console, `driver: keel-ctl poweroff`, `(?m)^keel: power off\r?$`)
	})
	t.Run("LogsOnAPersistentDiskSurviveTheNextBoot", func(t *testing.T) {
		mustContain(t, console, `CHECK boots 0`)
		console2, err := boot(t, image, "--disk", "file="+disk)
		if err != nil {
			t.Fatalf("second boot: %v", err)
		}
		mustContain(t, console2, `CHECK boots 1`)
	})
}
