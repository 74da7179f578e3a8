package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Default output files.
const (
	defaultResolvConf = "/run/resolvconf/resolv.conf"
	defaultNTPFile    = "/run/dhcpcd/ntp-servers"
	// metadataHostname is where the metadata package writes the host name it found; when
	// it exists the DHCP host name option is ignored.
	metadataHostname = "/run/config/hostname"
)

// resolverInfo is what one link contributes to resolv.conf and the NTP servers' file.
type resolverInfo struct {
	DNS    []net.IP
	Search []string
	NTP    []net.IP
}

// outputs merges the resolver settings of every link into resolv.conf and the NTP file.
type outputs struct {
	resolvConf, ntpFile string

	mu    sync.Mutex
	links map[string]resolverInfo
}

func newOutputs(resolvConf, ntpFile string) *outputs {
	return &outputs{resolvConf: resolvConf, ntpFile: ntpFile, links: map[string]resolverInfo{}}
}

// set records link's settings and rewrites both files when what they hold changes.
func (o *outputs) set(link string, info resolverInfo) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.links[link] = info
	var all []resolverInfo
	names := make([]string, 0, len(o.links))
	for name := range o.links {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		all = append(all, o.links[name])
	}
	if err := writeIfChanged(o.resolvConf, renderResolvConf(all)); err != nil {
		return err
	}
	var ntp []net.IP
	for _, info := range all {
		ntp = appendNewIPs(ntp, info.NTP...)
	}
	if len(ntp) == 0 {
		return nil
	}
	return writeIfChanged(o.ntpFile, []byte(joinIPs(ntp, "\n")+"\n"))
}

// renderResolvConf renders the resolver configuration of links, in order: each name
// server once (the C library reads at most three) and one search line with each domain
// once.
func renderResolvConf(links []resolverInfo) []byte {
	var dns []net.IP
	var search []string
	for _, l := range links {
		dns = appendNewIPs(dns, l.DNS...)
		for _, s := range l.Search {
			if !slices.Contains(search, s) {
				search = append(search, s)
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("# written by keel/dhcpcd\n")
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	for _, ip := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", ip)
	}
	return b.Bytes()
}

func appendNewIPs(list []net.IP, ips ...net.IP) []net.IP {
	for _, ip := range ips {
		if ip == nil || slices.ContainsFunc(list, ip.Equal) {
			continue
		}
		list = append(list, ip)
	}
	return list
}

// writeIfChanged writes data to name, creating the directory, unless name holds data
// already: a renewal that changes nothing leaves the file alone. A file that exists is
// rewritten in place, in one write: PID 1 binds resolv.conf into the net: host containers,
// and a bind holds the inode, so a file renamed over it would never reach a container that
// started before the lease. A new file is written atomically (a temporary file renamed).
func writeIfChanged(name string, data []byte) error {
	old, err := os.ReadFile(name)
	if err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err == nil {
		if st, serr := os.Lstat(name); serr == nil && st.Mode().IsRegular() {
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			_, err = f.Write(data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			return nil
		}
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
