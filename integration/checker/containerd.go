package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// containerdSuite, in a service with the host's pid namespace, SIGKILLs containerd and checks
// that PID 1 restarts it and goes on supervising the services: service is a long-running
// one, flaky one that keeps failing. It then powers off through keel-ctl.
func containerdSuite(service, flaky string) {
	if !waitFor(60*time.Second, func() bool { return serviceIs(service, "running") }) {
		check("service-up", false, "%s never ran", service)
	}
	out, _ := ctl("status")
	pid, starts := field(out, service, 2), field(out, service, 3)
	old := containerdPid()

	// The OOM killer must pick a service before containerd or a shim.
	spid, _ := strconv.Atoi(pid)
	shim := parentOf(spid)
	ctrdScore, shimScore, svcScore := oomScore(old), oomScore(shim), oomScore(spid)
	check("oom", ctrdScore == "-999" && shimScore == "-998" && svcScore == "0" && strings.HasPrefix(comm(shim), "containerd-shim"),
		"containerd=%s shim(%s)=%s %s=%s", ctrdScore, comm(shim), shimScore, service, svcScore)

	say("driver: killing containerd (pid %d)", old)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		check("kill-containerd", false, "pid %d: %v", old, err)
	}
	var now int
	back := waitFor(90*time.Second, func() bool {
		now = containerdPid()
		out, _ := ctl("status")
		return now != 0 && now != old && strings.Contains(out, fmt.Sprintf("containerd: running, pid %d, restarts 1", now))
	})
	out, _ = ctl("status")
	check("containerd-restarted", back, "pid %d, was %d\n%s", now, old, out)

	// The service ran on under its shim: same process, no start used up.
	same := waitFor(30*time.Second, func() bool {
		out, _ := ctl("status", service)
		return hasField(out, service, 1, "running") && field(out, service, 2) == pid && field(out, service, 3) == starts
	})
	out, _ = ctl("status", service)
	check("still-running", same, "pid %s starts %s\n%s", pid, starts, out)

	// PID 1 waits on it again: killed, it is restarted.
	_ = syscall.Kill(spid, syscall.SIGKILL)
	supervised := waitFor(60*time.Second, func() bool {
		out, _ := ctl("status", service)
		return hasField(out, service, 1, "running") && field(out, service, 2) != pid && hasField(out, service, 4, "137")
	})
	out, _ = ctl("status", service)
	if !check("still-supervised", supervised, "killed pid %s\n%s", pid, out) {
		logs, err := os.ReadFile("/var/log/containerd.log")
		say("containerd's log (%v):\n%s", err, logs)
	}

	// keel-ctl restart goes through the restarted containerd.
	before := field(out, service, 2)
	out, err := ctl("restart", service)
	check("ctl-restart", err == nil && hasField(out, service, 1, "running") && field(out, service, 2) != before, "%v\n%s", err, out)

	// The failing service goes on being restarted.
	out, _ = ctl("status", flaky)
	n, _ := strconv.Atoi(field(out, flaky, 3))
	looping := waitFor(60*time.Second, func() bool {
		out, _ := ctl("status", flaky)
		m, _ := strconv.Atoi(field(out, flaky, 3))
		return m >= n+3
	})
	out, _ = ctl("status", flaky)
	check("crash-loop", looping, "starts were %d\n%s", n, out)

	ctlPoweroff()
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(200 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func serviceIs(name, state string) bool {
	out, err := ctl("status", name)
	return err == nil && hasField(out, name, 1, state)
}

// containerdPid is the pid of the process named containerd, or 0.
func containerdPid() int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if comm(pidOf(d)) == "containerd" {
			return pidOf(d)
		}
	}
	return 0
}

func pidOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(dir))
	return n
}

func comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}

func oomScore(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(data))
}

// parentOf reads a process's parent pid from /proc/PID/stat (after the command's parentheses).
func parentOf(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}
