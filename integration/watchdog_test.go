package integration

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHardwareWatchdog boots with qemu's i6300esb and keel.watchdog=4: a healthy machine
// runs past three timeouts and powers off cleanly (PID 1 disarms the device first), and one
// whose PID 1 stops petting (keel-ctl watchdog test) is reset by the hardware.
func TestHardwareWatchdog(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	wd := []string{"--qemu-arg", "-device", "--qemu-arg", "i6300esb"}
	t.Run("AHealthyMachineRunsPastSeveralTimeoutsAndPowersOffWithoutAReset", func(t *testing.T) {
		image := buildImage(t, "integration/testdata/watchdog-healthy.yml", dir)
		console, err := boot(t, image, wd...)
		if err != nil {
			t.Fatalf("keel run qemu: %v", err)
		}
		mustContain(t, console, `keel: watchdog /dev/watchdog \(i6300ESB timer\): timeout 4s, petted every 1s`,
			`CHECK watchdog-armed ok`, `CHECK watchdog-petting ok`, `CHECK watchdog-in-status ok`)
		inOrder(t, console, "keel: power off requested", "keel: watchdog /dev/watchdog disarmed", "keel: power off")
		if strings.Contains(console, "no longer petting") {
			t.Error("PID 1 stopped petting a healthy machine's watchdog")
		}
	})
	t.Run("AMachineWhosePID1StopsPettingIsReset", func(t *testing.T) {
		image := buildImage(t, "integration/testdata/watchdog-reset.yml", dir)
		start := time.Now()
		console, err := boot(t, image, wd...)
		if err == nil {
			t.Fatal("keel run qemu reported a clean power off: the watchdog did not reset the machine")
		}
		mustContain(t, console, `CHECK watchdog-test ok`, `keel: watchdog: keel-ctl watchdog test: no longer petting /dev/watchdog`)
		if regexp.MustCompile(poweredOff).MatchString(console) {
			t.Error("the machine powered off instead of being reset")
		}
		// qemu's -no-reboot turns the watchdog's reset into qemu's exit, long before --timeout.
		if d := time.Since(start); d > 4*time.Minute {
			t.Errorf("qemu ran %s: the reset did not end it", d)
		}
	})
}
