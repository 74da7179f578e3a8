package main

import (
	"context"
	"fmt"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// askDHCPv6 asks the link's DHCPv6 servers once for name servers and search domains
// (stateless DHCPv6, RFC 8415: addresses come from SLAAC) and adds what they give to
// resolv.conf. A network without DHCPv6 costs a few seconds of a background goroutine.
func (d *dhcpLink) askDHCPv6(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	info, err := informationRequest(ctx, d.link)
	if err != nil {
		logf("%s: no DHCPv6 name servers: %v", d.name, err)
		return
	}
	if len(info.DNS) == 0 && len(info.Search) == 0 {
		return
	}
	if err := d.out.set(d.name+" dhcpv6", info); err != nil {
		logf("%v", err)
	}
	logf("%s: dhcpv6 dns %s", d.name, joinIPs(info.DNS, " "))
}

// informationRequest sends an INFORMATION-REQUEST from the link's link-local address.
func informationRequest(ctx context.Context, l netlink.Link) (resolverInfo, error) {
	name := l.Attrs().Name
	if err := waitLinkLocal(ctx, l); err != nil {
		return resolverInfo{}, err
	}
	c, err := nclient6.New(name, nclient6.WithTimeout(2*time.Second), nclient6.WithRetry(2))
	if err != nil {
		return resolverInfo{}, fmt.Errorf("dhcpv6 client: %w", err)
	}
	defer c.Close()
	msg, err := dhcpv6.NewMessage(
		dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: l.Attrs().HardwareAddr}),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList),
	)
	if err != nil {
		return resolverInfo{}, err
	}
	msg.MessageType = dhcpv6.MessageTypeInformationRequest
	reply, err := c.SendAndRead(ctx, nclient6.AllDHCPRelayAgentsAndServers, msg, nclient6.IsMessageType(dhcpv6.MessageTypeReply))
	if err != nil {
		return resolverInfo{}, err
	}
	return replyInfo(reply), nil
}

// replyInfo is the resolver configuration of a DHCPv6 reply.
func replyInfo(m *dhcpv6.Message) resolverInfo {
	info := resolverInfo{DNS: m.Options.DNS()}
	if labels := m.Options.DomainSearchList(); labels != nil {
		info.Search = labels.Labels
	}
	return info
}

// waitLinkLocal waits until the link has a link-local IPv6 address that passed duplicate
// address detection: DHCPv6 messages are sent from it.
func waitLinkLocal(ctx context.Context, l netlink.Link) error {
	for {
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			return fmt.Errorf("list addresses: %w", err)
		}
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no link-local IPv6 address")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
