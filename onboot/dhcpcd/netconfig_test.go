package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fullConfig = `network:
  version: 2
  ethernets:
    eth0:
      addresses: [192.168.1.10/24, "2001:db8::10/64"]
      gateway4: 192.168.1.1
      gateway6: 2001:db8::1
      mtu: 9000
      nameservers:
        addresses: [192.168.1.53, 2001:db8::53]
        search: [lab.example]
      routes:
        - to: 10.0.0.0/8
          via: 192.168.1.254
          metric: 100
        - to: 172.16.0.1
          via: 192.168.1.253
    lan:
      match:
        macaddress: "52:54:00:12:34:56"
      dhcp4: true
      accept-ra: false
  vlans:
    vlan10:
      id: 10
      link: eth0
      addresses: [10.10.0.2/24]
`

func TestParseNetworkConfigReadsEthernetsAndVlans(t *testing.T) {
	cfg, err := parseNetworkConfig("net.yml", []byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Ethernets) != 2 || len(cfg.Vlans) != 1 || len(cfg.Warnings) != 0 {
		t.Fatalf("%+v", cfg)
	}
	e := cfg.Ethernets[0]
	s := e.Static
	if e.Name != "eth0" || e.Line != 4 || e.DHCP4 {
		t.Errorf("eth0: %+v", e)
	}
	if s.addrString() != "192.168.1.10/24 2001:db8::10/64" || s.Gateway4.String() != "192.168.1.1" || s.Gateway6.String() != "2001:db8::1" || s.MTU != 9000 {
		t.Errorf("eth0 static: %s gw %v %v mtu %d", s.addrString(), s.Gateway4, s.Gateway6, s.MTU)
	}
	if joinIPs(s.DNS, " ") != "192.168.1.53 2001:db8::53" || strings.Join(s.Search, " ") != "lab.example" {
		t.Errorf("nameservers %v %v", s.DNS, s.Search)
	}
	if len(s.Routes) != 2 || s.Routes[0].Dst.String() != "10.0.0.0/8" || s.Routes[0].Metric != 100 || s.Routes[1].Dst.String() != "172.16.0.1/32" {
		t.Errorf("routes %+v", s.Routes)
	}
	lan := cfg.Ethernets[1]
	if !lan.DHCP4 || lan.MatchMAC.String() != "52:54:00:12:34:56" || lan.AcceptRA == nil || *lan.AcceptRA {
		t.Errorf("lan: %+v", lan)
	}
	v := cfg.Vlans[0]
	if v.VlanID != 10 || v.Link != "eth0" || v.Static.addrString() != "10.10.0.2/24" {
		t.Errorf("vlan: %+v", v)
	}
}

func TestParseNetworkConfigAcceptsNoCloudsTopLevelForm(t *testing.T) {
	cfg, err := parseNetworkConfig("network-config", []byte("version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    routes:\n      - to: default\n        via: 10.0.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Ethernets) != 1 || !cfg.Ethernets[0].DHCP4 || cfg.Ethernets[0].Static.Routes[0].Dst.String() != "0.0.0.0/0" {
		t.Errorf("%+v", cfg)
	}
}

func TestParseNetworkConfigWarnsOfUnknownKeysWithTheirLine(t *testing.T) {
	cfg, err := parseNetworkConfig("n.yml", []byte("version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    adresses: [10.0.0.2/24]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 1 || !strings.HasPrefix(cfg.Warnings[0], "n.yml:5: eth0.adresses") {
		t.Errorf("warnings %q", cfg.Warnings)
	}
}

func TestParseNetworkConfigErrorsNameFileAndLine(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"version 1", "network:\n  version: 1\n  config: []\n", "f.yml:2: version 1: only version 2"},
		{"no version", "ethernets: {}\n", "f.yml:1: no version"},
		{"bad address", "version: 2\nethernets:\n  eth0:\n    addresses:\n      - 10.0.0.300/24\n", `f.yml:5: eth0.addresses: "10.0.0.300/24" is not an address`},
		{"address without prefix", "version: 2\nethernets:\n  eth0:\n    addresses: [10.0.0.3]\n", "f.yml:4: eth0.addresses"},
		{"ipv6 gateway4", "version: 2\nethernets:\n  eth0:\n    gateway4: 2001:db8::1\n", "f.yml:4: eth0.gateway4: 2001:db8::1 is not an IPv4"},
		{"mtu", "version: 2\nethernets:\n  eth0:\n    mtu: big\n", `f.yml:4: eth0.mtu: "big" is not a number`},
		{"dhcp4", "version: 2\nethernets:\n  eth0:\n    dhcp4: maybe\n", `f.yml:4: eth0.dhcp4: "maybe" is not true or false`},
		{"route without to", "version: 2\nethernets:\n  eth0:\n    routes:\n      - via: 10.0.0.1\n", "f.yml:5: eth0.routes: a route needs to:"},
		{"route family", "version: 2\nethernets:\n  eth0:\n    routes:\n      - to: 10.1.0.0/16\n        via: 2001:db8::1\n", "f.yml:5: eth0.routes: via 2001:db8::1 and to 10.1.0.0/16 are of different"},
		{"nameserver", "version: 2\nethernets:\n  eth0:\n    nameservers:\n      addresses: [dns.example]\n", `f.yml:5: eth0.nameservers.addresses: "dns.example" is not an IP`},
		{"vlan without id", "version: 2\nvlans:\n  v10:\n    link: eth0\n", "f.yml:4: v10: a vlan needs id and link"},
		{"vlan id", "version: 2\nvlans:\n  v10:\n    id: 5000\n    link: eth0\n", `f.yml:4: v10.id: "5000" is not a number from 1 to 4094`},
		{"bonds", "version: 2\nbonds:\n  bond0: {}\n", "f.yml:2: bonds are not supported"},
		{"match key", "version: 2\nethernets:\n  e:\n    match:\n      driver: virtio\n", "f.yml:5: e.match.driver: dhcpcd matches only"},
		{"yaml", "version: 2\nethernets: [\n", "f.yml: yaml: line 2"},
		{"interface name", "version: 2\nethernets:\n  averyveryverylongname: {}\n", `f.yml:3: "averyveryverylongname" is not a valid interface name`},
	} {
		_, err := parseNetworkConfig("f.yml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestFindNetworkConfigUsesTheFileGivenAndFailsWhenItIsMissing(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "net.yml")
	if _, err := findNetworkConfig(name); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing -config file: %v", err)
	}
	os.WriteFile(name, []byte("version: 2\nethernets:\n  eth0: {dhcp4: true}\n"), 0o644)
	cfg, err := findNetworkConfig(name)
	if err != nil || cfg == nil || cfg.File != name {
		t.Errorf("cfg %+v err %v", cfg, err)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-1", "-renew-after", "5s", "-config", "/x.yml", "eth1"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.once || o.renewAfter.String() != "5s" || o.configFile != "/x.yml" || len(o.links) != 1 || o.resolvConf != defaultResolvConf {
		t.Errorf("%+v", o)
	}
}

func TestParseFlagsAcceptsLinuxKitsCommandLine(t *testing.T) {
	o, err := parseFlags([]string{"--nobackground", "-f", "/dhcpcd.conf", "-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.once || len(o.links) != 0 {
		t.Errorf("%+v: want -1 and every link", o)
	}
}
