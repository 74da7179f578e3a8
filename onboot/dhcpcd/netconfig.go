package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Where a static network configuration is looked for, in order, when -config is not
// given: the metadata package writes NoCloud's network-config to the first, a user's
// files: entry puts one at the second.
var defaultConfigFiles = []string{"/run/config/network-config", "/etc/keel/network.yml"}

// networkConfig is the subset of cloud-init's network configuration version 2 (netplan's
// format) that dhcpcd applies.
type networkConfig struct {
	File      string
	Ethernets []iface
	Vlans     []iface
	// Warnings name keys that were ignored, with their file and line.
	Warnings []string
}

// iface is one ethernets or vlans entry.
type iface struct {
	Name      string // the entry's key: the link's name unless match says otherwise
	Line      int
	MatchName string           // a shell pattern of link names
	MatchMAC  net.HardwareAddr // the link's hardware address
	DHCP4     bool
	DHCP6     bool
	AcceptRA  *bool
	Static    linkConfig
	// vlans only
	VlanID int
	Link   string
}

// loadNetworkConfig reads the configuration file name; found is false when there is none.
func loadNetworkConfig(name string) (cfg *networkConfig, found bool, err error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read network config: %w", err)
	}
	cfg, err = parseNetworkConfig(name, data)
	return cfg, true, err
}

// parseNetworkConfig parses a network-config document: either {network: {version: 2,
// ...}} or its inner mapping, as NoCloud's network-config file holds it. Errors and
// warnings name file:line.
func parseNetworkConfig(file string, data []byte) (*networkConfig, error) {
	p := &ncParser{cfg: &networkConfig{File: file}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty network config", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "want a mapping with version: 2")
	}
	if n := mapValue(root, "network"); n != nil {
		if n.Kind != yaml.MappingNode {
			return nil, p.errf(n, "network: want a mapping")
		}
		for i := 0; i < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Value != "network" {
				p.warn(k, "ignored key %q", k.Value)
			}
		}
		root = n
	}
	version := mapValue(root, "version")
	if version == nil {
		return nil, p.errf(root, "no version: this reads cloud-init network config version 2")
	}
	if version.Value != "2" {
		return nil, p.errf(version, "version %s: only version 2 is supported", version.Value)
	}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		var err error
		switch k.Value {
		case "version", "renderer":
		case "ethernets":
			p.cfg.Ethernets, err = p.ifaces(v, false)
		case "vlans":
			p.cfg.Vlans, err = p.ifaces(v, true)
		case "bonds", "bridges", "wifis", "tunnels", "vrfs", "modems":
			err = p.errf(k, "%s are not supported (ethernets and vlans are)", k.Value)
		default:
			p.warn(k, "ignored key %q", k.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	return p.cfg, nil
}

type ncParser struct{ cfg *networkConfig }

func (p *ncParser) errf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.cfg.File, n.Line, fmt.Sprintf(format, args...))
}

func (p *ncParser) warn(n *yaml.Node, format string, args ...any) {
	p.cfg.Warnings = append(p.cfg.Warnings, fmt.Sprintf("%s:%d: %s", p.cfg.File, n.Line, fmt.Sprintf(format, args...)))
}

// mapValue is the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (p *ncParser) ifaces(n *yaml.Node, vlans bool) ([]iface, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "want a mapping of interface names")
	}
	var out []iface
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ifc, err := p.iface(k.Value, v, vlans)
		if err != nil {
			return nil, err
		}
		ifc.Line = k.Line
		out = append(out, ifc)
	}
	return out, nil
}

func (p *ncParser) iface(name string, n *yaml.Node, vlan bool) (iface, error) {
	ifc := iface{Name: name}
	if n.Kind != yaml.MappingNode {
		return ifc, p.errf(n, "%s: want a mapping", name)
	}
	if name == "" || len(name) > 15 || strings.ContainsAny(name, "/ \t") {
		return ifc, p.errf(n, "%q is not a valid interface name", name)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := name + "." + k.Value
		var err error
		switch k.Value {
		case "match":
			err = p.match(field, v, &ifc)
		case "dhcp4":
			ifc.DHCP4, err = p.boolean(field, v)
		case "dhcp6":
			ifc.DHCP6, err = p.boolean(field, v)
		case "accept-ra":
			var b bool
			b, err = p.boolean(field, v)
			ifc.AcceptRA = &b
		case "addresses":
			err = p.list(field, v, func(s *yaml.Node) error {
				ip, prefix, err := net.ParseCIDR(s.Value)
				if err != nil {
					return p.errf(s, "%s: %q is not an address with a prefix length (10.0.0.2/24)", field, s.Value)
				}
				if v4 := ip.To4(); v4 != nil {
					ip = v4
				}
				ifc.Static.Addrs = append(ifc.Static.Addrs, &net.IPNet{IP: ip, Mask: prefix.Mask})
				return nil
			})
		case "gateway4":
			ifc.Static.Gateway4, err = p.ip(field, v, true)
		case "gateway6":
			ifc.Static.Gateway6, err = p.ip(field, v, false)
		case "mtu":
			ifc.Static.MTU, err = p.integer(field, v, 68, 65535)
		case "nameservers":
			err = p.nameservers(field, v, &ifc.Static)
		case "routes":
			err = p.list(field, v, func(r *yaml.Node) error { return p.route(field, r, &ifc.Static) })
		case "id":
			if !vlan {
				p.warn(k, "%s: ignored key", field)
				continue
			}
			ifc.VlanID, err = p.integer(field, v, 1, 4094)
		case "link":
			if !vlan {
				p.warn(k, "%s: ignored key", field)
				continue
			}
			ifc.Link, err = p.str(field, v)
		case "set-name", "optional", "critical", "dhcp-identifier", "wakeonlan", "link-local", "renderer", "dhcp4-overrides", "dhcp6-overrides":
			p.warn(k, "%s: not applied", field)
		default:
			p.warn(k, "%s: unknown key, ignored", field)
		}
		if err != nil {
			return ifc, err
		}
	}
	if vlan && (ifc.VlanID == 0 || ifc.Link == "") {
		return ifc, p.errf(n, "%s: a vlan needs id and link", name)
	}
	return ifc, nil
}

func (p *ncParser) match(field string, n *yaml.Node, ifc *iface) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: want a mapping (name, macaddress)", field)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			s, err := p.str(field+".name", v)
			if err != nil {
				return err
			}
			ifc.MatchName = s
		case "macaddress":
			mac, err := net.ParseMAC(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return p.errf(v, "%s.macaddress: %q is not a MAC address", field, v.Value)
			}
			ifc.MatchMAC = mac
		default:
			return p.errf(k, "%s.%s: dhcpcd matches only name and macaddress", field, k.Value)
		}
	}
	return nil
}

func (p *ncParser) nameservers(field string, n *yaml.Node, c *linkConfig) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: want a mapping (addresses, search)", field)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "addresses":
			if err := p.list(field+".addresses", v, func(s *yaml.Node) error {
				ip, err := p.ip(field+".addresses", s, false)
				c.DNS = append(c.DNS, ip)
				return err
			}); err != nil {
				return err
			}
		case "search":
			if err := p.list(field+".search", v, func(s *yaml.Node) error {
				d := strings.TrimSuffix(s.Value, ".")
				if validHostname(d) == "" {
					return p.errf(s, "%s.search: %q is not a domain name", field, s.Value)
				}
				c.Search = append(c.Search, d)
				return nil
			}); err != nil {
				return err
			}
		default:
			return p.errf(k, "%s.%s: unknown key (addresses, search)", field, k.Value)
		}
	}
	return nil
}

func (p *ncParser) route(field string, n *yaml.Node, c *linkConfig) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: want a mapping (to, via, metric)", field)
	}
	var r route
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "to":
			r.Dst, err = p.destination(field, v)
		case "via":
			r.Via, err = p.ip(field+".via", v, false)
		case "metric":
			r.Metric, err = p.integer(field+".metric", v, 0, 1<<31-1)
		case "on-link", "table", "type", "scope", "from":
			p.warn(k, "%s.%s: not applied", field, k.Value)
		default:
			return p.errf(k, "%s.%s: unknown key (to, via, metric)", field, k.Value)
		}
		if err != nil {
			return err
		}
	}
	if r.Dst == nil {
		return p.errf(n, "%s: a route needs to:", field)
	}
	if r.Dst.String() == "0.0.0.0/0" && r.Via != nil && r.Via.To4() == nil {
		r.Dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	if r.Via != nil && (r.Via.To4() == nil) != (r.Dst.IP.To4() == nil) {
		return p.errf(n, "%s: via %s and to %s are of different address families", field, r.Via, r.Dst)
	}
	c.Routes = append(c.Routes, r)
	return nil
}

func (p *ncParser) destination(field string, n *yaml.Node) (*net.IPNet, error) {
	if n.Value == "default" {
		return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}, nil
	}
	s := n.Value
	if !strings.Contains(s, "/") {
		if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
			s += "/32"
		} else {
			s += "/128"
		}
	}
	_, dst, err := net.ParseCIDR(s)
	if err != nil || n.Kind != yaml.ScalarNode {
		return nil, p.errf(n, "%s.to: %q is not default, an address or a prefix", field, n.Value)
	}
	return dst, nil
}

func (p *ncParser) ip(field string, n *yaml.Node, want4 bool) (net.IP, error) {
	ip := net.ParseIP(n.Value)
	if ip == nil || n.Kind != yaml.ScalarNode {
		return nil, p.errf(n, "%s: %q is not an IP address", field, n.Value)
	}
	if v4 := ip.To4(); v4 != nil {
		return v4, nil
	}
	if want4 {
		return nil, p.errf(n, "%s: %s is not an IPv4 address", field, n.Value)
	}
	return ip, nil
}

func (p *ncParser) list(field string, n *yaml.Node, each func(*yaml.Node) error) error {
	if n.Kind != yaml.SequenceNode {
		return p.errf(n, "%s: want a list", field)
	}
	for _, item := range n.Content {
		if err := each(item); err != nil {
			return err
		}
	}
	return nil
}

func (p *ncParser) boolean(field string, n *yaml.Node) (bool, error) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		return false, p.errf(n, "%s: %q is not true or false", field, n.Value)
	}
	return b, nil
}

func (p *ncParser) integer(field string, n *yaml.Node, lo, hi int) (int, error) {
	v, err := strconv.Atoi(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode || v < lo || v > hi {
		return 0, p.errf(n, "%s: %q is not a number from %d to %d", field, n.Value, lo, hi)
	}
	return v, nil
}

func (p *ncParser) str(field string, n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		return "", p.errf(n, "%s: want a non-empty string", field)
	}
	return n.Value, nil
}
