package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// httpProvider is a cloud's metadata service at base.
type httpProvider struct {
	id      string
	base    string
	e       *env
	fetchFn func(ctx context.Context, g *getter) (*Data, error)
}

func (p httpProvider) name() string { return p.id }

// endpoint is the service's address: providers sharing one that did not answer are skipped.
func (p httpProvider) endpoint() string { return p.base }

// unreachableError is a request that got no HTTP answer (no route, refused, timed out).
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

func (p httpProvider) fetch(ctx context.Context) (*Data, error) {
	timeout := p.e.timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	// Every request of a provider shares its timeout: one that hangs costs no more.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return p.fetchFn(ctx, &getter{client: p.e.client, base: p.base, privPort: p.e.privPort})
}

// httpFetchers read one provider's service each.
var httpFetchers = map[string]func(context.Context, *getter) (*Data, error){
	"aws":          fetchAWS,
	"gcp":          fetchGCP,
	"azure":        fetchAzure,
	"digitalocean": fetchDigitalOcean,
	"hetzner":      fetchHetzner,
	"openstack":    fetchOpenStack,
	"vultr":        fetchVultr,
	"scaleway":     fetchScaleway,
	"equinixmetal": fetchEquinix,
}

// statusError is an HTTP answer other than 200.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: status %d", e.url, e.code) }

func isStatus(err error, codes ...int) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.code == c {
			return true
		}
	}
	return false
}

type getter struct {
	client   *http.Client
	base     string
	header   http.Header
	check    func(*http.Response) error // refuses an answer from another service
	privPort bool
}

// do sends one request and returns the body of a 200 answer, at most limit bytes.
func (g *getter) do(ctx context.Context, method, p string, header http.Header, limit int64) ([]byte, error) {
	url := g.base + p
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range g.header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := g.client
	if g.privPort {
		client = privilegedClient(client)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &unreachableError{err}
	}
	defer resp.Body.Close()
	if g.check != nil {
		if err := g.check(resp); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &statusError{url: url, code: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s %s: more than %d bytes", method, url, limit)
	}
	return body, nil
}

func (g *getter) get(ctx context.Context, p string) ([]byte, error) {
	return g.do(ctx, http.MethodGet, p, nil, maxUserData)
}

// first fetches the document that tells whether the provider is there: any failure means
// it is not.
func (g *getter) first(ctx context.Context, p string) ([]byte, error) {
	b, err := g.get(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errAbsent, err)
	}
	return b, nil
}

// optional fetches a document that may be missing (404: nil, nil).
func (g *getter) optional(ctx context.Context, p string) ([]byte, error) {
	b, err := g.get(ctx, p)
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	return b, err
}

// fact fetches a short value, trimmed; "" when missing or failing.
func (g *getter) fact(ctx context.Context, p string) string {
	b, err := g.do(ctx, http.MethodGet, p, nil, maxFact)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func facts(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := strings.TrimSpace(kv[i+1]); v != "" {
			m[kv[i]] = v
		}
	}
	return m
}

// fetchAWS follows IMDSv2: a session token from PUT /latest/api/token, sent with every
// request and renewed once when refused (expired); when the token call itself is refused
// (403, 404, 405: IMDSv1 only, or an OpenStack-like service) it reads without one.
func fetchAWS(ctx context.Context, g *getter) (*Data, error) {
	const ttlHeader, tokenHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "X-Aws-Ec2-Metadata-Token"
	token := func() (string, error) {
		b, err := g.do(ctx, http.MethodPut, "/latest/api/token", http.Header{ttlHeader: {"21600"}}, maxFact)
		switch {
		case isStatus(err, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed):
			return "", nil
		case err != nil:
			return "", fmt.Errorf("%w: %w", errAbsent, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	tok, err := token()
	if err != nil {
		return nil, err
	}
	get := func(p string, limit int64) ([]byte, error) {
		h := http.Header{}
		if tok != "" {
			h.Set(tokenHeader, tok)
		}
		b, err := g.do(ctx, http.MethodGet, p, h, limit)
		if tok != "" && isStatus(err, http.StatusUnauthorized) {
			if tok, err = token(); err != nil {
				return nil, err
			}
			h.Set(tokenHeader, tok)
			b, err = g.do(ctx, http.MethodGet, p, h, limit)
		}
		return b, err
	}
	meta := func(p string) string {
		b, err := get("/latest/meta-data/"+p, maxFact)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	host, err := get("/latest/meta-data/hostname", maxFact)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errAbsent, err)
	}
	d := &Data{Provider: "AWS", Hostname: strings.TrimSpace(string(host)), Facts: facts(
		"instance_id", meta("instance-id"),
		"instance_type", meta("instance-type"),
		"local_hostname", meta("local-hostname"),
		"local_ipv4", meta("local-ipv4"),
		"public_ipv4", meta("public-ipv4"),
		"availability_zone", meta("placement/availability-zone"),
		"region", meta("placement/region"),
	)}
	if k := meta("public-keys/0/openssh-key"); k != "" {
		d.SSHKeys = []string{k}
	}
	ud, err := get("/latest/user-data", maxUserData)
	switch {
	case isStatus(err, http.StatusNotFound):
	case err != nil:
		return nil, fmt.Errorf("user-data: %w", err)
	default:
		d.UserData = ud
	}
	return d, nil
}

// fetchGCP sends Metadata-Flavor: Google and believes only answers that carry it back.
func fetchGCP(ctx context.Context, g *getter) (*Data, error) {
	g.header = http.Header{"Metadata-Flavor": {"Google"}}
	g.check = func(r *http.Response) error {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			return errors.New("answer lacks Metadata-Flavor: Google")
		}
		return nil
	}
	const inst = "/computeMetadata/v1/instance/"
	host, err := g.first(ctx, inst+"hostname")
	if err != nil {
		return nil, err
	}
	last := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	zone := last(g.fact(ctx, inst+"zone")) // projects/N/zones/us-central1-a
	region := ""
	if i := strings.LastIndex(zone, "-"); i > 0 {
		region = zone[:i]
	}
	d := &Data{Provider: "GCP", Hostname: strings.TrimSpace(string(host)), Facts: facts(
		"instance_id", g.fact(ctx, inst+"id"),
		"instance_type", last(g.fact(ctx, inst+"machine-type")),
		"local_ipv4", g.fact(ctx, inst+"network-interfaces/0/ip"),
		"public_ipv4", g.fact(ctx, inst+"network-interfaces/0/access-configs/0/external-ip"),
		"availability_zone", zone,
		"region", region,
	)}
	// "user:key" lines, project-wide and the instance's own; the user goes (one root file).
	for _, p := range []string{"/computeMetadata/v1/project/attributes/ssh-keys", inst + "attributes/ssh-keys"} {
		for _, line := range strings.Split(g.fact(ctx, p), "\n") {
			if _, key, ok := strings.Cut(line, ":"); ok {
				d.SSHKeys = append(d.SSHKeys, strings.TrimSpace(key))
			}
		}
	}
	// LinuxKit's attribute first, then cloud-init's.
	for _, attr := range []string{"userdata", "user-data"} {
		ud, err := g.optional(ctx, inst+"attributes/"+attr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", attr, err)
		}
		if ud != nil {
			d.UserData = ud
			break
		}
	}
	return d, nil
}

// azureAPIVersion is the IMDS version whose instance document carries userData.
const azureAPIVersion = "2021-02-01"

type azureInstance struct {
	Compute struct {
		Name      string `json:"name"`
		VMID      string `json:"vmId"`
		Location  string `json:"location"`
		Zone      string `json:"zone"`
		VMSize    string `json:"vmSize"`
		UserData  string `json:"userData"` // base64
		OSProfile struct {
			ComputerName string `json:"computerName"`
		} `json:"osProfile"`
		PublicKeys []struct {
			KeyData string `json:"keyData"`
		} `json:"publicKeys"`
	} `json:"compute"`
	Network struct {
		Interface []struct {
			IPv4 struct {
				IPAddress []struct {
					Private string `json:"privateIpAddress"`
					Public  string `json:"publicIpAddress"`
				} `json:"ipAddress"`
			} `json:"ipv4"`
		} `json:"interface"`
	} `json:"network"`
}

// fetchAzure reads IMDS's instance document (Metadata: true, api-version).
func fetchAzure(ctx context.Context, g *getter) (*Data, error) {
	g.header = http.Header{"Metadata": {"true"}}
	b, err := g.first(ctx, "/metadata/instance?api-version="+azureAPIVersion)
	if err != nil {
		return nil, err
	}
	var doc azureInstance
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: instance document: %v", errAbsent, err)
	}
	c := doc.Compute
	if c.VMID == "" {
		return nil, fmt.Errorf("%w: instance document without compute.vmId", errAbsent)
	}
	host := c.OSProfile.ComputerName
	if host == "" {
		host = c.Name
	}
	var private, public string
	if ifs := doc.Network.Interface; len(ifs) > 0 && len(ifs[0].IPv4.IPAddress) > 0 {
		private, public = ifs[0].IPv4.IPAddress[0].Private, ifs[0].IPv4.IPAddress[0].Public
	}
	d := &Data{Provider: "Azure", Hostname: host, Facts: facts(
		"instance_id", c.VMID,
		"instance_type", c.VMSize,
		"region", c.Location,
		"availability_zone", c.Zone,
		"local_ipv4", private,
		"public_ipv4", public,
	)}
	for _, k := range c.PublicKeys {
		d.SSHKeys = append(d.SSHKeys, k.KeyData)
	}
	if c.UserData != "" {
		ud, err := base64.StdEncoding.DecodeString(c.UserData)
		if err != nil {
			return nil, fmt.Errorf("compute.userData: %w", err)
		}
		d.UserData = ud
	}
	return d, nil
}

type doAddr struct {
	IPv4 struct {
		Address string `json:"ip_address"`
	} `json:"ipv4"`
}

// fetchDigitalOcean reads the droplet's one JSON document.
func fetchDigitalOcean(ctx context.Context, g *getter) (*Data, error) {
	b, err := g.first(ctx, "/metadata/v1.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		DropletID  json.Number `json:"droplet_id"`
		Hostname   string      `json:"hostname"`
		Region     string      `json:"region"`
		PublicKeys []string    `json:"public_keys"`
		UserData   *string     `json:"user_data"`
		Interfaces struct {
			Public  []doAddr `json:"public"`
			Private []doAddr `json:"private"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.DropletID == "" {
		return nil, fmt.Errorf("%w: metadata/v1.json: not a droplet document (%v)", errAbsent, err)
	}
	var public, private string
	if len(doc.Interfaces.Public) > 0 {
		public = doc.Interfaces.Public[0].IPv4.Address
	}
	if len(doc.Interfaces.Private) > 0 {
		private = doc.Interfaces.Private[0].IPv4.Address
	}
	d := &Data{Provider: "DigitalOcean", Hostname: doc.Hostname, SSHKeys: doc.PublicKeys, Facts: facts(
		"instance_id", doc.DropletID.String(), "region", doc.Region, "public_ipv4", public, "local_ipv4", private,
	)}
	if doc.UserData != nil {
		d.UserData = []byte(*doc.UserData)
	}
	return d, nil
}

// fetchHetzner reads the YAML metadata document and the user data.
func fetchHetzner(ctx context.Context, g *getter) (*Data, error) {
	b, err := g.first(ctx, "/hetzner/v1/metadata")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Hostname   string   `yaml:"hostname"`
		InstanceID string   `yaml:"instance-id"`
		PublicIPv4 string   `yaml:"public-ipv4"`
		Region     string   `yaml:"region"`
		Zone       string   `yaml:"availability-zone"`
		PublicKeys []string `yaml:"public-keys"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil || doc.InstanceID == "" {
		return nil, fmt.Errorf("%w: hetzner/v1/metadata: not a server document (%v)", errAbsent, err)
	}
	d := &Data{Provider: "Hetzner", Hostname: doc.Hostname, SSHKeys: doc.PublicKeys, Facts: facts(
		"instance_id", doc.InstanceID, "public_ipv4", doc.PublicIPv4, "region", doc.Region, "availability_zone", doc.Zone,
	)}
	if d.UserData, err = g.optional(ctx, "/hetzner/v1/userdata"); err != nil {
		return nil, fmt.Errorf("userdata: %w", err)
	}
	return d, nil
}

// fetchOpenStack reads meta_data.json, and the addresses from the EC2-compatible paths.
func fetchOpenStack(ctx context.Context, g *getter) (*Data, error) {
	b, err := g.first(ctx, "/openstack/latest/meta_data.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		UUID       string            `json:"uuid"`
		Hostname   string            `json:"hostname"`
		Name       string            `json:"name"`
		Zone       string            `json:"availability_zone"`
		PublicKeys map[string]string `json:"public_keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.UUID == "" {
		return nil, fmt.Errorf("%w: meta_data.json: no uuid (%v)", errAbsent, err)
	}
	host := doc.Hostname
	if host == "" {
		host = doc.Name
	}
	d := &Data{Provider: "openstack", Hostname: host, Facts: facts(
		"instance_id", doc.UUID,
		"availability_zone", doc.Zone,
		"instance_type", g.fact(ctx, "/latest/meta-data/instance-type"),
		"local_ipv4", g.fact(ctx, "/latest/meta-data/local-ipv4"),
		"public_ipv4", g.fact(ctx, "/latest/meta-data/public-ipv4"),
	)}
	for _, name := range sortedKeys(doc.PublicKeys) {
		d.SSHKeys = append(d.SSHKeys, doc.PublicKeys[name])
	}
	if d.UserData, err = g.optional(ctx, "/openstack/latest/user_data"); err != nil {
		return nil, fmt.Errorf("user_data: %w", err)
	}
	return d, nil
}

// fetchVultr reads v1.json and the user data.
func fetchVultr(ctx context.Context, g *getter) (*Data, error) {
	b, err := g.first(ctx, "/v1.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Hostname   string   `json:"hostname"`
		InstanceID string   `json:"instanceid"`
		PublicKeys []string `json:"public-keys"`
		Region     struct {
			Code string `json:"regioncode"`
		} `json:"region"`
		Interfaces []struct {
			Type string `json:"network-type"`
			IPv4 struct {
				Address string `json:"address"`
			} `json:"ipv4"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.InstanceID == "" {
		return nil, fmt.Errorf("%w: v1.json: no instanceid (%v)", errAbsent, err)
	}
	var public, private string
	for _, i := range doc.Interfaces {
		switch {
		case i.Type == "public" && public == "":
			public = i.IPv4.Address
		case i.Type == "private" && private == "":
			private = i.IPv4.Address
		}
	}
	d := &Data{Provider: "Vultr", Hostname: doc.Hostname, SSHKeys: doc.PublicKeys, Facts: facts(
		"instance_id", doc.InstanceID, "region", doc.Region.Code, "public_ipv4", public, "local_ipv4", private,
	)}
	if d.UserData, err = g.optional(ctx, "/latest/user-data"); err != nil {
		return nil, fmt.Errorf("user-data: %w", err)
	}
	return d, nil
}

// fetchScaleway reads /conf; its user data answers only requests from a port below 1024.
func fetchScaleway(ctx context.Context, g *getter) (*Data, error) {
	b, err := g.first(ctx, "/conf?format=json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		Type     string `json:"commercial_type"`
		Private  string `json:"private_ip"`
		PublicIP struct {
			Address string `json:"address"`
		} `json:"public_ip"`
		Location struct {
			Zone string `json:"zone_id"`
		} `json:"location"`
		SSHKeys []struct {
			Key string `json:"key"`
		} `json:"ssh_public_keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.ID == "" {
		return nil, fmt.Errorf("%w: conf: no id (%v)", errAbsent, err)
	}
	d := &Data{Provider: "Scaleway", Hostname: doc.Hostname, Facts: facts(
		"instance_id", doc.ID, "instance_type", doc.Type, "local_ipv4", doc.Private,
		"public_ipv4", doc.PublicIP.Address, "availability_zone", doc.Location.Zone,
	)}
	for _, k := range doc.SSHKeys {
		d.SSHKeys = append(d.SSHKeys, k.Key)
	}
	ug := *g
	ug.privPort = true
	if d.UserData, err = ug.optional(ctx, "/user_data/cloud-init"); err != nil {
		return nil, fmt.Errorf("user_data: %w", err)
	}
	return d, nil
}

// fetchEquinix reads Equinix Metal's (formerly Packet's) metadata document.
func fetchEquinix(ctx context.Context, g *getter) (*Data, error) {
	b, err := g.first(ctx, "/metadata")
	if err != nil {
		return nil, err
	}
	var doc struct {
		ID       string   `json:"id"`
		Hostname string   `json:"hostname"`
		Plan     string   `json:"plan"`
		Facility string   `json:"facility"`
		Metro    string   `json:"metro"`
		SSHKeys  []string `json:"ssh_keys"`
		Network  struct {
			Addresses []struct {
				Family  int    `json:"address_family"`
				Public  bool   `json:"public"`
				Address string `json:"address"`
			} `json:"addresses"`
		} `json:"network"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.ID == "" {
		return nil, fmt.Errorf("%w: metadata: no id (%v)", errAbsent, err)
	}
	var public, private string
	for _, a := range doc.Network.Addresses {
		switch {
		case a.Family == 4 && a.Public && public == "":
			public = a.Address
		case a.Family == 4 && !a.Public && private == "":
			private = a.Address
		}
	}
	d := &Data{Provider: "EquinixMetal", Hostname: doc.Hostname, SSHKeys: doc.SSHKeys, Facts: facts(
		"instance_id", doc.ID, "instance_type", doc.Plan, "availability_zone", doc.Facility,
		"region", doc.Metro, "public_ipv4", public, "local_ipv4", private,
	)}
	if d.UserData, err = g.optional(ctx, "/userdata"); err != nil {
		return nil, fmt.Errorf("userdata: %w", err)
	}
	return d, nil
}

// privilegedClient is c dialling from a random port in 512..1023; where that is not allowed
// (no CAP_NET_BIND_SERVICE) it dials from any port, and the service may refuse.
func privilegedClient(c *http.Client) *http.Client {
	base, _ := c.Transport.(*http.Transport)
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	t.DisableKeepAlives = true
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		for range 8 {
			port := 512 + rand.IntN(512)
			d := net.Dialer{LocalAddr: &net.TCPAddr{Port: port}}
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				return conn, nil
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				break
			}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	cc := *c
	cc.Transport = t
	return &cc
}
