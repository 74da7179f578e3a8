// Command sysctl applies kernel parameters at boot, as LinuxKit's sysctl package does: Keel's
// defaults for a container host first, then every /etc/sysctl.d/*.conf in name order, whose
// settings win.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// defaults suit a machine that runs containers.
const defaults = `
net.ipv4.ip_forward = 1
net.ipv6.conf.all.forwarding = 1
fs.inotify.max_user_watches = 524288
fs.inotify.max_user_instances = 8192
kernel.keys.root_maxkeys = 1000000
kernel.keys.root_maxbytes = 25000000
net.core.somaxconn = 4096
vm.max_map_count = 262144
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
`

// setting is one key = value line.
type setting struct{ key, value, origin string }

// parse reads sysctl.conf syntax: "key = value", '#' and ';' comments, a leading '-' meaning
// that a failure to set the key is ignored (the key is kept without it).
func parse(r io.Reader, origin string) ([]setting, error) {
	var out []setting
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected key = value, got %q", origin, n, line)
		}
		out = append(out, setting{strings.TrimSpace(k), strings.TrimSpace(v), fmt.Sprintf("%s:%d", origin, n)})
	}
	return out, s.Err()
}

// procPath maps a key (dots or slashes) to its file under /proc/sys.
func procPath(key string) string {
	key = strings.TrimPrefix(key, "-")
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join("/proc/sys", key)
}

func main() {
	settings, _ := parse(strings.NewReader(defaults), "defaults")
	files, _ := filepath.Glob("/etc/sysctl.d/*.conf")
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sysctl: %v\n", err)
			continue
		}
		s, err := parse(fh, f)
		fh.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "sysctl: %v\n", err)
			continue
		}
		settings = append(settings, s...)
	}
	failed := 0
	for _, s := range settings {
		if err := os.WriteFile(procPath(s.key), []byte(s.value), 0); err != nil {
			// A "-key" and Keel's own defaults (a kernel may lack some) may fail.
			if !strings.HasPrefix(s.key, "-") && !strings.HasPrefix(s.origin, "defaults") {
				failed++
			}
			fmt.Fprintf(os.Stderr, "sysctl: %s: set %s: %v\n", s.origin, s.key, err)
		}
	}
	fmt.Printf("sysctl: applied %d settings\n", len(settings)-failed)
	if failed > 0 {
		os.Exit(1)
	}
}
