package integration

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSupervision boots services that exit and checks what PID 1 does about it.
func TestSupervision(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "integration/testdata/supervise.yml", t.TempDir())
	console, err := boot(t, image)
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	t.Run("AFailingServiceRestartsWithTheBackoffScheduleUpToTheCap", func(t *testing.T) {
		// PID 1's schedule: 100ms doubling, capped at 800ms by the service's backoff.
		re := regexp.MustCompile(`keel: service flaky exited with status 1; start (\d+) in ([0-9.]+m?s)`)
		var delays []time.Duration
		for _, m := range re.FindAllStringSubmatch(console, -1) {
			d, err := time.ParseDuration(m[2])
			if err != nil {
				t.Fatal(err)
			}
			delays = append(delays, d)
		}
		want := []time.Duration{100, 200, 400, 800, 800}
		if len(delays) < len(want) {
			t.Fatalf("only %d restarts scheduled: %v", len(delays), delays)
		}
		for i, w := range want {
			if delays[i] != w*time.Millisecond {
				t.Errorf("restart %d after %v, want %v (all %v)", i+1, delays[i], w*time.Millisecond, delays)
			}
		}
		// The service's own start times (console: true shows its output) are at least the
		// scheduled delay apart, and not wildly more (starting a task under TCG takes a while).
		starts := regexp.MustCompile(`exiting with 1 at uptime ([0-9.]+)`).FindAllStringSubmatch(console, -1)
		var up []float64
		for _, m := range starts {
			v, _ := strconv.ParseFloat(m[1], 64)
			up = append(up, v)
		}
		if len(up) < len(want)+1 {
			t.Fatalf("flaky printed %d starts on the console, want at least %d", len(up), len(want)+1)
		}
		for i := 1; i <= len(want); i++ {
			gap := up[i] - up[i-1]
			if min := want[i-1].Seconds() / 1000; gap < min || gap > min+15 {
				t.Errorf("start %d came %.2fs after the previous one, want between %.1fs and %.1fs", i+1, gap, min, min+15)
			}
		}
	})
	t.Run("RestartNeverStaysDown", func(t *testing.T) {
		mustContain(t, console, `keel: service once exited with status 1; not restarting \(restart: never\)`)
		if strings.Contains(console, "service once restarted") {
			t.Error("once was restarted")
		}
	})
	t.Run("OnFailureStaysDownAfterExit0", func(t *testing.T) {
		mustContain(t, console, `keel: service clean exited with status 0; not restarting \(restart: on-failure\)`)
	})
	t.Run("AfterStartsAServiceOnceThoseItFollowsRun", func(t *testing.T) {
		inOrder(t, console, "keel: service first started", "keel: service second started")
	})
	t.Run("AHungOnbootContainerIsKilledAtItsTimeout", func(t *testing.T) {
		mustContain(t, console, `keel: onboot 000-hang timed out after 2s and was killed`)
	})
	t.Run("PoweroffStillEndsTheMachine", func(t *testing.T) {
		mustContain(t, console, poweredOff)
	})
}

// TestEssentialOnbootFailureStopsBootInAnEmergencyState boots an image whose essential
// onboot container fails.
func TestEssentialOnbootFailureStopsBootInAnEmergencyState(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "integration/testdata/emergency.yml", t.TempDir())
	console, err := boot(t, image)
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	inOrder(t, console, "keel: onboot 000-broken exited with status 3",
		"EMERGENCY: essential onboot container 000-broken failed",
		"keel: service rescue started", "poweroff in 2s", powerOffLine)
	for _, bad := range []string{"this onboot must not run", "service normal started"} {
		if strings.Contains(console, bad) {
			t.Errorf("console shows %q in the emergency state", bad)
		}
	}
}
