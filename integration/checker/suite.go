package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// suite runs, in a service with the host's pid namespace, the checks that need a booted
// system, then powers the machine off with the poweroff command. args are the services
// that must show up as containerd tasks.
func suite(services []string) {
	cmdline, err := os.ReadFile("/proc/1/cmdline")
	arg0, _, _ := strings.Cut(string(cmdline), "\x00")
	check("pid1", err == nil && arg0 == "/init", "cmdline=%q", strings.ReplaceAll(string(cmdline), "\x00", " "))

	// Every onboot container left its output in /var/log/onboot.
	logs, _ := filepath.Glob("/var/log/onboot/*.log")
	var names []string
	for _, l := range logs {
		if st, err := os.Stat(l); err == nil && st.Size() > 0 {
			names = append(names, filepath.Base(l))
		}
	}
	check("onboot-logs", len(names) > 0, "%s", strings.Join(names, " "))

	// The onboot container with runtime.json interfaces left its veth peer in the root
	// namespace and its network namespace bound to a file.
	_, err = os.Stat("/sys/class/net/keelpeer0")
	mi, _ := os.ReadFile("/proc/1/mountinfo")
	check("runtime-json", err == nil && strings.Contains(string(mi), " /run/netns/onboot "), "peer: %v", err)

	// A service without rlimits of its own has the open-file limit PID 1 sets before it
	// starts containerd, whose shim and runc hand it on.
	var lim syscall.Rlimit
	err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	check("nofile", err == nil && lim.Cur == 1<<20 && lim.Max == 1<<20, "soft=%d hard=%d", lim.Cur, lim.Max)

	// The image has no /sbin/modprobe: PID 1 links its own binary there after its mounts
	// (bpffs among them, whose request for a bpf_preload module then fails at once), and
	// the kernel's modprobe path stays /sbin/modprobe. The host's /sbin and /init are
	// bound below /host; the link is a symlink (a hard link would copy the binary up on an
	// overlay root) to the binary that ctr, bound from the host, is too.
	mp, err := os.ReadFile("/proc/sys/kernel/modprobe")
	linked := false
	if target, err := os.Readlink("/host/sbin/modprobe"); err == nil && filepath.IsAbs(target) {
		a, errA := os.Stat(filepath.Join("/host", target))
		b, errB := os.Stat("/usr/bin/ctr")
		linked = errA == nil && errB == nil && os.SameFile(a, b)
	}
	check("modprobe", err == nil && strings.TrimSpace(string(mp)) == "/sbin/modprobe" && linked && strings.Contains(string(mi), " /sys/fs/bpf rw,") &&
		strings.Contains(string(mi), " - bpf "), "path=%q linked=%v", strings.TrimSpace(string(mp)), linked)

	// Every listed service is a running containerd task.
	deadline := time.Now().Add(60 * time.Second)
	var out []byte
	for {
		out, err = exec.Command("/usr/bin/ctr", "-n", "services.linuxkit", "tasks", "ls").CombinedOutput()
		if err == nil && allRunning(string(out), services) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	check("tasks", err == nil && allRunning(string(out), services), "\n%s", out)

	// Each task runs in the cgroup named after its service. This container has its own
	// cgroup namespace, so other cgroups read as "/../NAME".
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] == "TASK" {
			continue
		}
		cg, err := os.ReadFile("/proc/" + f[1] + "/cgroup")
		path := strings.TrimSpace(strings.TrimPrefix(string(cg), "0::"))
		check("cgroup", err == nil && (strings.HasSuffix(path, "/"+f[0]) || f[0] == "suite" && path == "/"), "%s %s", f[0], path)
	}

	// The orphans left by the orphans service are reaped: no zombie anywhere.
	z := -1
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if z = zombies(); z == 0 && orphansDone() {
			break
		}
	}
	check("zombies", z == 0 && orphansDone(), "zombies=%d", z)

	// PID 1 survives the signals Go's runtime would exit on, logging each; the poweroff
	// that follows shows it still works.
	var failed []string
	for _, sig := range survivableSignals {
		if err := syscall.Kill(1, sig); err != nil {
			failed = append(failed, fmt.Sprintf("%v: %v", sig, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
	check("signals", len(failed) == 0, "sent=%d %s", len(survivableSignals), strings.Join(failed, "; "))

	say("suite: calling poweroff")
	poweroff()
}

// survivableSignals are the signals sent to PID 1, which must log and ignore each.
var survivableSignals = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE,
	syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS, syscall.SIGSTKFLT, syscall.SIGPIPE,
}

// poweroff runs the poweroff command (bound from the host) and waits to be stopped.
func poweroff() {
	cmd := exec.Command("/sbin/poweroff")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Printf("poweroff: %v; signalling PID 1\n", err)
		_ = syscall.Kill(1, syscall.SIGUSR2)
	}
	sleepForever()
}

// allRunning reports whether ctr's task list shows each service RUNNING.
func allRunning(list string, services []string) bool {
	for _, s := range services {
		found := false
		for _, line := range strings.Split(list, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == s && f[2] == "RUNNING" {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// orphansDone reports whether the orphans service has left its mark and its sleepers are gone.
func orphansDone() bool {
	data, err := os.ReadFile("/var/log/orphans.out.log")
	if err != nil || !strings.Contains(string(data), "left 1000 children behind") {
		return false
	}
	return countProcs("busybox sleep") == 0
}

// zombies counts zombie processes in the whole system.
func zombies() int {
	n := 0
	forEachProc(func(stat string, _ string) {
		if i := strings.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			n++
		}
	})
	return n
}

func countProcs(prefix string) int {
	n := 0
	forEachProc(func(_ string, cmdline string) {
		if strings.HasPrefix(cmdline, prefix) {
			n++
		}
	})
	return n
}

func forEachProc(fn func(stat, cmdline string)) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		c := strings.ReplaceAll(string(cmd), "\x00", " ")
		if i := strings.LastIndexByte(c, '/'); i >= 0 && strings.HasPrefix(c, "/") {
			c = c[i+1:]
		}
		fn(string(stat), c)
	}
}
