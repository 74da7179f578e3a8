package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// linkConfig is what one link is configured with, from a DHCP lease or a static
// network-config entry.
type linkConfig struct {
	Addrs    []*net.IPNet // host address and prefix
	Gateway4 net.IP
	Gateway6 net.IP
	Routes   []route
	MTU      int
	DNS      []net.IP
	Search   []string
	NTP      []net.IP
	Hostname string
}

// route is a static route; Via nil is on-link.
type route struct {
	Dst    *net.IPNet
	Via    net.IP
	Metric int
}

// requestedOptions are the options dhcpcd asks servers for.
var requestedOptions = []dhcpv4.OptionCode{
	dhcpv4.OptionSubnetMask,
	dhcpv4.OptionRouter,
	dhcpv4.OptionDomainNameServer,
	dhcpv4.OptionHostName,
	dhcpv4.OptionDomainName,
	dhcpv4.OptionInterfaceMTU,
	dhcpv4.OptionNTPServers,
	dhcpv4.OptionDNSDomainSearchList,
	dhcpv4.OptionClasslessStaticRoute,
}

// leaseConfig is the configuration an ACK gives: address and prefix, routes (option 121,
// which replaces the router option as RFC 3442 says, else option 3), MTU (26), DNS
// servers (6), search domains (119, else the domain name of 15), NTP servers (42) and
// the host name (12).
func leaseConfig(ack *dhcpv4.DHCPv4) (linkConfig, error) {
	var c linkConfig
	ip := ack.YourIPAddr.To4()
	if ip == nil || ip.IsUnspecified() {
		return c, fmt.Errorf("the ACK gives no address")
	}
	mask := ack.SubnetMask()
	if mask == nil {
		mask = ip.DefaultMask()
	}
	c.Addrs = []*net.IPNet{{IP: ip, Mask: mask}}
	if classless := ack.ClasslessStaticRoute(); len(classless) > 0 {
		for _, r := range classless {
			rt := route{Dst: r.Dest}
			if !r.Router.IsUnspecified() {
				rt.Via = r.Router.To4()
			}
			if ones, _ := r.Dest.Mask.Size(); ones == 0 && rt.Via != nil {
				c.Gateway4 = rt.Via
				continue
			}
			c.Routes = append(c.Routes, rt)
		}
	} else if routers := ack.Router(); len(routers) > 0 {
		c.Gateway4 = routers[0].To4()
	}
	if b := ack.GetOneOption(dhcpv4.OptionInterfaceMTU); len(b) == 2 {
		// RFC 2132: the minimum legal MTU is 68; smaller values are ignored.
		if mtu := int(binary.BigEndian.Uint16(b)); mtu >= 68 {
			c.MTU = mtu
		}
	}
	c.DNS = ack.DNS()
	if labels := ack.DomainSearch(); labels != nil && len(labels.Labels) > 0 {
		c.Search = slices.Clone(labels.Labels)
	} else if d := strings.TrimSuffix(ack.DomainName(), "."); d != "" {
		c.Search = []string{d}
	}
	c.NTP = ack.NTPServers()
	c.Hostname = validHostname(ack.HostName())
	return c, nil
}

// validHostname returns name when it is a usable host name (RFC 1123 labels, at most 64
// bytes as sethostname allows), else "".
func validHostname(name string) string {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	if name == "" || len(name) > 64 {
		return ""
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return ""
			}
		}
	}
	return name
}

// leaseTimes are when, after the lease was obtained, to renew (T1), rebind (T2) and give
// the lease up. Missing T1 and T2 default to half and seven eighths of the lease (RFC
// 2131); renewAfter, when set, replaces T1 (tests shorten qemu's day-long lease).
type leaseTimes struct {
	Renew, Rebind, Expire time.Duration
}

func timesOf(ack *dhcpv4.DHCPv4, renewAfter time.Duration) leaseTimes {
	lease := ack.IPAddressLeaseTime(0)
	if lease <= 0 {
		lease = 24 * time.Hour
	}
	t := leaseTimes{
		Renew:  ack.IPAddressRenewalTime(lease / 2),
		Rebind: ack.IPAddressRebindingTime(lease * 7 / 8),
		Expire: lease,
	}
	if renewAfter > 0 {
		t.Renew = renewAfter
	}
	if t.Rebind < t.Renew {
		t.Rebind = t.Renew
	}
	if t.Expire < t.Rebind {
		t.Expire = t.Rebind
	}
	return t
}

// addrString is the link's addresses, space separated: "10.0.2.15/24".
func (c linkConfig) addrString() string {
	if len(c.Addrs) == 0 {
		return "no address"
	}
	addrs := make([]string, len(c.Addrs))
	for i, a := range c.Addrs {
		addrs[i] = a.String()
	}
	return strings.Join(addrs, " ")
}

// details is the log line's description of what else the link got: ", router 10.0.2.2,
// dns 10.0.2.3".
func (c linkConfig) details() string {
	var b strings.Builder
	if c.Gateway4 != nil {
		b.WriteString(", router " + c.Gateway4.String())
	}
	if c.Gateway6 != nil {
		b.WriteString(", router6 " + c.Gateway6.String())
	}
	if len(c.DNS) > 0 {
		b.WriteString(", dns " + joinIPs(c.DNS, " "))
	}
	if len(c.Search) > 0 {
		b.WriteString(", search " + strings.Join(c.Search, " "))
	}
	if c.MTU > 0 {
		fmt.Fprintf(&b, ", mtu %d", c.MTU)
	}
	return b.String()
}

func joinIPs(ips []net.IP, sep string) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, sep)
}
