package integration

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNtpdStepsAWrongClockFromTheHostsSNTPServer boots a guest whose clock starts in 2001
// (qemu -rtc base=2001-01-01; the test boots with TCG, where the guest has no kvmclock and
// reads the time from the CMOS clock). keel/ntpd -once, an onboot container, steps it from
// an SNTP server the test runs on 127.0.0.1 (the guest's 10.0.2.2) with the host's time;
// keel/ntpd as a service then slews; the checker finds the guest's clock within seconds of
// the host's, which the test serves on a TCP port.
func TestNtpdStepsAWrongClockFromTheHostsSNTPServer(t *testing.T) {
	needGuest(t)
	ntpPort, requests := serveSNTP(t)
	timePort := serveTime(t)

	dir := t.TempDir()
	yml, err := os.ReadFile(filepath.Join(repo, "integration/testdata/ntp.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("@NTP_PORT@", fmt.Sprint(ntpPort), "@TIME_PORT@", fmt.Sprint(timePort)).Replace(string(yml))
	file := filepath.Join(dir, "ntp.yml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	image := buildImage(t, file, dir)
	console, err := boot(t, image, "--nic", "user", "--qemu-arg", "-rtc", "--qemu-arg", "base=2001-01-01")
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	from := regexp.QuoteMeta(fmt.Sprintf("10.0.2.2:%d", ntpPort))
	mustContain(t, console,
		// 2001 to now is more than 7e8 seconds.
		`ntpd: stepped the clock by \+\d{9,}\.\d{3}s from `+from+` \(stratum 2\)`,
		`ntpd: offset [+-]0\.\d{3}s from `+from+` \(stratum 2\), slewing`,
		`CHECK clock ok `,
		// The address came from a static network-config, with QEMU's user network too.
		`dhcpcd: eth0: configured 10\.0\.2\.15/24, router 10\.0\.2\.2, dns 10\.0\.2\.3`,
		poweredOff)
	if n := requests.Load(); n < 2 {
		t.Errorf("the SNTP server got %d requests, want the onboot's and the service's", n)
	}
}

// serveSNTP answers SNTP requests on 127.0.0.1 with the host's time, as a stratum 2 server;
// it returns the port and a count of the requests.
func serveSNTP(t *testing.T) (int, *atomic.Int32) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var requests atomic.Int32
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			requests.Add(1)
			now := time.Now()
			var m [48]byte
			m[0] = 0<<6 | 4<<3 | 4                    // no leap warning, version 4, server mode
			m[1] = 2                                  // stratum
			m[2] = 6                                  // poll 2^6 s
			m[3] = 0xec                               // precision 2^-20 s
			binary.BigEndian.PutUint32(m[4:], 0x100)  // root delay 1/256 s
			binary.BigEndian.PutUint32(m[8:], 0x100)  // root dispersion 1/256 s
			copy(m[12:16], []byte{127, 0, 0, 1})      // reference ID
			putNTPTime(m[16:], now.Add(-time.Minute)) // reference time
			copy(m[24:32], buf[40:48])                // origin: the request's transmit time
			putNTPTime(m[32:], now)                   // receive time
			putNTPTime(m[40:], time.Now())            // transmit time
			conn.WriteToUDP(m[:], from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port, &requests
}

func putNTPTime(b []byte, t time.Time) {
	const unixToNTP = 2208988800 // seconds from 1900 to 1970
	binary.BigEndian.PutUint32(b, uint32(t.Unix()+unixToNTP))
	binary.BigEndian.PutUint32(b[4:], uint32(uint64(t.Nanosecond())<<32/1e9))
}

// serveTime writes the host's time (RFC 3339, one line) to each TCP connection on 127.0.0.1
// and returns the port.
func serveTime(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, time.Now().UTC().Format(time.RFC3339Nano))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}
