package main

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reply is what the test server answers with.
type reply struct {
	offset   time.Duration // added to the host's time
	stratum  uint8
	leap     uint8
	refID    string // 4 bytes: a kiss code at stratum 0
	rootDisp time.Duration
	// fromOther answers from another socket (another port), as a spoofer would.
	fromOther bool
}

// sntpServer is an SNTP server on 127.0.0.1 (a random UDP port) answering with a chosen
// time; it counts the requests it got.
type sntpServer struct {
	conn     *net.UDPConn
	other    *net.UDPConn
	mu       sync.Mutex
	reply    reply
	requests atomic.Int32
}

func startServer(t *testing.T, r reply) *sntpServer {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	s := &sntpServer{conn: listen(), other: listen(), reply: r}
	go s.serve()
	return s
}

func (s *sntpServer) addr() string { return s.conn.LocalAddr().String() }

func (s *sntpServer) set(r reply) {
	s.mu.Lock()
	s.reply = r
	s.mu.Unlock()
}

func (s *sntpServer) serve() {
	buf := make([]byte, 512)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 48 {
			continue
		}
		s.requests.Add(1)
		s.mu.Lock()
		r := s.reply
		s.mu.Unlock()
		now := time.Now().Add(r.offset)
		var m [48]byte
		m[0] = r.leap<<6 | 4<<3 | 4 // leap, version 4, mode 4 (server)
		m[1] = r.stratum
		m[2] = 6                                      // poll 64 s
		m[3] = 0xec                                   // precision 2^-20
		binary.BigEndian.PutUint32(m[4:], 0x00000100) // root delay 1/256 s
		binary.BigEndian.PutUint32(m[8:], uint32(r.rootDisp*65536/time.Second))
		copy(m[12:16], r.refID)
		putTime(m[16:], now.Add(-time.Minute)) // reference time
		copy(m[24:32], buf[40:48])             // origin: the client's transmit timestamp
		putTime(m[32:], now)
		putTime(m[40:], now)
		out := s.conn
		if r.fromOther {
			out = s.other
		}
		out.WriteToUDP(m[:], from)
	}
}

// putTime writes t as an NTP timestamp: seconds since 1900 and a 32-bit fraction.
func putTime(b []byte, t time.Time) {
	const ntpEpoch = 2208988800
	binary.BigEndian.PutUint32(b, uint32(t.Unix()+ntpEpoch))
	binary.BigEndian.PutUint32(b[4:], uint32(uint64(t.Nanosecond())<<32/1e9))
}

func good(offset time.Duration) reply {
	return reply{offset: offset, stratum: 2, refID: "\x0a\x00\x00\x01", rootDisp: 10 * time.Millisecond}
}

func TestQueryMeasuresTheOffsetOfTheServersTime(t *testing.T) {
	srv := startServer(t, good(3600*time.Second))
	r, addr, err := Query(srv.addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if addr != srv.addr() {
		t.Errorf("reply from %s, want %s", addr, srv.addr())
	}
	if d := abs(r.ClockOffset - 3600*time.Second); d > 200*time.Millisecond {
		t.Errorf("offset %s, want 1h", r.ClockOffset)
	}
	if err := check(r, time.Second); err != nil {
		t.Errorf("a good reply failed the checks: %v", err)
	}
}

func TestQueryIgnoresRepliesFromAnotherSource(t *testing.T) {
	r := good(time.Hour)
	r.fromOther = true
	srv := startServer(t, r)
	if _, _, err := Query(srv.addr(), 300*time.Millisecond); err == nil {
		t.Fatal("a reply from another port was taken")
	}
	if srv.requests.Load() == 0 {
		t.Fatal("the server got no request")
	}
}
