package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// otherQEMUs returns the pids of the QEMU processes running on the host that are not this
// process's children: boots that compete with the benchmark's for the CPU.
func otherQEMUs() []int {
	self := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, comm, ppid, ok := parseStat(string(data))
		if ok && strings.HasPrefix(comm, "qemu-system") && ppid != self {
			out = append(out, pid)
		}
	}
	return out
}

// parseStat reads the pid, command name and parent pid of a /proc/PID/stat line:
// "PID (COMM) STATE PPID ...", where COMM may hold spaces and parentheses.
func parseStat(s string) (pid int, comm string, ppid int, ok bool) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return 0, "", 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return 0, "", 0, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 2 {
		return 0, "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, "", 0, false
	}
	return pid, s[open+1 : closing], ppid, true
}

// contentionWatch samples, until stopped, which other QEMU processes run.
type contentionWatch struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	pids []int
}

// watchContention starts sampling every interval.
func watchContention(interval time.Duration) *contentionWatch {
	w := &contentionWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				w.sample()
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *contentionWatch) sample() {
	pids := otherQEMUs()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range pids {
		if !slices.Contains(w.pids, p) {
			w.pids = append(w.pids, p)
		}
	}
}

// Stop ends the sampling and returns the pids of the other QEMUs seen.
func (w *contentionWatch) Stop() []int {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.pids)
}
