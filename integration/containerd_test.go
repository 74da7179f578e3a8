package integration

import (
	"regexp"
	"strings"
	"testing"
)

// TestContainerdRestart boots services, SIGKILLs containerd from a service in the host's pid
// namespace and checks that PID 1 restarts containerd and goes on supervising the services
// that ran on under their shims.
func TestContainerdRestart(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "integration/testdata/containerd.yml", t.TempDir())
	console, err := boot(t, image)
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	t.Run("ContainerdAndItsShimsHaveALowOOMScoreAndServicesTheDefault", func(t *testing.T) {
		mustContain(t, console, `CHECK oom ok containerd=-999 shim\(containerd-shim\S*\)=-998 sleeper=0`)
	})
	t.Run("PID1RestartsAKilledContainerdAfterABackoff", func(t *testing.T) {
		inOrder(t, console, "driver: killing containerd",
			"keel: containerd exited (signal: killed); restart 1 in 1s",
			"keel: containerd restarted (pid ")
		mustContain(t, console, `keel: containerd restarted \(pid \d+\); re-attached [1-9]\d* services`, `CHECK containerd-restarted ok`)
	})
	t.Run("ARunningServiceIsReattachedNotRestarted", func(t *testing.T) {
		mustContain(t, console, `keel: service sleeper re-attached \(pid \d+\)`, `CHECK still-running ok`)
		// Before the poweroff: services exit then, the driver included.
		before, _, _ := strings.Cut(console, "keel: power off requested")
		for _, bad := range []string{"service sleeper exited with status 255", "service driver exited"} {
			if strings.Contains(before, bad) {
				t.Errorf("console shows %q: a lost wait counted as an exit", bad)
			}
		}
	})
	t.Run("ServicesAreStillSupervisedAfterwards", func(t *testing.T) {
		mustContain(t, console, `CHECK still-supervised ok`, `CHECK ctl-restart ok`)
	})
	t.Run("ACrashLoopingServiceGoesOnRestarting", func(t *testing.T) {
		mustContain(t, console, `CHECK crash-loop ok`)
		restarted := strings.Index(console, "keel: containerd restarted")
		if restarted < 0 {
			t.Fatal("containerd was not restarted")
		}
		after := regexp.MustCompile(`keel: service flaky restarted \(pid \d+, start \d+\)`).FindAllString(console[restarted:], -1)
		if len(after) < 3 {
			t.Errorf("flaky was restarted %d times after containerd's restart, want at least 3", len(after))
		}
	})
	t.Run("PoweroffEndsTheMachineCleanly", func(t *testing.T) {
		inOrder(t, console, "driver: keel-ctl poweroff", "keel: power off requested")
		mustContain(t, console, `(?m)^keel: power off\r?$`)
		for _, bad := range []string{"panic", "shutdown is taking too long", "did not stop in time"} {
			if strings.Contains(console, bad) {
				t.Errorf("console shows %q", bad)
			}
		}
	})
}
