package integration

import (
	"regexp"
	"testing"
)

// TestDHCPConfiguresTheNetworkAndKeepsTheLease boots with QEMU's user-mode network:
// keel/dhcpcd -1 leases eth0's address onboot, keel/dhcpcd as a service renews the lease
// (every 3 s with -renew-after) and releases it at power off, and a service with
// wait: network finds the address, the default route, the name server in its
// /etc/resolv.conf (bound from the host's) and a host name.
func TestDHCPConfiguresTheNetworkAndKeepsTheLease(t *testing.T) {
	needGuest(t)
	// keel/dhcpcd is not in the shared package list of every test.
	if out, err := command(repo, keelBin, "pkg", "build", "--arch", "amd64", "onboot/dhcpcd"); err != nil {
		t.Fatalf("keel pkg build onboot/dhcpcd: %v\n%s", err, out)
	}
	image := buildImage(t, "integration/testdata/network.yml", t.TempDir())
	console, err := boot(t, image, "--nic", "user")
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	mustContain(t, console,
		`dhcpcd: eth0: leased 10\.0\.2\.15/24 from 10\.0\.2\.2, router 10\.0\.2\.2, dns 10\.0\.2\.3`,
		`CHECK net-address ok 10\.0\.2\.15/24`,
		`CHECK net-route ok`,
		`CHECK net-resolver ok`,
		`CHECK net-hostname ok \S+`,
		`dhcpcd: eth0: renewed 10\.0\.2\.15/24 from 10\.0\.2\.2`,
		`dhcpcd: eth0: released 10\.0\.2\.15/24 to 10\.0\.2\.2`,
		poweredOff,
	)
	if fail := regexp.MustCompile(`CHECK \S+ FAIL.*`).FindString(console); fail != "" {
		t.Errorf("a check failed: %s", fail)
	}
}
