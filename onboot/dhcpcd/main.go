// Command dhcpcd is Keel's network configuration: DHCPv4 on every ethernet link (or the
// links named as arguments), or the static configuration of a cloud-init network-config
// (version 2) file. It writes the name servers to /run/resolvconf/resolv.conf and the
// NTP servers to /run/dhcpcd/ntp-servers.
//
// With -1 it configures each link once and exits (an onboot container); without it, it
// keeps the leases as a service: renews at T1, rebinds at T2, discovers again when a
// lease expires, and releases the leases on SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

type options struct {
	once         bool
	renewAfter   time.Duration
	timeout      time.Duration
	configFile   string
	resolvConf   string
	ntpFile      string
	hostnameFile string
	dhcpv6       bool
	links        []string
}

func logf(format string, args ...any) { log.Printf(format, args...) }

func main() {
	log.SetFlags(0)
	log.SetPrefix("dhcpcd: ")
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "dhcpcd: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{hostnameFile: metadataHostname}
	fs := flag.NewFlagSet("dhcpcd", flag.ContinueOnError)
	fs.BoolVar(&o.once, "1", false, "configure each link once and exit")
	fs.DurationVar(&o.renewAfter, "renew-after", 0, "renew leases after this long instead of at the server's T1 (for tests)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "with -1: how long to wait for the leases")
	fs.BoolVar(&o.dhcpv6, "dhcpv6", true, "as a service, also ask DHCPv6 servers for name servers (stateless)")
	fs.StringVar(&o.configFile, "config", "", "a cloud-init network-config (version 2) file (default, when no links are named: the first of /run/config/network-config, /etc/keel/network.yml that exists; else DHCP)")
	fs.StringVar(&o.resolvConf, "resolv-conf", defaultResolvConf, "the resolv.conf to write")
	fs.StringVar(&o.ntpFile, "ntp-servers", defaultNTPFile, "the file to write the NTP servers to, one a line")
	// LinuxKit's dhcpcd command line ([/sbin/dhcpcd, --nobackground, -f, /dhcpcd.conf, -1])
	// works: this dhcpcd never forks and has no configuration file of that format.
	fs.Bool("nobackground", false, "accepted for LinuxKit's command line; dhcpcd always stays in the foreground")
	fs.String("f", "", "accepted for LinuxKit's command line; the dhcpcd.conf file is not read")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.links = fs.Args()
	return o, nil
}

// run configures the network as opts say and, without -1, keeps the leases until ctx ends.
func run(ctx context.Context, opts *options) error {
	var cfg *networkConfig
	// Links named as arguments get DHCP; only -config adds a static file then.
	if len(opts.links) == 0 || opts.configFile != "" {
		var err error
		if cfg, err = findNetworkConfig(opts.configFile); err != nil {
			return err
		}
	}
	all, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	var jobs []*dhcpLink
	out := newOutputs(opts.resolvConf, opts.ntpFile)
	var errs []error
	if cfg != nil {
		logf("configuring from %s", cfg.File)
		for _, w := range cfg.Warnings {
			logf("%s", w)
		}
		jobs, errs = configureStatic(cfg, all, out, opts)
	} else {
		links, err := selectLinks(opts.links, all)
		if err != nil {
			return err
		}
		if len(links) == 0 {
			return errors.New("no ethernet links")
		}
		for _, l := range links {
			if err := linkUp(l, true); err != nil {
				errs = append(errs, err)
				continue
			}
			jobs = append(jobs, &dhcpLink{link: l, name: l.Attrs().Name, ask6: opts.dhcpv6, out: out, opts: opts})
		}
	}

	if opts.once {
		octx, cancel := context.WithTimeout(ctx, opts.timeout)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() {
				defer j.close()
				if err := j.acquire(octx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: no lease within %s", j.name, opts.timeout))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for _, err := range errs {
		logf("%v", err)
	}
	if len(jobs) == 0 {
		// Static only: nothing to keep. A service stays up, so restart: always does
		// not loop on it.
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { j.keep(ctx) })
	}
	wg.Wait()
	return nil
}

// findNetworkConfig loads the network-config file: name, else the first default file
// that exists; nil when there is none (DHCP on every ethernet link).
func findNetworkConfig(name string) (*networkConfig, error) {
	names := defaultConfigFiles
	if name != "" {
		names = []string{name}
	}
	for _, n := range names {
		cfg, found, err := loadNetworkConfig(n)
		if err != nil {
			return nil, err
		}
		if found {
			return cfg, nil
		}
		if name != "" {
			return nil, fmt.Errorf("network config %s: no such file", name)
		}
	}
	return nil, nil
}

// selectLinks are the links named, or every ethernet link.
func selectLinks(names []string, all []netlink.Link) ([]netlink.Link, error) {
	if len(names) == 0 {
		var out []netlink.Link
		for _, l := range all {
			if isEthernet(l.Type(), l.Attrs()) {
				out = append(out, l)
			}
		}
		return out, nil
	}
	var out []netlink.Link
	for _, n := range names {
		l, err := findLink(iface{Name: n}, all)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// configureStatic applies the static entries of cfg and returns the DHCP jobs of the
// entries with dhcp4: true.
func configureStatic(cfg *networkConfig, all []netlink.Link, out *outputs, opts *options) ([]*dhcpLink, []error) {
	var jobs []*dhcpLink
	var errs []error
	entries := append(append([]iface(nil), cfg.Ethernets...), cfg.Vlans...)
	for i, ifc := range entries {
		at := fmt.Sprintf("%s:%d: ", cfg.File, ifc.Line)
		var l netlink.Link
		var err error
		if i < len(cfg.Ethernets) {
			l, err = findLink(ifc, all)
		} else {
			l, err = ensureVlan(ifc, all)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%w", at, err))
			continue
		}
		name := l.Attrs().Name
		if err := linkUp(l, ifc.AcceptRA == nil || *ifc.AcceptRA); err != nil {
			errs = append(errs, err)
			continue
		}
		if ifc.DHCP4 {
			jobs = append(jobs, &dhcpLink{link: l, name: name, static: ifc.Static, ask6: ifc.DHCP6 && opts.dhcpv6, out: out, opts: opts})
			continue
		}
		if err := applyConfig(l, ifc.Static, linkConfig{}, netlink.RouteProtocol(4)); err != nil { // RTPROT_STATIC
			errs = append(errs, err)
		}
		if err := out.set(name, resolverInfo{DNS: ifc.Static.DNS, Search: ifc.Static.Search}); err != nil {
			errs = append(errs, err)
		}
		logf("%s: configured %s%s", name, ifc.Static.addrString(), ifc.Static.details())
	}
	return jobs, errs
}
