package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// Data is what a provider found.
type Data struct {
	Provider      string            // written to /run/config/provider
	UserData      []byte            // nil: none
	Hostname      string            // the provider's name for the machine
	SSHKeys       []string          // authorized_keys lines
	Facts         map[string]string // file name below /run/config → value (instance_id, ...)
	NetworkConfig []byte            // NoCloud network-config, nil: none
}

// errAbsent marks a provider that is not there: the next one is tried.
var errAbsent = errors.New("not present")

type provider interface {
	name() string
	fetch(ctx context.Context) (*Data, error)
}

// env is what providers reach the machine through; tests point it elsewhere.
type env struct {
	client   *http.Client
	urls     map[string]string // provider name → base URL
	timeout  time.Duration     // per HTTP provider
	sys      string            // sysfs root, "/sys"
	dev      string            // device directory, "/dev"
	cmdline  string            // "/proc/cmdline"
	mountDir string            // where volumes are mounted for reading ("" = os.TempDir)
	mount    func(dev, dir, fstype string) error
	unmount  func(dir string) error
	// privPort dials from a port below 1024 when true (Scaleway's user data needs it).
	privPort bool
	log      *log.Logger
}

// defaultOrder is tried when no provider is named: local sources first (they cost no
// timeout), then clouds; OpenStack before AWS, as OpenStack also serves AWS's paths.
var defaultOrder = []string{
	"cidata", "cdrom", "fwcfg", "cmdline",
	"openstack", "aws", "gcp", "azure", "digitalocean", "hetzner", "vultr", "scaleway", "equinixmetal",
}

// defaultURLs are the providers' metadata services. GCP and Equinix are named by address
// where a name would need DNS, which the machine may not have yet.
var defaultURLs = map[string]string{
	"aws":          "http://169.254.169.254",
	"gcp":          "http://169.254.169.254",
	"azure":        "http://169.254.169.254",
	"digitalocean": "http://169.254.169.254",
	"hetzner":      "http://169.254.169.254",
	"openstack":    "http://169.254.169.254",
	"vultr":        "http://169.254.169.254",
	"scaleway":     "http://169.254.42.42",
	"equinixmetal": "https://metadata.platformequinix.com",
}

// newProvider makes the provider an argument names: a name of defaultOrder, "packet" (LinuxKit's
// name for Equinix Metal) or file=PATH.
func newProvider(arg string, e *env) (provider, error) {
	if p, ok := strings.CutPrefix(arg, "file="); ok {
		if p == "" {
			return nil, fmt.Errorf("provider %q: no path", arg)
		}
		return fileProvider{path: p}, nil
	}
	if arg == "packet" {
		arg = "equinixmetal"
	}
	switch arg {
	case "cidata":
		return cidataProvider{e}, nil
	case "cdrom":
		return cdromProvider{e}, nil
	case "fwcfg":
		return fwcfgProvider{e}, nil
	case "cmdline":
		return cmdlineProvider{e}, nil
	}
	fetch, ok := httpFetchers[arg]
	if !ok {
		return nil, fmt.Errorf("provider %q: want one of %s, file=PATH", arg, strings.Join(defaultOrder, ", "))
	}
	base := e.urls[arg]
	if base == "" {
		base = defaultURLs[arg]
	}
	return httpProvider{id: arg, base: strings.TrimSuffix(base, "/"), e: e, fetchFn: fetch}, nil
}

// urlsFromEnv reads METADATA_URL_<NAME> (METADATA_URL_AWS=http://127.0.0.1:8080).
func urlsFromEnv() map[string]string {
	urls := map[string]string{}
	for name := range defaultURLs {
		if v := os.Getenv("METADATA_URL_" + strings.ToUpper(name)); v != "" {
			urls[name] = v
		}
	}
	return urls
}

// probe tries the providers in order and returns the first that answers. A network provider
// whose address gave no HTTP answer is not asked again under another provider's name: many
// share 169.254.169.254, and a machine outside a cloud would wait for each in turn.
func probe(ctx context.Context, providers []provider, logger *log.Logger) (provider, *Data) {
	dead := map[string]bool{}
	for _, p := range providers {
		ep, hasEndpoint := p.(interface{ endpoint() string })
		if hasEndpoint && dead[ep.endpoint()] {
			logger.Printf("%s: skipped: %s did not answer", p.name(), ep.endpoint())
			continue
		}
		start := time.Now()
		d, err := p.fetch(ctx)
		var unreachable *unreachableError
		switch {
		case err == nil:
			logger.Printf("%s: found in %s", p.name(), time.Since(start).Round(time.Millisecond))
			return p, d
		case errors.Is(err, errAbsent):
			logger.Printf("%s: %v", p.name(), err)
			if hasEndpoint && errors.As(err, &unreachable) {
				dead[ep.endpoint()] = true
			}
		default:
			logger.Printf("%s: answered but failed: %v", p.name(), err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, nil
}

// apply writes d into c: facts, network-config, the raw user data, the hostname, the ssh
// keys, what the user data asks for, and last the provider's name, so its presence means the
// tree is complete. Errors in user data are logged; only failures to write the raw user data or
// the provider's name are returned.
func apply(c *configDir, d *Data, setHostname func(string) error, logger *log.Logger) error {
	var uc userConfig
	if d.UserData != nil {
		var errs []error
		uc, errs = parseUserData(d.UserData)
		for _, err := range errs {
			logger.Print(err)
		}
	}
	try := func(err error) {
		if err != nil {
			logger.Print(err)
		}
	}
	keys := make([]string, 0, len(d.Facts))
	for k := range d.Facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		try(c.writeFile(k, []byte(d.Facts[k]), 0o644))
	}
	if d.NetworkConfig != nil {
		try(c.writeFile("network-config", d.NetworkConfig, 0o644))
	}
	var fatal error
	if d.UserData != nil {
		fatal = c.writeFile("userdata", d.UserData, 0o644)
	}
	host := d.Hostname
	if uc.hostname != "" {
		host = uc.hostname
	}
	if host = normalizeHostname(host); host != "" {
		if err := validHostname(host); err != nil {
			logger.Print(err)
		} else {
			try(c.writeFile("hostname", []byte(host), 0o644))
		}
	}
	if lines := authorizedKeys(append(append([]string(nil), d.SSHKeys...), uc.sshKeys...)); len(lines) > 0 {
		try(c.mkdirAll("ssh", 0o755))
		try(c.writeFile("ssh/authorized_keys", []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	}
	written := 0
	for _, op := range uc.ops {
		var err error
		if op.dir {
			err = c.mkdirAll(op.name, op.perm)
		} else {
			err = c.writeFile(op.name, op.data, op.perm)
		}
		if err != nil {
			logger.Printf("user data: %v", err)
			continue
		}
		written++
	}
	if uc.format != "" {
		logger.Printf("user data: %s, %d of %d entries written", uc.format, written, len(uc.ops))
	}
	if err := c.writeFile("provider", []byte(d.Provider), 0o644); err != nil && fatal == nil {
		fatal = err
	}
	// The hostname file may come from the JSON tree too, as with LinuxKit.
	if h, err := c.readFile("hostname"); err == nil {
		name := normalizeHostname(string(h))
		switch err := validHostname(name); {
		case err != nil:
			logger.Print(err)
		default:
			if err := setHostname(name); err != nil {
				logger.Printf("set hostname %s: %v", name, err)
			} else {
				logger.Printf("hostname %s", name)
			}
		}
	}
	return fatal
}

// normalizeHostname trims space and, for a name longer than sethostname takes, keeps its
// first label (clouds hand out long FQDNs).
func normalizeHostname(h string) string {
	h = strings.TrimSuffix(strings.TrimSpace(h), ".")
	if len(h) > 64 {
		h, _, _ = strings.Cut(h, ".")
	}
	return h
}

// authorizedKeys keeps the non-empty, non-comment lines once each, in order.
func authorizedKeys(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		for _, line := range strings.Split(k, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || seen[line] {
				continue
			}
			seen[line] = true
			out = append(out, line)
		}
	}
	return out
}
