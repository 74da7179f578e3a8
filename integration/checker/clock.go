package main

import (
	"bufio"
	"net"
	"strings"
	"time"
)

// clock compares the guest's clock with the host's: the test serves the host's time (RFC
// 3339, one line) on a TCP port the guest reaches through QEMU's user network. It reports
// both times and the difference, which must be under maxSkew.
func clock(addr string, maxSkew time.Duration) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		check("clock", false, "dial %s: %v", addr, err)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	line, err := bufio.NewReader(conn).ReadString('\n')
	guest := start.Add(time.Since(start) / 2) // the middle of the exchange
	if err != nil {
		check("clock", false, "read %s: %v", addr, err)
		return
	}
	host, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(line))
	if err != nil {
		check("clock", false, "host time %q: %v", line, err)
		return
	}
	skew := guest.Sub(host)
	check("clock", skew.Abs() < maxSkew, "guest %s host %s skew %s (limit %s)",
		guest.UTC().Format(time.RFC3339), host.UTC().Format(time.RFC3339), skew.Round(time.Millisecond), maxSkew)
}
