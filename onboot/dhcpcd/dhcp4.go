package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
)

// dhcpLink keeps the DHCPv4 lease of one link.
type dhcpLink struct {
	link   netlink.Link
	name   string
	static linkConfig // from network-config, applied beside the lease
	ask6   bool       // as a service, ask DHCPv6 for name servers too
	out    *outputs
	opts   *options

	client  *nclient4.Client
	lease   *nclient4.Lease
	applied linkConfig
}

// modifiers are added to every request: the options dhcpcd uses.
func modifiers() []dhcpv4.Modifier {
	return []dhcpv4.Modifier{dhcpv4.WithRequestedOptions(requestedOptions...)}
}

func (d *dhcpLink) open() error {
	if d.client != nil {
		return nil
	}
	c, err := nclient4.New(d.name, nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
	if err != nil {
		return fmt.Errorf("%s: dhcp client: %w", d.name, err)
	}
	d.client = c
	return nil
}

func (d *dhcpLink) close() {
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
}

// acquire runs DISCOVER-OFFER-REQUEST-ACK until it gets a lease or ctx ends, waiting a
// little longer after each failure.
func (d *dhcpLink) acquire(ctx context.Context) error {
	wait := time.Second
	for {
		if err := d.open(); err != nil {
			logf("%v", err)
		} else {
			lease, err := d.request(ctx)
			if err == nil {
				return d.take(lease, "leased")
			}
			if ctx.Err() == nil {
				logf("%s: no lease yet: %v", d.name, err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// request runs DISCOVER-OFFER-REQUEST-ACK, asking in the DISCOVER for the IPv4 address the
// link has (one an onboot dhcpcd -1 leased) as RFC 2131 allows; the REQUEST takes what
// was offered.
func (d *dhcpLink) request(ctx context.Context) (*nclient4.Lease, error) {
	discover := modifiers()
	if ip := currentIPv4(d.link); ip != nil {
		discover = append(discover, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)))
	}
	offer, err := d.client.DiscoverOffer(ctx, discover...)
	if err != nil {
		return nil, err
	}
	return d.client.RequestFromOffer(ctx, offer, modifiers()...)
}

// currentIPv4 is the link's first global IPv4 address, or nil.
func currentIPv4(l netlink.Link) net.IP {
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if a.Scope == int(netlink.SCOPE_UNIVERSE) {
			return a.IP.To4()
		}
	}
	return nil
}

// take applies a lease and logs event ("leased", "renewed", "rebound").
func (d *dhcpLink) take(lease *nclient4.Lease, event string) error {
	cfg, err := leaseConfig(lease.ACK)
	if err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	merged := mergeStatic(cfg, d.static)
	if err := applyConfig(d.link, merged, d.applied, netlink.RouteProtocol(16)); err != nil { // RTPROT_DHCP
		logf("%v", err)
	}
	d.lease, d.applied = lease, merged
	if err := d.out.set(d.name, resolverInfo{DNS: merged.DNS, Search: merged.Search, NTP: merged.NTP}); err != nil {
		logf("%v", err)
	}
	setHostname(cfg.Hostname, d.opts.hostnameFile)
	logf("%s: %s %s from %s%s, lease %ds", d.name, event, merged.addrString(), lease.ACK.ServerIdentifier(),
		merged.details(), int(lease.ACK.IPAddressLeaseTime(0).Seconds()))
	return nil
}

// mergeStatic adds what a network-config entry with dhcp4: true also gives.
func mergeStatic(lease, static linkConfig) linkConfig {
	c := lease
	c.Addrs = append(c.Addrs[:len(c.Addrs):len(c.Addrs)], static.Addrs...)
	c.Routes = append(c.Routes[:len(c.Routes):len(c.Routes)], static.Routes...)
	if static.Gateway4 != nil {
		c.Gateway4 = static.Gateway4
	}
	c.Gateway6 = static.Gateway6
	if static.MTU > 0 {
		c.MTU = static.MTU
	}
	if len(static.DNS) > 0 {
		c.DNS = static.DNS
	}
	if len(static.Search) > 0 {
		c.Search = static.Search
	}
	return c
}

// keep renews the lease at T1, rebinds at T2 and starts over when it expires, until ctx
// ends; then it releases the lease.
func (d *dhcpLink) keep(ctx context.Context) {
	defer d.close()
	asked6 := false
	for {
		if d.lease == nil {
			if err := d.acquire(ctx); err != nil {
				return
			}
		}
		if !asked6 && d.ask6 {
			asked6 = true
			go d.askDHCPv6(ctx)
		}
		if !d.hold(ctx) {
			d.release()
			return
		}
	}
}

// hold keeps the current lease through renewals; it returns false when ctx ended and
// true when the lease expired (d.lease is then nil).
func (d *dhcpLink) hold(ctx context.Context) bool {
	for {
		start := d.lease.CreationTime
		t := timesOf(d.lease.ACK, d.opts.renewAfter)
		if !sleepUntil(ctx, start.Add(t.Renew)) {
			return false
		}
		// RENEWING: ask the server that gave the lease, then from T2 any server
		// (REBINDING), retrying at half the time left, as RFC 2131 suggests.
		for {
			now := time.Now()
			if !now.Before(start.Add(t.Expire)) {
				logf("%s: lease of %s expired", d.name, d.applied.addrString())
				removeAddrs(d.link, d.applied)
				d.lease, d.applied = nil, linkConfig{}
				return true
			}
			rebinding := !now.Before(start.Add(t.Rebind))
			next := start.Add(t.Rebind)
			if rebinding {
				next = start.Add(t.Expire)
			}
			// An attempt ends at the next state's time: the client's retries take seconds.
			rctx, cancel := context.WithDeadline(ctx, next)
			lease, err := d.renew(rctx, rebinding)
			cancel()
			if err == nil {
				event := "renewed"
				if rebinding {
					event = "rebound"
				}
				if err = d.take(lease, event); err == nil {
					break
				}
			}
			if ctx.Err() != nil {
				return false
			}
			var nak *nclient4.ErrNak
			if errors.As(err, &nak) {
				logf("%s: the server refused the lease of %s; discovering again", d.name, d.applied.addrString())
				removeAddrs(d.link, d.applied)
				d.lease, d.applied = nil, linkConfig{}
				return true
			}
			// Again at half the time left, at least 5 s apart, and at the next state's time.
			wait := min(max(time.Until(next)/2, 5*time.Second), time.Until(next))
			what := "renewal"
			if rebinding {
				what = "rebinding"
			}
			logf("%s: %s failed: %v; again in %s", d.name, what, err, max(wait, 0).Round(time.Second))
			if !sleepUntil(ctx, time.Now().Add(wait)) {
				return false
			}
		}
	}
}

// renew asks for the lease again: from its server, or when rebinding from any server.
func (d *dhcpLink) renew(ctx context.Context, rebinding bool) (*nclient4.Lease, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	if !rebinding {
		return d.client.Renew(ctx, d.lease, modifiers()...)
	}
	req, err := dhcpv4.NewRenewFromAck(d.lease.ACK, modifiers()...)
	if err != nil {
		return nil, err
	}
	resp, err := d.client.SendAndRead(ctx, d.client.RemoteAddr(), req,
		nclient4.IsMessageType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak))
	if err != nil {
		return nil, err
	}
	if resp.MessageType() == dhcpv4.MessageTypeNak {
		return nil, &nclient4.ErrNak{Offer: d.lease.Offer, Nak: resp}
	}
	return &nclient4.Lease{Offer: d.lease.Offer, ACK: resp, CreationTime: time.Now()}, nil
}

// release gives the lease back to its server (SIGTERM), unicast from the leased address
// as RFC 2131 says: the raw socket's packets come from 0.0.0.0, which Linux servers drop
// unless sent to the broadcast address. The address stays on the link, so services still
// shutting down keep their connections.
func (d *dhcpLink) release() {
	if d.lease == nil {
		return
	}
	ack := d.lease.ACK
	req, err := dhcpv4.NewReleaseFromACK(ack)
	if err == nil {
		var conn *net.UDPConn
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ack.YourIPAddr, Port: dhcpv4.ClientPort})
		if err == nil {
			_, err = conn.WriteTo(req.ToBytes(), &net.UDPAddr{IP: ack.ServerIdentifier(), Port: dhcpv4.ServerPort})
			conn.Close()
		}
	}
	if err != nil {
		logf("%s: release %s: %v", d.name, d.applied.addrString(), err)
		return
	}
	logf("%s: released %s to %s", d.name, d.applied.addrString(), ack.ServerIdentifier())
}

// sleepUntil waits until t; it reports false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
