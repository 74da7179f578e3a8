package main

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/rfc1035label"
	"github.com/vishvananda/netlink"
)

func ack(t *testing.T, opts ...dhcpv4.Option) *dhcpv4.DHCPv4 {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithYourIP(net.IPv4(10, 0, 2, 15)), dhcpv4.WithMessageType(dhcpv4.MessageTypeAck)}
	for _, o := range opts {
		mods = append(mods, dhcpv4.WithOption(o))
	}
	m, err := dhcpv4.New(mods...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLeaseConfigTakesAddressRouterDNSSearchNTPMTUAndHostname(t *testing.T) {
	m := ack(t,
		dhcpv4.OptSubnetMask(net.CIDRMask(24, 32)),
		dhcpv4.OptRouter(net.IPv4(10, 0, 2, 2)),
		dhcpv4.OptDNS(net.IPv4(10, 0, 2, 3), net.IPv4(1, 1, 1, 1)),
		dhcpv4.OptDomainName("example.org"),
		dhcpv4.OptNTPServers(net.IPv4(10, 0, 2, 4)),
		dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, []byte{0x05, 0xdc}),
		dhcpv4.OptHostName("guest1"),
	)
	c, err := leaseConfig(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.addrString(); got != "10.0.2.15/24" {
		t.Errorf("address %s, want 10.0.2.15/24", got)
	}
	if !c.Gateway4.Equal(net.IPv4(10, 0, 2, 2)) {
		t.Errorf("gateway %v, want 10.0.2.2", c.Gateway4)
	}
	if got := joinIPs(c.DNS, " "); got != "10.0.2.3 1.1.1.1" {
		t.Errorf("dns %s", got)
	}
	if !slices.Equal(c.Search, []string{"example.org"}) {
		t.Errorf("search %v, want the domain name", c.Search)
	}
	if got := joinIPs(c.NTP, " "); got != "10.0.2.4" {
		t.Errorf("ntp %s", got)
	}
	if c.MTU != 1500 || c.Hostname != "guest1" {
		t.Errorf("mtu %d hostname %q", c.MTU, c.Hostname)
	}
	if got, want := c.details(), ", router 10.0.2.2, dns 10.0.2.3 1.1.1.1, search example.org, mtu 1500"; got != want {
		t.Errorf("details %q, want %q", got, want)
	}
}

func TestLeaseConfigPrefersDomainSearchOverDomainName(t *testing.T) {
	c, err := leaseConfig(ack(t,
		dhcpv4.OptDomainName("one.example"),
		dhcpv4.OptDomainSearch(&rfc1035label.Labels{Labels: []string{"a.example", "b.example"}}),
	))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Search, []string{"a.example", "b.example"}) {
		t.Errorf("search %v", c.Search)
	}
}

func TestLeaseConfigClasslessRoutesReplaceTheRouterOption(t *testing.T) {
	_, def, _ := net.ParseCIDR("0.0.0.0/0")
	_, lan, _ := net.ParseCIDR("192.168.7.0/24")
	_, link, _ := net.ParseCIDR("172.16.0.0/16")
	c, err := leaseConfig(ack(t,
		dhcpv4.OptRouter(net.IPv4(10, 0, 2, 2)),
		dhcpv4.OptClasslessStaticRoute(
			&dhcpv4.Route{Dest: lan, Router: net.IPv4(10, 0, 2, 9)},
			&dhcpv4.Route{Dest: def, Router: net.IPv4(10, 0, 2, 1)},
			&dhcpv4.Route{Dest: link, Router: net.IPv4zero},
		),
	))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Gateway4.Equal(net.IPv4(10, 0, 2, 1)) {
		t.Errorf("gateway %v, want option 121's default 10.0.2.1", c.Gateway4)
	}
	if len(c.Routes) != 2 || c.Routes[0].Dst.String() != "192.168.7.0/24" || !c.Routes[0].Via.Equal(net.IPv4(10, 0, 2, 9)) || c.Routes[1].Via != nil {
		t.Errorf("routes %+v", c.Routes)
	}
}

func TestLeaseConfigWithoutMaskUsesTheClassMaskAndIgnoresBadValues(t *testing.T) {
	c, err := leaseConfig(ack(t,
		dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, []byte{0, 10}),
		dhcpv4.OptHostName("bad_name;rm"),
	))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.addrString(); got != "10.0.2.15/8" {
		t.Errorf("address %s, want the class A mask", got)
	}
	if c.MTU != 0 || c.Hostname != "" {
		t.Errorf("mtu %d hostname %q: want both ignored", c.MTU, c.Hostname)
	}
}

func TestLeaseConfigRejectsAnACKWithoutAddress(t *testing.T) {
	m, _ := dhcpv4.New()
	if _, err := leaseConfig(m); err == nil {
		t.Error("an ACK without yiaddr was accepted")
	}
}

func TestTimesDefaultToHalfAndSevenEighthsAndRenewAfterShortensT1(t *testing.T) {
	m := ack(t, dhcpv4.OptIPAddressLeaseTime(800*time.Second))
	if got := timesOf(m, 0); got != (leaseTimes{400 * time.Second, 700 * time.Second, 800 * time.Second}) {
		t.Errorf("times %+v", got)
	}
	if got := timesOf(m, 5*time.Second); got.Renew != 5*time.Second || got.Rebind != 700*time.Second {
		t.Errorf("with renew-after: %+v", got)
	}
	m = ack(t, dhcpv4.OptIPAddressLeaseTime(100*time.Second), dhcpv4.OptRenewTimeValue(10*time.Second), dhcpv4.OptRebindingTimeValue(20*time.Second))
	if got := timesOf(m, 50*time.Second); got != (leaseTimes{50 * time.Second, 50 * time.Second, 100 * time.Second}) {
		t.Errorf("renew-after past T2: %+v, want T2 moved to T1", got)
	}
}

func TestMergeStaticAddsAddressesAndOverridesResolver(t *testing.T) {
	_, extra, _ := net.ParseCIDR("192.168.9.1/24")
	lease := linkConfig{Addrs: []*net.IPNet{{IP: net.IPv4(10, 0, 2, 15).To4(), Mask: net.CIDRMask(24, 32)}}, DNS: []net.IP{net.IPv4(10, 0, 2, 3)}}
	got := mergeStatic(lease, linkConfig{Addrs: []*net.IPNet{extra}, DNS: []net.IP{net.IPv4(9, 9, 9, 9)}})
	if got.addrString() != "10.0.2.15/24 192.168.9.0/24" || joinIPs(got.DNS, " ") != "9.9.9.9" {
		t.Errorf("merged %s dns %s", got.addrString(), joinIPs(got.DNS, " "))
	}
	if len(lease.Addrs) != 1 {
		t.Error("merging changed the lease's addresses")
	}
}

func TestIsEthernetLeavesOutLoopbackAndVirtualLinks(t *testing.T) {
	for _, c := range []struct {
		typ, encap string
		flags      net.Flags
		want       bool
	}{
		{"device", "ether", 0, true},
		{"device", "loopback", net.FlagLoopback, false},
		{"veth", "ether", 0, false},
		{"bridge", "ether", 0, false},
		{"device", "none", 0, false},
	} {
		a := netlinkAttrs(c.encap, c.flags)
		if got := isEthernet(c.typ, a); got != c.want {
			t.Errorf("%s/%s: %v, want %v", c.typ, c.encap, got, c.want)
		}
	}
}

func netlinkAttrs(encap string, flags net.Flags) *netlink.LinkAttrs {
	return &netlink.LinkAttrs{EncapType: encap, Flags: flags}
}
