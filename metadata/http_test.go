package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts a metadata service on 127.0.0.1 and returns the provider name pointed at it.
func serve(t *testing.T, name string, h http.HandlerFunc) provider {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{client: srv.Client(), urls: map[string]string{name: srv.URL, "equinixmetal": srv.URL}, timeout: 2 * time.Second, log: log.New(io.Discard, "", 0)}
	p, err := newProvider(name, e)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// routes answers the listed paths (with the query) with 200 and the body, others with 404.
func routes(m map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := m[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, body)
	}
}

func mustFetch(t *testing.T, p provider) *Data {
	t.Helper()
	d, err := p.fetch(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", p.name(), err)
	}
	return d
}

func wantFacts(t *testing.T, d *Data, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if got := d.Facts[kv[i]]; got != kv[i+1] {
			t.Errorf("%s = %q, want %q", kv[i], got, kv[i+1])
		}
	}
}

var awsMeta = map[string]string{
	"/latest/meta-data/hostname":                    "ip-10-0-0-5.ec2.internal",
	"/latest/meta-data/instance-id":                 "i-0abc",
	"/latest/meta-data/instance-type":               "t3.micro",
	"/latest/meta-data/local-ipv4":                  "10.0.0.5",
	"/latest/meta-data/public-ipv4":                 "203.0.113.7",
	"/latest/meta-data/local-hostname":              "ip-10-0-0-5.ec2.internal",
	"/latest/meta-data/placement/availability-zone": "eu-west-1a",
	"/latest/meta-data/placement/region":            "eu-west-1",
	"/latest/meta-data/public-keys/0/openssh-key":   "ssh-ed25519 AAAA key0",
	"/latest/user-data":                             "#cloud-config\nhostname: web\n",
}

// imds is an IMDSv2 service: tokens live for uses requests, then get 401.
type imds struct {
	puts, v1Gets atomic.Int32
	uses         int32
	tokenStatus  int // answer to PUT /latest/api/token other than 200
	left         atomic.Int32
}

func (s *imds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			http.Error(w, "PUT only", http.StatusMethodNotAllowed)
			return
		}
		s.puts.Add(1)
		if s.tokenStatus != 0 {
			http.Error(w, "no", s.tokenStatus)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "no ttl", http.StatusBadRequest)
			return
		}
		s.left.Store(s.uses)
		io.WriteString(w, "tok")
		return
	}
	switch tok := r.Header.Get("X-aws-ec2-metadata-token"); {
	case tok == "" && s.tokenStatus != 0:
		s.v1Gets.Add(1)
	case tok != "tok" || s.left.Add(-1) < 0:
		http.Error(w, "expired", http.StatusUnauthorized)
		return
	}
	routes(awsMeta)(w, r)
}

func TestAWSSendsTheSessionTokenAndReadsFactsKeysAndUserData(t *testing.T) {
	s := &imds{uses: 100}
	d := mustFetch(t, serve(t, "aws", s.ServeHTTP))
	if d.Provider != "AWS" || d.Hostname != "ip-10-0-0-5.ec2.internal" || string(d.UserData) != awsMeta["/latest/user-data"] {
		t.Errorf("provider %q hostname %q user data %q", d.Provider, d.Hostname, d.UserData)
	}
	wantFacts(t, d, "instance_id", "i-0abc", "instance_type", "t3.micro", "local_ipv4", "10.0.0.5",
		"public_ipv4", "203.0.113.7", "availability_zone", "eu-west-1a", "region", "eu-west-1",
		"local_hostname", "ip-10-0-0-5.ec2.internal")
	if len(d.SSHKeys) != 1 || d.SSHKeys[0] != "ssh-ed25519 AAAA key0" {
		t.Errorf("keys %q", d.SSHKeys)
	}
	if s.puts.Load() != 1 {
		t.Errorf("%d token requests, want 1", s.puts.Load())
	}
}

func TestAWSRenewsATokenThatExpired(t *testing.T) {
	s := &imds{uses: 3} // expires in the middle of the facts
	d := mustFetch(t, serve(t, "aws", s.ServeHTTP))
	if s.puts.Load() < 2 {
		t.Errorf("%d token requests: the expired token was not renewed", s.puts.Load())
	}
	wantFacts(t, d, "instance_id", "i-0abc", "region", "eu-west-1")
	if d.UserData == nil {
		t.Error("no user data after renewal")
	}
}

func TestAWSFallsBackToIMDSv1WhenTheTokenCallIsRefused(t *testing.T) {
	for _, code := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed} {
		s := &imds{tokenStatus: code}
		d := mustFetch(t, serve(t, "aws", s.ServeHTTP))
		if s.v1Gets.Load() == 0 || d.Facts["instance_id"] != "i-0abc" {
			t.Errorf("token status %d: %d tokenless requests, facts %v", code, s.v1Gets.Load(), d.Facts)
		}
	}
}

func TestAWSIsAbsentWhenTheTokenCallFailsOtherwise(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusInternalServerError} {
		s := &imds{tokenStatus: code}
		if _, err := serve(t, "aws", s.ServeHTTP).fetch(context.Background()); !errors.Is(err, errAbsent) {
			t.Errorf("token status %d: err %v, want errAbsent", code, err)
		}
	}
}

func TestAWSWithoutUserDataHasNone(t *testing.T) {
	m := map[string]string{}
	for k, v := range awsMeta {
		m[k] = v
	}
	delete(m, "/latest/user-data")
	d := mustFetch(t, serve(t, "aws", routes(m)))
	if d.UserData != nil {
		t.Errorf("user data %q", d.UserData)
	}
}

func gcpHandler(echo bool) http.HandlerFunc {
	const inst = "/computeMetadata/v1/instance/"
	m := map[string]string{
		inst + "hostname":                "vm1.c.proj.internal",
		inst + "id":                      "4242",
		inst + "zone":                    "projects/123/zones/us-central1-a",
		inst + "machine-type":            "projects/123/machineTypes/e2-small",
		inst + "network-interfaces/0/ip": "10.128.0.2",
		inst + "network-interfaces/0/access-configs/0/external-ip": "198.51.100.2",
		"/computeMetadata/v1/project/attributes/ssh-keys":          "alice:ssh-rsa AAAA alice\nbob:ssh-ed25519 BBBB bob",
		inst + "attributes/user-data":                              "plain user data",
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		if echo {
			w.Header().Set("Metadata-Flavor", "Google")
		}
		routes(m)(w, r)
	}
}

func TestGCPSendsMetadataFlavorAndReadsTheInstance(t *testing.T) {
	d := mustFetch(t, serve(t, "gcp", gcpHandler(true)))
	if d.Provider != "GCP" || d.Hostname != "vm1.c.proj.internal" || string(d.UserData) != "plain user data" {
		t.Errorf("provider %q hostname %q user data %q", d.Provider, d.Hostname, d.UserData)
	}
	wantFacts(t, d, "instance_id", "4242", "availability_zone", "us-central1-a", "region", "us-central1",
		"instance_type", "e2-small", "local_ipv4", "10.128.0.2", "public_ipv4", "198.51.100.2")
	if strings.Join(d.SSHKeys, "|") != "ssh-rsa AAAA alice|ssh-ed25519 BBBB bob" {
		t.Errorf("keys %q", d.SSHKeys)
	}
}

func TestGCPRefusesAnAnswerWithoutMetadataFlavor(t *testing.T) {
	if _, err := serve(t, "gcp", gcpHandler(false)).fetch(context.Background()); !errors.Is(err, errAbsent) {
		t.Errorf("err %v, want errAbsent", err)
	}
}

const azureDoc = `{"compute":{"name":"vm-a","vmId":"02aab8a4-74ef-476e-8182-f6d2ba4166a6","location":"westeurope",
"zone":"2","vmSize":"Standard_B1s","userData":"I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogYXp1cmUK",
"osProfile":{"adminUsername":"azureuser","computerName":"vm-a-host"},
"publicKeys":[{"keyData":"ssh-rsa AAAA azure","path":"/home/azureuser/.ssh/authorized_keys"}]},
"network":{"interface":[{"ipv4":{"ipAddress":[{"privateIpAddress":"10.1.0.4","publicIpAddress":"20.0.0.9"}]}}]}}`

func TestAzureReadsTheIMDSInstanceDocument(t *testing.T) {
	d := mustFetch(t, serve(t, "azure", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata") != "true" || r.URL.Path != "/metadata/instance" || r.URL.Query().Get("api-version") == "" {
			http.Error(w, `{"error":"Bad request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, azureDoc)
	}))
	if d.Provider != "Azure" || d.Hostname != "vm-a-host" || string(d.UserData) != "#cloud-config\nhostname: azure\n" {
		t.Errorf("provider %q hostname %q user data %q", d.Provider, d.Hostname, d.UserData)
	}
	wantFacts(t, d, "instance_id", "02aab8a4-74ef-476e-8182-f6d2ba4166a6", "region", "westeurope",
		"availability_zone", "2", "instance_type", "Standard_B1s", "local_ipv4", "10.1.0.4", "public_ipv4", "20.0.0.9")
	if len(d.SSHKeys) != 1 || d.SSHKeys[0] != "ssh-rsa AAAA azure" {
		t.Errorf("keys %q", d.SSHKeys)
	}
}

func TestAzureIsAbsentWithoutTheHeaderAnswer(t *testing.T) {
	p := serve(t, "azure", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"Required metadata header not specified"}`, http.StatusBadRequest)
	})
	if _, err := p.fetch(context.Background()); !errors.Is(err, errAbsent) {
		t.Errorf("err %v, want errAbsent", err)
	}
}

func TestDigitalOceanReadsTheDropletDocument(t *testing.T) {
	d := mustFetch(t, serve(t, "digitalocean", routes(map[string]string{"/metadata/v1.json": `{"droplet_id":2756294,
"hostname":"sample-droplet","region":"nyc3","public_keys":["ssh-rsa AAAA do"],"user_data":"hello",
"interfaces":{"public":[{"ipv4":{"ip_address":"104.131.20.105"}}],"private":[{"ipv4":{"ip_address":"10.132.255.113"}}]}}`})))
	if d.Hostname != "sample-droplet" || string(d.UserData) != "hello" || len(d.SSHKeys) != 1 {
		t.Errorf("%+v", d)
	}
	wantFacts(t, d, "instance_id", "2756294", "region", "nyc3", "public_ipv4", "104.131.20.105", "local_ipv4", "10.132.255.113")
}

func TestHetznerReadsTheYAMLDocumentAndUserData(t *testing.T) {
	d := mustFetch(t, serve(t, "hetzner", routes(map[string]string{
		"/hetzner/v1/metadata": "hostname: my-server\ninstance-id: 42\npublic-ipv4: 1.2.3.4\nregion: eu-central\navailability-zone: fsn1-dc14\npublic-keys:\n- ssh-ed25519 AAAA hetzner\n",
		"/hetzner/v1/userdata": "#!/bin/sh\n",
	})))
	if d.Hostname != "my-server" || string(d.UserData) != "#!/bin/sh\n" || len(d.SSHKeys) != 1 {
		t.Errorf("%+v", d)
	}
	wantFacts(t, d, "instance_id", "42", "public_ipv4", "1.2.3.4", "region", "eu-central", "availability_zone", "fsn1-dc14")
}

func TestOpenStackReadsMetaDataJSON(t *testing.T) {
	d := mustFetch(t, serve(t, "openstack", routes(map[string]string{
		"/openstack/latest/meta_data.json": `{"uuid":"d8e02d56","hostname":"os-1.novalocal","name":"os-1","availability_zone":"nova","public_keys":{"mykey":"ssh-rsa AAAA os"}}`,
		"/openstack/latest/user_data":      "data",
		"/latest/meta-data/local-ipv4":     "192.168.0.10",
	})))
	if d.Provider != "openstack" || d.Hostname != "os-1.novalocal" || string(d.UserData) != "data" || d.SSHKeys[0] != "ssh-rsa AAAA os" {
		t.Errorf("%+v", d)
	}
	wantFacts(t, d, "instance_id", "d8e02d56", "availability_zone", "nova", "local_ipv4", "192.168.0.10")
}

func TestVultrReadsV1JSON(t *testing.T) {
	d := mustFetch(t, serve(t, "vultr", routes(map[string]string{
		"/v1.json": `{"hostname":"vultr-guest","instanceid":"a747bfz6385e","public-keys":["ssh-rsa AAAA vultr"],"region":{"regioncode":"EWR"},
"interfaces":[{"ipv4":{"address":"45.76.1.2"},"network-type":"public"},{"ipv4":{"address":"10.1.96.3"},"network-type":"private"}]}`,
		"/latest/user-data": "ud",
	})))
	if d.Hostname != "vultr-guest" || string(d.UserData) != "ud" {
		t.Errorf("%+v", d)
	}
	wantFacts(t, d, "instance_id", "a747bfz6385e", "region", "EWR", "public_ipv4", "45.76.1.2", "local_ipv4", "10.1.96.3")
}

func TestScalewayReadsConfAndUserData(t *testing.T) {
	d := mustFetch(t, serve(t, "scaleway", routes(map[string]string{
		"/conf?format=json":     `{"id":"5a1b","hostname":"scw-x","commercial_type":"DEV1-S","private_ip":"10.1.2.3","public_ip":{"address":"51.15.1.1"},"location":{"zone_id":"fr-par-1"},"ssh_public_keys":[{"key":"ssh-ed25519 AAAA scw"}]}`,
		"/user_data/cloud-init": "#cloud-config\n",
	})))
	if d.Hostname != "scw-x" || string(d.UserData) != "#cloud-config\n" || d.SSHKeys[0] != "ssh-ed25519 AAAA scw" {
		t.Errorf("%+v", d)
	}
	wantFacts(t, d, "instance_id", "5a1b", "availability_zone", "fr-par-1", "public_ipv4", "51.15.1.1", "local_ipv4", "10.1.2.3")
}

func TestEquinixMetalReadsItsDocument(t *testing.T) {
	d := mustFetch(t, serve(t, "packet", routes(map[string]string{
		"/metadata": `{"id":"e1","hostname":"metal-1","plan":"c3.small.x86","facility":"da11","metro":"da","ssh_keys":["ssh-rsa AAAA em"],
"network":{"addresses":[{"address_family":6,"public":true,"address":"2604::1"},{"address_family":4,"public":true,"address":"147.75.1.1"},{"address_family":4,"public":false,"address":"10.70.1.1"}]}}`,
		"/userdata": "em",
	})))
	if d.Provider != "EquinixMetal" || d.Hostname != "metal-1" || string(d.UserData) != "em" {
		t.Errorf("%+v", d)
	}
	wantFacts(t, d, "instance_id", "e1", "public_ipv4", "147.75.1.1", "local_ipv4", "10.70.1.1", "region", "da")
}

func TestAProviderThatHangsCostsOnlyItsTimeoutAndOthersAtItsAddressAreSkipped(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer hang.Close()
	defer close(release)
	s := &imds{uses: 100}
	good := httptest.NewServer(s)
	defer good.Close()
	var logs strings.Builder
	e := &env{client: hang.Client(), timeout: 300 * time.Millisecond, log: log.New(&logs, "", 0),
		urls: map[string]string{"gcp": hang.URL, "azure": hang.URL, "digitalocean": hang.URL, "aws": good.URL}}
	var ps []provider
	for _, n := range []string{"gcp", "azure", "digitalocean", "aws"} {
		p, _ := newProvider(n, e)
		ps = append(ps, p)
	}
	start := time.Now()
	p, _ := probe(context.Background(), ps, e.log)
	took := time.Since(start)
	if p == nil || p.name() != "aws" {
		t.Fatalf("got %v, want aws; log:\n%s", p, logs.String())
	}
	if took > 900*time.Millisecond {
		t.Errorf("took %s: more than one timeout of 300ms for three providers at one hanging address", took)
	}
	for _, n := range []string{"azure", "digitalocean"} {
		if !strings.Contains(logs.String(), n+": skipped") {
			t.Errorf("%s not skipped; log:\n%s", n, logs.String())
		}
	}
}

func TestAnHTTPErrorDoesNotMarkTheAddressDead(t *testing.T) {
	s := &imds{uses: 100}
	srv := httptest.NewServer(s) // answers 404 to GCP's and OpenStack's paths
	defer srv.Close()
	e := &env{client: srv.Client(), timeout: time.Second, log: log.New(io.Discard, "", 0),
		urls: map[string]string{"openstack": srv.URL, "aws": srv.URL}}
	openstack, _ := newProvider("openstack", e)
	aws, _ := newProvider("aws", e)
	if p, _ := probe(context.Background(), []provider{openstack, aws}, e.log); p == nil || p.name() != "aws" {
		t.Errorf("got %v, want aws after openstack's 404", p)
	}
}

func TestProbeTakesTheFirstProviderThatAnswersInOrder(t *testing.T) {
	s := &imds{uses: 100}
	aws := serve(t, "aws", s.ServeHTTP)
	gcp := serve(t, "gcp", gcpHandler(true))
	absent := serve(t, "hetzner", http.NotFound)
	p, d := probe(context.Background(), []provider{absent, gcp, aws}, log.New(io.Discard, "", 0))
	if p == nil || p.name() != "gcp" || d.Provider != "GCP" {
		t.Errorf("got %v", p)
	}
}

func TestUnknownProviderIsAnError(t *testing.T) {
	if _, err := newProvider("ec2", &env{}); err == nil || !strings.Contains(err.Error(), "aws") {
		t.Errorf("err %v", err)
	}
}
