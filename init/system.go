package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// setHostname sets the hostname from /etc/hostname, else keel-<MAC of the first NIC>.
func setHostname() {
	name := ""
	if data, err := os.ReadFile("/etc/hostname"); err == nil {
		name = strings.TrimSpace(string(data))
	}
	if name == "" {
		name = defaultHostname(firstMAC())
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		logf("sethostname %s: %v", name, err)
	}
}

// defaultHostname is keel-<mac without colons>, or keel without a NIC.
func defaultHostname(mac net.HardwareAddr) string {
	if len(mac) == 0 {
		return "keel"
	}
	return "keel-" + strings.ReplaceAll(mac.String(), ":", "")
}

// firstMAC returns the hardware address of the first non-loopback link by index.
func firstMAC() net.HardwareAddr {
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	var best netlink.Link
	for _, l := range links {
		a := l.Attrs()
		if len(a.HardwareAddr) == 0 || bytes.Equal(a.HardwareAddr, make([]byte, len(a.HardwareAddr))) {
			continue
		}
		if best == nil || a.Index < best.Attrs().Index {
			best = l
		}
	}
	if best == nil {
		return nil
	}
	return best.Attrs().HardwareAddr
}

// loopbackUp brings lo up; the kernel assigns 127.0.0.1 and ::1.
func loopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	return nil
}

// setRlimits raises the limits every process inherits from PID 1.
func setRlimits() {
	lim := &unix.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, lim); err != nil {
		logf("setrlimit nofile: %v", err)
	}
}
