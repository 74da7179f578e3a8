package main

import (
	"os"
	"strings"
)

// mounted reports, as check name, whether path is a mount point of filesystem type fstype in
// the container's mount namespace.
func mounted(name, path, fstype string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		check(name, false, "%v", err)
		return
	}
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 || f[4] != path {
			continue
		}
		found = append(found, g[0])
	}
	// The last mount at a path is the one seen there.
	ok := len(found) > 0 && found[len(found)-1] == fstype
	check(name, ok, "path=%s types=%s", path, strings.Join(found, ","))
}
