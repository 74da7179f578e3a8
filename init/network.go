package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/keel-os/keel/bundle"
)

// hasDefaultRoute reports whether the main routing table has an IPv4 or IPv6 default route.
func hasDefaultRoute() bool {
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteList(nil, family)
		if err != nil {
			continue
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				if ones, _ := maskOnes(r); ones == 0 {
					return true
				}
			}
		}
	}
	return false
}

func maskOnes(r netlink.Route) (int, int) {
	if r.Dst == nil {
		return 0, 0
	}
	return r.Dst.Mask.Size()
}

// hasNameserver reports whether the resolv.conf called name has a nameserver line.
func hasNameserver(name string) bool {
	data, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "nameserver" {
			return true
		}
	}
	return false
}

// networkMissing says what the network still lacks for wait: network, or "" when it is
// ready: a default route and a name server.
func networkMissing() string {
	switch {
	case !hasDefaultRoute():
		return "no default route"
	case !hasNameserver(bundle.ResolvConf):
		return "no nameserver in " + bundle.ResolvConf
	}
	return ""
}

// waitForNetwork waits until missing reports nothing, so a service that needs the network
// does not race the DHCP client; after timeout the service starts anyway.
func waitForNetwork(ctx context.Context, timeout time.Duration, name string, missing func() string) {
	deadline := time.Now().Add(timeout)
	for {
		what := missing()
		if what == "" {
			return
		}
		if time.Now().After(deadline) {
			logf("service %s: %s after %s; starting anyway", name, what, timeout)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// makeResolvConf creates the resolv.conf called name, empty, unless it exists: every
// container that shares the host's network binds it, from the first onboot container on,
// before the DHCP client has written it.
func makeResolvConf(name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(name), err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return f.Close()
}
