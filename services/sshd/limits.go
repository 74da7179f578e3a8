package main

import (
	"net"
	"sync"
	"time"
)

// pending tracks the connections that have not authenticated yet. At most max are kept: a
// new one beyond that replaces the oldest if it has been waiting longer than evictAfter
// (a client holding connections open without logging in, which would otherwise lock real
// users out until the login timeout), and is dropped at once if not (a burst of new
// connections, where the older ones are still being served).
type pending struct {
	mu         sync.Mutex
	max        int
	evictAfter time.Duration
	conns      map[net.Conn]time.Time
	now        func() time.Time
}

func newPending(max int, evictAfter time.Duration) *pending {
	return &pending{max: max, evictAfter: evictAfter, conns: map[net.Conn]time.Time{}, now: time.Now}
}

// admit records c as pending and reports whether it may go on; evicted is the connection it
// replaced, which the caller closes.
func (p *pending) admit(c net.Conn) (ok bool, evicted net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.conns) >= p.max {
		var oldest net.Conn
		var at time.Time
		for o, t := range p.conns {
			if oldest == nil || t.Before(at) {
				oldest, at = o, t
			}
		}
		if oldest == nil || now.Sub(at) < p.evictAfter {
			return false, nil
		}
		delete(p.conns, oldest)
		evicted = oldest
	}
	p.conns[c] = now
	return true, evicted
}

// done removes c: it authenticated or closed.
func (p *pending) done(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *pending) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// rateLimit is a token bucket per source address: each new connection takes a token, a
// successful login gives it back, so only connections that fail to log in (or never try)
// count against their source. A bucket holds burst tokens and gains one every interval.
type rateLimit struct {
	mu       sync.Mutex
	burst    float64
	interval time.Duration
	buckets  map[string]*bucket
	now      func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the map: beyond it, full buckets (idle sources) are forgotten.
const maxBuckets = 4096

func newRateLimit(burst int, interval time.Duration) *rateLimit {
	return &rateLimit{burst: float64(burst), interval: interval, buckets: map[string]*bucket{}, now: time.Now}
}

// take reports whether source may open a connection now, and takes a token if so.
func (r *rateLimit) take(source string) bool {
	if r.burst <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.refill(source)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund gives source's token back after a successful login.
func (r *rateLimit) refund(source string) {
	if r.burst <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.refill(source)
	b.tokens = min(b.tokens+1, r.burst)
}

func (r *rateLimit) refill(source string) *bucket {
	now := r.now()
	b, ok := r.buckets[source]
	if !ok {
		if len(r.buckets) >= maxBuckets {
			r.forgetFull(now)
		}
		b = &bucket{tokens: r.burst, at: now}
		r.buckets[source] = b
		return b
	}
	if r.interval > 0 {
		b.tokens = min(b.tokens+float64(now.Sub(b.at))/float64(r.interval), r.burst)
	}
	b.at = now
	return b
}

func (r *rateLimit) forgetFull(now time.Time) {
	for s, b := range r.buckets {
		if r.interval <= 0 || b.tokens+float64(now.Sub(b.at))/float64(r.interval) >= r.burst {
			delete(r.buckets, s)
		}
	}
}

// sourceOf is the address a connection counts against: its IP, without the port.
func sourceOf(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
