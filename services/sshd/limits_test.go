package main

import (
	"net"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Unix(1000, 0)} }
func pipeConn(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a
}

func TestPendingDropsABurstButReplacesConnectionsHeldTooLong(t *testing.T) {
	clock := newFakeClock()
	p := newPending(2, 2*time.Second)
	p.now = clock.now
	first, second := pipeConn(t), pipeConn(t)
	p.admit(first)
	clock.add(time.Second)
	p.admit(second)
	if ok, _ := p.admit(pipeConn(t)); ok {
		t.Fatal("a third connection got in while the oldest waited only 1s")
	}
	clock.add(1500 * time.Millisecond) // the first has waited 2.5s, the second 1.5s
	third := pipeConn(t)
	ok, evicted := p.admit(third)
	if !ok || evicted != first {
		t.Fatalf("admit = %v, evicted %v; want in, replacing the oldest", ok, evicted)
	}
	if ok, _ := p.admit(pipeConn(t)); ok {
		t.Fatal("a connection replaced one that had waited only 1.5s")
	}
	p.done(second)
	if ok, evicted := p.admit(pipeConn(t)); !ok || evicted != nil {
		t.Fatalf("a free place: admit = %v, evicted %v", ok, evicted)
	}
	if p.count() != 2 {
		t.Errorf("count %d, want 2", p.count())
	}
}

func TestRateLimitCountsOnlyConnectionsThatDoNotLogIn(t *testing.T) {
	clock := newFakeClock()
	r := newRateLimit(2, 3*time.Second)
	r.now = clock.now
	for range 5 {
		if !r.take("10.0.0.1") {
			t.Fatal("a source that logs in every time was limited")
		}
		r.refund("10.0.0.1")
	}
	r.take("10.0.0.1")
	r.take("10.0.0.1")
	if r.take("10.0.0.1") {
		t.Fatal("a third failing connection within the burst of 2 got in")
	}
	if !r.take("10.0.0.2") {
		t.Fatal("another source was limited")
	}
	clock.add(3 * time.Second)
	if !r.take("10.0.0.1") {
		t.Fatal("no token after one interval")
	}
	if r.take("10.0.0.1") {
		t.Fatal("two tokens after one interval")
	}
	clock.add(time.Hour)
	r.refund("10.0.0.1")
	if b := r.buckets["10.0.0.1"]; b.tokens != 2 {
		t.Errorf("a bucket filled past its burst: %v tokens", b.tokens)
	}
}

func TestRateLimitForgetsIdleSourcesWhenFull(t *testing.T) {
	clock := newFakeClock()
	r := newRateLimit(1, time.Second)
	r.now = clock.now
	for i := range maxBuckets {
		r.take(net.IPv4(10, 1, byte(i>>8), byte(i)).String())
	}
	clock.add(2 * time.Second) // every bucket is full again
	r.take("192.0.2.1")
	if len(r.buckets) != 1 {
		t.Errorf("%d buckets kept, want only the new source's", len(r.buckets))
	}
}

func TestRateLimitBurstZeroIsOff(t *testing.T) {
	r := newRateLimit(0, time.Second)
	for range 100 {
		if !r.take("10.0.0.1") {
			t.Fatal("limited with burst 0")
		}
	}
}
