package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"golang.org/x/sys/unix"
)

// TestMain lets the exchange test run this test binary as dhcpcd inside a network
// namespace.
func TestMain(m *testing.M) {
	if os.Getenv("KEEL_DHCPCD_TEST_MAIN") == "1" {
		os.Args = append([]string{"dhcpcd"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testServer answers in the server namespace: 10.77.0.10/24 for an hour, router and
// name server options, and counts requests and releases.
type testServer struct {
	requests, releases atomic.Int32
	asked              atomic.Value // the address the last DISCOVER asked for (string)
	leaseSeconds       atomic.Int32 // 0: an hour
	// renewals says what the server does with a REQUEST from a client that has an
	// address (renewing, rebinding): "" answers, "nak" refuses it; "down" drops every
	// message.
	renewals atomic.Value
}

func (s *testServer) handle(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
	if mode, _ := s.renewals.Load().(string); mode == "down" {
		return
	}
	var typ dhcpv4.MessageType
	switch m.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ = dhcpv4.MessageTypeOffer
		s.asked.Store(m.RequestedIPAddress().String())
	case dhcpv4.MessageTypeRequest:
		typ = dhcpv4.MessageTypeAck
		s.requests.Add(1)
		if mode, _ := s.renewals.Load().(string); mode == "nak" && !m.ClientIPAddr.IsUnspecified() {
			typ = dhcpv4.MessageTypeNak
		}
	case dhcpv4.MessageTypeRelease:
		s.releases.Add(1)
		return
	default:
		return
	}
	_, lan, _ := net.ParseCIDR("192.168.50.0/24")
	_, def, _ := net.ParseCIDR("0.0.0.0/0")
	srv := net.IPv4(10, 77, 0, 1)
	lease := time.Hour
	if n := s.leaseSeconds.Load(); n > 0 {
		lease = time.Duration(n) * time.Second
	}
	reply, err := dhcpv4.NewReplyFromRequest(m,
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithYourIP(net.IPv4(10, 77, 0, 10)),
		dhcpv4.WithServerIP(srv),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srv)),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(srv)),
		dhcpv4.WithOption(dhcpv4.OptClasslessStaticRoute(
			&dhcpv4.Route{Dest: lan, Router: net.IPv4(10, 77, 0, 2)},
			&dhcpv4.Route{Dest: def, Router: srv},
		)),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.IPv4(10, 77, 0, 53))),
		dhcpv4.WithOption(dhcpv4.OptDomainName("test.example")),
		dhcpv4.WithOption(dhcpv4.OptNTPServers(net.IPv4(10, 77, 0, 123))),
		dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, []byte{0x05, 0x78})), // 1400
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(lease)),
	)
	if err != nil {
		return
	}
	conn.WriteTo(reply.ToBytes(), peer)
}

// netnsPair makes two network namespaces joined by a veth pair: the server's end dhs0
// (10.77.0.1/24) and the client's, dhc0, unconfigured.
func netnsPair(t *testing.T) (srv, cli string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	srv, cli = "keel-dhs-"+id, "keel-dhc-"+id
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", srv)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", srv).Run() })
	ip("netns", "add", cli)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", cli).Run() })
	ip("-n", srv, "link", "add", "dhs0", "type", "veth", "peer", "name", "dhc0", "netns", cli)
	ip("-n", srv, "addr", "add", "10.77.0.1/24", "dev", "dhs0")
	ip("-n", srv, "link", "set", "dhs0", "up")
	return srv, cli
}

// serveIn starts s on dhs0 in the namespace ns. The socket is made on a thread that
// joins ns and then ends with its goroutine, so no other goroutine runs in ns.
func serveIn(t *testing.T, ns string, s *testServer) {
	t.Helper()
	type result struct {
		conn net.PacketConn
		err  error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		conn, err := server4.NewIPv4UDPConn("dhs0", &net.UDPAddr{Port: dhcpv4.ServerPort})
		ch <- result{conn, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	server, err := server4.NewServer("", nil, s.handle, server4.WithConn(r.conn))
	if err != nil {
		t.Fatal(err)
	}
	go server.Serve()
	t.Cleanup(func() { server.Close() })
}

// dhcpcdIn runs this binary as dhcpcd in ns; its log lines arrive on the channel.
func dhcpcdIn(t *testing.T, ns string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, exe}, args...)...)
	cmd.Env = append(os.Environ(), "KEEL_DHCPCD_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log(sc.Text())
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

// waitLine waits for a line containing want.
func waitLine(t *testing.T, lines <-chan string, want string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("dhcpcd ended without logging %q", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q line within 20s", want)
		}
	}
}

func ipOut(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestDHCPExchangeConfiguresTheLinkRenewsAndReleases(t *testing.T) {
	srvNS, cliNS := netnsPair(t)
	srv := &testServer{}
	serveIn(t, srvNS, srv)
	dir := t.TempDir()
	resolv, ntp := filepath.Join(dir, "resolv.conf"), filepath.Join(dir, "ntp-servers")
	files := []string{"-resolv-conf", resolv, "-ntp-servers", ntp}

	// Onboot: -1 configures once and exits 0.
	once, lines := dhcpcdIn(t, cliNS, append(append([]string{"-1", "-timeout", "15s"}, files...), "dhc0")...)
	line := waitLine(t, lines, "leased")
	if want := "dhcpcd: dhc0: leased 10.77.0.10/24 from 10.77.0.1, router 10.77.0.1, dns 10.77.0.53, search test.example, mtu 1400, lease 3600s"; line != want {
		t.Errorf("log line\n%s\nwant\n%s", line, want)
	}
	if err := once.Wait(); err != nil {
		t.Fatalf("dhcpcd -1: %v", err)
	}
	if addr := ipOut(t, cliNS, "-4", "addr", "show", "dev", "dhc0"); !strings.Contains(addr, "inet 10.77.0.10/24") {
		t.Errorf("address not applied:\n%s", addr)
	}
	if link := ipOut(t, cliNS, "link", "show", "dhc0"); !strings.Contains(link, "mtu 1400") || !strings.Contains(link, "state UP") {
		t.Errorf("link not up with mtu 1400:\n%s", link)
	}
	routes := ipOut(t, cliNS, "-4", "route")
	for _, want := range []string{"default via 10.77.0.1 dev dhc0 proto dhcp", "192.168.50.0/24 via 10.77.0.2 dev dhc0 proto dhcp"} {
		if !strings.Contains(routes, want) {
			t.Errorf("no route %q in\n%s", want, routes)
		}
	}
	if got := read(t, resolv); got != "# written by keel/dhcpcd\nsearch test.example\nnameserver 10.77.0.53\n" {
		t.Errorf("resolv.conf %q", got)
	}
	if got := read(t, ntp); got != "10.77.0.123\n" {
		t.Errorf("ntp-servers %q", got)
	}

	// Service: leases, renews after the shortened T1, releases on SIGTERM and exits 0.
	svc, lines := dhcpcdIn(t, cliNS, append(append([]string{"-renew-after", "500ms"}, files...), "dhc0")...)
	waitLine(t, lines, "dhc0: leased 10.77.0.10/24")
	if asked, _ := srv.asked.Load().(string); asked != "10.77.0.10" {
		t.Errorf("the service's DISCOVER asked for %q, want the address -1 leased", asked)
	}
	before := srv.requests.Load()
	if line := waitLine(t, lines, "dhc0: renewed"); !strings.Contains(line, "renewed 10.77.0.10/24 from 10.77.0.1") {
		t.Errorf("renewal line %q", line)
	}
	if srv.requests.Load() <= before {
		t.Error("the server saw no renewal request")
	}
	svc.Process.Signal(syscall.SIGTERM)
	waitLine(t, lines, "dhc0: released 10.77.0.10/24 to 10.77.0.1")
	if err := svc.Wait(); err != nil {
		t.Errorf("dhcpcd after SIGTERM: %v, want exit 0", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.releases.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.releases.Load() == 0 {
		t.Error("the server got no DHCPRELEASE")
	}
}

func TestStaticNetworkConfigIsAppliedWithVlan(t *testing.T) {
	_, cliNS := netnsPair(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "network.yml")
	doc := `network:
  version: 2
  ethernets:
    dhc0:
      addresses: [10.77.0.20/24]
      gateway4: 10.77.0.1
      mtu: 1450
      nameservers:
        addresses: [10.77.0.53]
        search: [static.example]
      routes:
        - to: 192.168.60.0/24
          via: 10.77.0.3
  vlans:
    dhc0.7:
      id: 7
      link: dhc0
      addresses: [10.78.0.2/24]
`
	vlans := vlanSupported(t, cliNS)
	if !vlans {
		t.Log("this kernel has no 802.1Q vlans: the vlans entry is left out")
		doc = doc[:strings.Index(doc, "  vlans:")]
	}
	os.WriteFile(cfg, []byte(doc), 0o644)
	resolv := filepath.Join(dir, "resolv.conf")
	cmd, lines := dhcpcdIn(t, cliNS, "-1", "-config", cfg, "-resolv-conf", resolv, "-ntp-servers", filepath.Join(dir, "ntp"))
	waitLine(t, lines, "dhc0: configured 10.77.0.20/24, router 10.77.0.1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dhcpcd -1 -config: %v", err)
	}
	if addr := ipOut(t, cliNS, "addr"); !strings.Contains(addr, "inet 10.77.0.20/24") || vlans && !strings.Contains(addr, "inet 10.78.0.2/24") {
		t.Errorf("addresses not applied:\n%s", addr)
	}
	if vlans {
		if link := ipOut(t, cliNS, "-d", "link", "show", "dhc0.7"); !strings.Contains(link, "vlan protocol 802.1Q id 7") {
			t.Errorf("no vlan 7:\n%s", link)
		}
	}
	routes := ipOut(t, cliNS, "-4", "route")
	for _, want := range []string{"default via 10.77.0.1 dev dhc0 proto static", "192.168.60.0/24 via 10.77.0.3 dev dhc0 proto static"} {
		if !strings.Contains(routes, want) {
			t.Errorf("no route %q in\n%s", want, routes)
		}
	}
	if got := read(t, resolv); got != "# written by keel/dhcpcd\nsearch static.example\nnameserver 10.77.0.53\n" {
		t.Errorf("resolv.conf %q", got)
	}
}

// vlanSupported reports whether the kernel makes vlan links (8021q).
func vlanSupported(t *testing.T, ns string) bool {
	if exec.Command("ip", "-n", ns, "link", "add", "link", "dhc0", "name", "probe.9", "type", "vlan", "id", "9").Run() != nil {
		return false
	}
	exec.Command("ip", "-n", ns, "link", "del", "probe.9").Run()
	return true
}

func TestARefusedOrExpiredLeaseIsRemovedAndDiscoveredAgain(t *testing.T) {
	srvNS, cliNS := netnsPair(t)
	srv := &testServer{}
	srv.leaseSeconds.Store(2) // T1 1 s, T2 1.75 s
	srv.renewals.Store("nak")
	serveIn(t, srvNS, srv)
	dir := t.TempDir()
	_, lines := dhcpcdIn(t, cliNS, "-resolv-conf", filepath.Join(dir, "resolv.conf"), "-ntp-servers", filepath.Join(dir, "ntp"), "dhc0")
	waitLine(t, lines, "dhc0: leased 10.77.0.10/24")
	waitLine(t, lines, "dhc0: the server refused the lease of 10.77.0.10/24; discovering again")
	waitLine(t, lines, "dhc0: leased 10.77.0.10/24")
	srv.renewals.Store("down")
	waitLine(t, lines, "dhc0: lease of 10.77.0.10/24 expired")
	if addr := ipOut(t, cliNS, "-4", "addr", "show", "dev", "dhc0"); strings.Contains(addr, "10.77.0.10") {
		t.Errorf("the expired address is still on the link:\n%s", addr)
	}
	srv.renewals.Store("")
	waitLine(t, lines, "dhc0: leased 10.77.0.10/24")
}
