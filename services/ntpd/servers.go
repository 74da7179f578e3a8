package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
)

// The server lists ntpd reads besides its flags, in order of precedence.
const (
	metadataServers = "/run/config/ntp/servers" // from the machine's metadata
	dhcpServers     = "/run/dhcpcd/ntp-servers" // from DHCP option 42, written by keel/dhcpcd
)

// defaultServer is asked when no flag or file names a server.
const defaultServer = "pool.ntp.org"

// serverList is the servers to ask, in order: the -server flags, then each file in files
// (one server a line; blank lines and # comments skipped); each server once. A missing file
// adds nothing. defaultServer stands alone when the list would be empty. Bad lines are
// reported through warn, naming the file and line, and skipped.
func serverList(flags []string, files []string, readFile func(string) ([]byte, error), warn func(string)) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s, origin string) {
		if err := checkServer(s); err != nil {
			warn(fmt.Sprintf("%s: %v", origin, err))
			return
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range flags {
		add(s, "-server")
	}
	for _, f := range files {
		data, err := readFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			warn(err.Error())
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line, _, _ := strings.Cut(sc.Text(), "#")
			for _, s := range strings.Fields(line) {
				add(s, fmt.Sprintf("%s:%d", f, n))
			}
		}
	}
	if len(out) == 0 {
		out = []string{defaultServer}
	}
	return out
}

// checkServer accepts host, host:port, an IPv6 address, or [IPv6]:port.
func checkServer(s string) error {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		host = h
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("server %q: bad port %q", s, port)
		}
	} else if strings.Count(s, ":") == 1 || strings.HasPrefix(s, "[") {
		return fmt.Errorf("server %q: %v", s, err)
	}
	if host == "" || strings.ContainsAny(host, "/ \t\\") {
		return fmt.Errorf("server %q: not a host name or address", s)
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return fmt.Errorf("server %q: not an IPv6 address", s)
	}
	return nil
}
