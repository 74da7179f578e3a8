package main

import (
	"context"
	"time"

	"github.com/vishvananda/netlink"
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

// waitForDefaultRoute waits for a default route, so a service that needs the network does
// not race the DHCP client; after timeout the service starts anyway.
func waitForDefaultRoute(ctx context.Context, timeout time.Duration, name string) {
	deadline := time.Now().Add(timeout)
	for !hasDefaultRoute() {
		if time.Now().After(deadline) {
			logf("service %s: no default route after %s; starting anyway", name, timeout)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
