package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// isEthernet reports whether a link of type typ (netlink's: "device" for a NIC's driver)
// is a physical ethernet device: the links dhcpcd configures when none are named.
// Loopback and the virtual links containers create (veth, bridges, vlans, tunnels) have
// other types.
func isEthernet(typ string, a *netlink.LinkAttrs) bool {
	return typ == "device" && a.EncapType == "ether" && a.Flags&net.FlagLoopback == 0
}

// findLink finds the link a network-config entry names (by match, else by its key).
func findLink(ifc iface, links []netlink.Link) (netlink.Link, error) {
	for _, l := range links {
		a := l.Attrs()
		switch {
		case ifc.MatchMAC != nil || ifc.MatchName != "":
			if ifc.MatchMAC != nil && !bytes.Equal(a.HardwareAddr, ifc.MatchMAC) {
				continue
			}
			if ifc.MatchName != "" {
				if ok, _ := path.Match(ifc.MatchName, a.Name); !ok {
					continue
				}
			}
			if ifc.MatchMAC != nil && !isEthernet(l.Type(), a) {
				continue // a vlan or bridge shares its parent's address
			}
			return l, nil
		case a.Name == ifc.Name:
			return l, nil
		}
	}
	return nil, fmt.Errorf("%s: no such link", ifc.Name)
}

// ensureVlan creates the vlan link ifc describes on its parent unless it exists.
func ensureVlan(ifc iface, links []netlink.Link) (netlink.Link, error) {
	if l, err := netlink.LinkByName(ifc.Name); err == nil {
		return l, nil
	}
	parent, err := findLink(iface{Name: ifc.Link}, links)
	if err != nil {
		return nil, fmt.Errorf("vlan %s: link %w", ifc.Name, err)
	}
	v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: ifc.Name, ParentIndex: parent.Attrs().Index}, VlanId: ifc.VlanID}
	if err := netlink.LinkAdd(v); err != nil {
		return nil, fmt.Errorf("create vlan %s (id %d on %s): %w", ifc.Name, ifc.VlanID, ifc.Link, err)
	}
	if err := netlink.LinkSetUp(parent); err != nil {
		return nil, fmt.Errorf("%s up: %w", ifc.Link, err)
	}
	return netlink.LinkByName(ifc.Name)
}

// linkUp brings a link up and lets the kernel accept IPv6 router advertisements on it
// (SLAAC), unless acceptRA is false.
func linkUp(l netlink.Link, acceptRA bool) error {
	name := l.Attrs().Name
	ra := "/proc/sys/net/ipv6/conf/" + name + "/accept_ra"
	if cur, err := os.ReadFile(ra); err == nil {
		want := "0"
		if acceptRA {
			want = "1"
		}
		// 2 (accept even when forwarding) is a deliberate choice someone made: keep it.
		if c := strings.TrimSpace(string(cur)); c != want && !(acceptRA && c == "2") {
			if err := os.WriteFile(ra, []byte(want), 0o644); err != nil {
				logf("%s: accept_ra: %v", name, err)
			}
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// applyConfig configures link with c: MTU, addresses (removing those of prev, the
// configuration c replaces, that c no longer has), then routes.
func applyConfig(l netlink.Link, c, prev linkConfig, proto netlink.RouteProtocol) error {
	name := l.Attrs().Name
	var errs []error
	if c.MTU > 0 && l.Attrs().MTU != c.MTU {
		if err := netlink.LinkSetMTU(l, c.MTU); err != nil {
			errs = append(errs, fmt.Errorf("%s: set mtu %d: %w", name, c.MTU, err))
		}
	}
	for _, old := range prev.Addrs {
		if slices.ContainsFunc(c.Addrs, func(a *net.IPNet) bool { return a.String() == old.String() }) {
			continue
		}
		if err := netlink.AddrDel(l, &netlink.Addr{IPNet: old}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("%s: remove %s: %w", name, old, err))
		}
	}
	for _, a := range c.Addrs {
		if err := netlink.AddrReplace(l, &netlink.Addr{IPNet: a}); err != nil {
			errs = append(errs, fmt.Errorf("%s: add %s: %w", name, a, err))
		}
	}
	idx := l.Attrs().Index
	addRoute := func(dst *net.IPNet, via net.IP, metric int) {
		r := &netlink.Route{LinkIndex: idx, Dst: dst, Gw: via, Priority: metric, Protocol: proto}
		if via == nil {
			r.Scope = netlink.SCOPE_LINK
		} else if !onLink(c.Addrs, via) {
			// A gateway outside every prefix of the link (a /32 lease) is reached on-link.
			r.Flags = int(netlink.FLAG_ONLINK)
		}
		if err := netlink.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("%s: route %s via %s: %w", name, dst, via, err))
		}
	}
	for _, r := range c.Routes {
		addRoute(r.Dst, r.Via, r.Metric)
	}
	if c.Gateway4 != nil {
		addRoute(&net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}, c.Gateway4, 0)
	}
	if c.Gateway6 != nil {
		addRoute(&net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}, c.Gateway6, 0)
	}
	return errors.Join(errs...)
}

// onLink reports whether ip is inside one of addrs' prefixes.
func onLink(addrs []*net.IPNet, ip net.IP) bool {
	for _, a := range addrs {
		if (&net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask}).Contains(ip) {
			return true
		}
	}
	return false
}

// removeAddrs removes c's addresses (and with them their routes) from link: the lease
// expired.
func removeAddrs(l netlink.Link, c linkConfig) {
	for _, a := range c.Addrs {
		if err := netlink.AddrDel(l, &netlink.Addr{IPNet: a}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			logf("%s: remove %s: %v", l.Attrs().Name, a, err)
		}
	}
}

// setHostname sets the host name a lease gave, unless the metadata package wrote one
// (metadata wins) or it is the name already.
func setHostname(name, metadataFile string) {
	if name == "" {
		return
	}
	if _, err := os.Stat(metadataFile); err == nil {
		return
	}
	if cur, err := os.Hostname(); err == nil && cur == name {
		return
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		logf("sethostname %s: %v", name, err)
		return
	}
	logf("hostname %s", name)
}
