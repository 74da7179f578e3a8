package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// parseStat parses pid, state and ppid from the text of /proc/PID/stat. The command name in
// parentheses may contain spaces and parentheses, so the fields after it are found from the
// last ')'.
func parseStat(s string) (pid int, state byte, ppid int, err error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, 0, 0, fmt.Errorf("malformed stat %q", s)
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(s[:open])); err != nil {
		return 0, 0, 0, fmt.Errorf("malformed stat pid: %w", err)
	}
	rest := strings.Fields(s[end+1:])
	if len(rest) < 2 || len(rest[0]) != 1 {
		return 0, 0, 0, fmt.Errorf("malformed stat %q", s)
	}
	if ppid, err = strconv.Atoi(rest[1]); err != nil {
		return 0, 0, 0, fmt.Errorf("malformed stat ppid: %w", err)
	}
	return pid, rest[0][0], ppid, nil
}

// userProcesses returns the pids of every process except PID 1 and kernel threads.
func userProcesses() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		// Kernel threads are kthreadd (pid 2) and its children.
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if _, _, pp, err := parseStat(string(data)); err != nil || pid == 2 || pp == 2 {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}
