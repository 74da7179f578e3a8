package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// chatty writes size bytes of numbered log lines to stderr, then says it is done and sleeps.
func chatty(size int) {
	line := strings.Repeat("x", 100)
	written := 0
	for i := 0; written < size; i++ {
		n, _ := fmt.Fprintf(os.Stderr, "chatty %07d %s\n", i, line)
		written += n
	}
	fmt.Fprintln(os.Stderr, "chatty: done")
	sleepForever()
}

// ctl runs keel-ctl and returns its output.
func ctl(args ...string) (string, error) {
	out, err := exec.Command("/usr/bin/keel-ctl", args...).CombinedOutput()
	return string(out), err
}

// ctlPoweroff shows keel-ctl ps, then powers off through keel-ctl (else /sbin/poweroff).
func ctlPoweroff() {
	out, _ := ctl("ps")
	say("%s", out)
	say("driver: keel-ctl poweroff")
	if _, err := ctl("poweroff"); err != nil {
		poweroff()
	}
	sleepForever()
}

// ctlSuite drives PID 1 through keel-ctl, checks the log files, then powers off.
// maxSize and maxFiles are the rotation settings the image was booted with.
func ctlSuite(maxSize int64, maxFiles int) {
	// Logs kept on the disk from a previous boot (read before this boot's line is logged).
	prev, _ := os.ReadFile("/var/log/driver.out.log")
	fmt.Println("driver started")
	say("CHECK boots %d", strings.Count(string(prev), "driver started"))
	// What the farewell service said when the previous boot's poweroff stopped it.
	last, _ := os.ReadFile("/var/log/farewell.out.log")
	say("CHECK farewells %d", strings.Count(string(last), farewellWords))

	ok := true
	for i := 1; i <= 3; i++ {
		out, err := ctl("restart", "web")
		ok = ok && err == nil && strings.Contains(out, "running")
		say("restart %d: %v\n%s", i, err, out)
	}
	out, _ := ctl("status", "web")
	check("restart-thrice", ok && strings.Contains(out, "running") && hasField(out, "web", 3, "4"), "\n%s", out)

	out1, err1 := ctl("stop", "web")
	out2, err2 := ctl("start", "web")
	check("stop-start", err1 == nil && strings.Contains(out1, "stopped") && err2 == nil && strings.Contains(out2, "running"), "\n%s%s", out1, out2)

	// Supervision goes on after keel-ctl start: a killed task comes back.
	pid := field(out2, "web", 2)
	if n, err := strconv.Atoi(pid); err == nil {
		_ = syscall.Kill(n, syscall.SIGKILL)
	}
	back := false
	for deadline := time.Now().Add(60 * time.Second); !back && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		out, _ := ctl("status", "web")
		back = hasField(out, "web", 1, "running") && field(out, "web", 2) != pid && hasField(out, "web", 4, "137")
	}
	out, _ = ctl("status", "web")
	check("restarted-after-start", back, "killed pid %s\n%s", pid, out)

	// chatty's 5 MiB end up in rotated files within size × count.
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		if out, _ := ctl("logs", "-n", "1", "chatty"); strings.Contains(out, "chatty: done") {
			break
		}
		time.Sleep(time.Second)
	}
	files, _ := filepath.Glob("/var/log/chatty.log*")
	var total int64
	sizesOK := true
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
			sizesOK = sizesOK && st.Size() <= maxSize+200
		}
	}
	check("rotation", len(files) == maxFiles && sizesOK && total <= int64(maxFiles)*(maxSize+200), "files=%d total=%d", len(files), total)
	out, err := ctl("logs", "-n", "3", "chatty")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	check("logs-newest", err == nil && len(lines) == 3 && strings.HasSuffix(lines[2], "chatty: done"), "\n%s", out)

	// A kernel message reaches /var/log/kmsg.log.
	marker := fmt.Sprintf("keel-kmsg-marker-%d", time.Now().UnixNano())
	if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		f.WriteString(marker + "\n")
		f.Close()
	}
	found := false
	for deadline := time.Now().Add(20 * time.Second); !found && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		data, _ := os.ReadFile("/var/log/kmsg.log")
		found = strings.Contains(string(data), marker)
	}
	check("kmsg", found, "%s", marker)

	ctlPoweroff()
}

// field returns column col of the status table's row for name.
func field(table, name string, col int) string {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) > col && f[0] == name {
			return f[col]
		}
	}
	return ""
}

// hasField reports whether the status table's row for name has value in column col.
func hasField(table, name string, col int, value string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) > col && f[0] == name && f[col] == value {
			return true
		}
	}
	return false
}

// farewellWords is what the farewell service prints when SIGTERM stops it.
const farewellWords = "farewell: stopped by SIGTERM"

// farewell waits for SIGTERM, says so on its output and exits 0: the last words a service
// has when the machine goes down.
func farewell() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	fmt.Println("farewell: waiting")
	<-ch
	fmt.Println(farewellWords)
	os.Exit(0)
}
