package main

import (
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

func TestReplyInfoTakesDHCPv6NameServersAndSearchDomains(t *testing.T) {
	m, err := dhcpv6.NewMessage(
		dhcpv6.WithDNS(net.ParseIP("2001:db8::53"), net.ParseIP("fec0::3")),
		dhcpv6.WithDomainSearchList("v6.example"),
	)
	if err != nil {
		t.Fatal(err)
	}
	info := replyInfo(m)
	if joinIPs(info.DNS, " ") != "2001:db8::53 fec0::3" || len(info.Search) != 1 || info.Search[0] != "v6.example" {
		t.Errorf("%+v", info)
	}
	if info := replyInfo(&dhcpv6.Message{}); len(info.DNS) != 0 || info.Search != nil {
		t.Errorf("empty reply: %+v", info)
	}
}
