package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// relayEnv, when set, makes this test binary qemu's guestfwd command: it joins its stdin and
// stdout (the guest's connection) to the TCP address in the variable. slirp's guestfwd only
// takes addresses inside its own network, and a chardev is one stream all guest connections
// share, so the test runs the network as 169.254.169.0/24 and spawns a relay per connection.
const relayEnv = "KEEL_TEST_METADATA_RELAY"

func init() {
	addr := os.Getenv(relayEnv)
	if addr == "" {
		return
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
	go func() {
		_, _ = io.Copy(c, os.Stdin)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(os.Stdout, c)
	os.Exit(0)
}

const (
	metaKeyCidata = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNpZGF0YQ cidata@test"
	metaKeyAWS    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGF3cw aws@test"
)

// awsIMDS is an IMDSv2 service: a token from PUT /latest/api/token, required on every GET.
type awsIMDS struct{ puts, gets atomic.Int32 }

func (s *awsIMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" && r.Method == http.MethodPut {
		s.puts.Add(1)
		io.WriteString(w, "keel-token")
		return
	}
	if r.Header.Get("X-aws-ec2-metadata-token") != "keel-token" {
		http.Error(w, "token required", http.StatusUnauthorized)
		return
	}
	s.gets.Add(1)
	body, ok := map[string]string{
		"/latest/meta-data/hostname":                  "aws-guest",
		"/latest/meta-data/instance-id":               "i-0keel",
		"/latest/meta-data/local-ipv4":                "169.254.169.15",
		"/latest/meta-data/placement/region":          "test-region-1",
		"/latest/meta-data/public-keys/0/openssh-key": metaKeyAWS,
		"/latest/user-data":                           `{"app":{"entries":{"greeting":{"content":"hello from aws"}}}}`,
	}[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	io.WriteString(w, body)
}

// TestMetadata boots one image twice. First with user data as a cidata CD-ROM (keel run
// --data-file): a cloud-config sets the hostname, an ssh key and a file under /run/config,
// meta-data the instance id. Then with a JSON tree attached both as LinuxKit's CD-ROM and
// through fw_cfg, and an AWS metadata service the test serves on 127.0.0.1, which the guest
// reaches at 169.254.169.254 through qemu's user network.
func TestMetadata(t *testing.T) {
	needGuest(t)
	if err := buildArch("amd64", []string{"metadata"}); err != nil {
		t.Fatal(err)
	}
	image := buildImage(t, "integration/testdata/metadata.yml", t.TempDir())
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("Cidata", func(t *testing.T) {
		ud := write("user-data", "#cloud-config\nhostname: ci-guest\nssh_authorized_keys:\n  - "+metaKeyCidata+"\n"+
			"write_files:\n  - path: /run/config/app/greeting\n    content: hello from cidata\n")
		md := write("meta-data", "instance-id: iid-cidata\nlocal-hostname: meta-host\n")
		console, err := boot(t, image, "--data-file", ud, "--metadata-file", md)
		if err != nil {
			t.Fatalf("keel run qemu: %v", err)
		}
		mustContain(t, console,
			`CHECK tree /run/config provider=\[NoCloud\] hostname=\[ci-guest\] instance_id=\[iid-cidata\] greeting=\[hello from cidata\]`,
			`CHECK keys /run/config \[`+metaKeyCidata+`\|\] mode=600`,
			`USERDATA /run/config #cloud-config`,
			`USERDATA /run/config hostname: ci-guest`,
			`CHECK hostname \[ci-guest\]`,
			`CHECK tree /run/config-fwcfg provider=\[\]`,
			`CHECK tree /run/config-aws provider=\[\]`,
			poweredOff)
	})

	t.Run("CDROMAndFwCfgInOrderAndAWS", func(t *testing.T) {
		imds := &awsIMDS{}
		srv := httptest.NewServer(imds)
		defer srv.Close()
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(relayEnv, strings.TrimPrefix(srv.URL, "http://"))
		netdev := "user,id=md0,net=169.254.169.0/24,host=169.254.169.2,dns=169.254.169.3,dhcpstart=169.254.169.15," +
			"guestfwd=tcp:169.254.169.254:80-cmd:" + strings.ReplaceAll(self, ",", ",,")
		tree := write("tree.json", `{"app":{"entries":{"greeting":{"content":"hello from the tree"}}},"hostname":{"content":"tree-host"}}`)
		console, err := boot(t, image, "--data-file", tree, "--metadata", "instance-id: iid-fwcfg\n",
			"--data-via", "fwcfg,cdrom",
			"--qemu-arg=-netdev", "--qemu-arg="+netdev, "--qemu-arg=-device", "--qemu-arg=virtio-net-pci,netdev=md0,romfile=")
		if err != nil {
			t.Fatalf("keel run qemu: %v", err)
		}
		mustContain(t, console,
			// cidata absent, LinuxKit's CD-ROM before fw_cfg.
			`CHECK tree /run/config provider=\[CDROM /dev/sr0\] hostname=\[tree-host\] instance_id=\[\] greeting=\[hello from the tree\]`,
			`CHECK tree /run/config-fwcfg provider=\[fw_cfg\] hostname=\[tree-host\] instance_id=\[iid-fwcfg\] greeting=\[hello from the tree\]`,
			`netup: eth0 169.254.169.15/24`,
			`CHECK tree /run/config-aws provider=\[AWS\] hostname=\[aws-guest\] instance_id=\[i-0keel\] greeting=\[hello from aws\]`,
			`CHECK keys /run/config-aws \[`+metaKeyAWS+`\|\] mode=600`,
			`CHECK hostname \[aws-guest\]`,
			poweredOff)
		if imds.puts.Load() == 0 || imds.gets.Load() == 0 {
			t.Errorf("metadata service saw %d token and %d metadata requests", imds.puts.Load(), imds.gets.Load())
		}
	})
}
