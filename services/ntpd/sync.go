package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/beevik/ntp"
)

// Clock is what ntpd changes: the system clock and the hardware clock. Tests inject a fake,
// so they never touch the host's clock.
type Clock interface {
	// Step moves the system clock by offset at once.
	Step(offset time.Duration) error
	// Slew hands offset to the kernel's clock discipline, which corrects it gradually
	// (at most 0.5 s a sample), and marks the clock synchronised.
	Slew(offset time.Duration, s Sample, poll time.Duration) error
	// SetRTC writes the system time to the hardware clock; errNoRTC when there is none.
	SetRTC() error
}

var errNoRTC = errors.New("no hardware clock")

// Sample is one server's answer that passed the sanity checks.
type Sample struct {
	Server   string // as configured: host[:port]
	Addr     string // the address the reply came from (the socket is connected to it)
	Offset   time.Duration
	Stratum  uint8
	Leap     ntp.LeapIndicator
	Distance time.Duration // root distance: RTT/2 + root delay/2 + root dispersion
	RTT      time.Duration
}

// from names where a sample came from in log lines: the address, and the name when the
// server was given by name.
func (s Sample) from() string {
	host := s.Server
	if h, _, err := net.SplitHostPort(s.Server); err == nil {
		host = h
	}
	if s.Addr == "" || net.ParseIP(strings.Trim(host, "[]")) != nil {
		return fmt.Sprintf("%s (stratum %d)", firstNonEmpty(s.Addr, s.Server), s.Stratum)
	}
	return fmt.Sprintf("%s (%s, stratum %d)", s.Addr, host, s.Stratum)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Config holds the thresholds and intervals (the flags).
type Config struct {
	StepThreshold time.Duration // at start: step above it, slew below
	Jump          time.Duration // after start: step an offset above it seen twice in a row; 0: never step again
	MaxDistance   time.Duration // reject replies whose root distance is larger
	MinPoll       time.Duration // first and shortest interval between polls
	MaxPoll       time.Duration // longest interval between polls
	Timeout       time.Duration // one query's wait for a reply
	RTCInterval   time.Duration // how often the hardware clock is written while synchronised
}

// DefaultConfig is ntpd's defaults: ntpd's step threshold and maximum distance, and the
// NTP poll range 64 s to 1024 s.
func DefaultConfig() Config {
	return Config{
		StepThreshold: 128 * time.Millisecond,
		Jump:          time.Second,
		MaxDistance:   1500 * time.Millisecond,
		MinPoll:       64 * time.Second,
		MaxPoll:       1024 * time.Second,
		Timeout:       5 * time.Second,
		RTCInterval:   11 * time.Minute,
	}
}

// action is what a sample leads to.
type action int

const (
	actSlew action = iota
	actStep
	actHold // a jump seen once: wait for the next sample to confirm it
)

// decider chooses step or slew for each sample: the first good sample steps when its offset
// is over StepThreshold; later ones slew, unless two samples in a row show a jump of the
// same sign over Jump (a single wild reply never moves the clock far).
type decider struct {
	cfg     Config
	synced  bool
	pending time.Duration // the unconfirmed jump, 0 if none
}

func (d *decider) decide(offset time.Duration) action {
	if !d.synced {
		d.synced = true
		if abs(offset) > d.cfg.StepThreshold {
			return actStep
		}
		return actSlew
	}
	if d.cfg.Jump <= 0 || abs(offset) <= d.cfg.Jump {
		d.pending = 0
		return actSlew
	}
	if d.pending != 0 && (d.pending > 0) == (offset > 0) {
		d.pending = 0
		return actStep
	}
	d.pending = offset
	return actHold
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// kissError is a kiss-of-death reply: the server asks to be left alone (DENY, RSTR) or
// polled less often (RATE).
type kissError struct{ code string }

func (e *kissError) Error() string { return "kiss of death " + e.code }

// check applies the sanity checks to a reply: kiss of death, stratum, leap indicator (an
// unsynchronised server), the library's own checks (dispersion, reference time), and the
// root distance limit.
func check(r *ntp.Response, maxDistance time.Duration) error {
	switch {
	case r.IsKissOfDeath():
		return &kissError{code: r.KissCode}
	case r.Stratum >= 16:
		return fmt.Errorf("stratum %d: server unsynchronised", r.Stratum)
	case r.Leap == ntp.LeapNotInSync:
		return errors.New("leap indicator 3: server unsynchronised")
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if r.RootDistance > maxDistance {
		return fmt.Errorf("root distance %s over %s", r.RootDistance.Round(time.Millisecond), maxDistance)
	}
	return nil
}

// QueryFunc asks one server; it returns the reply and the address it came from.
type QueryFunc func(server string, timeout time.Duration) (*ntp.Response, string, error)

// Query asks server over a UDP socket connected to its address, so the kernel drops
// datagrams from any other source; the library also rejects a reply whose origin
// timestamp is not the random one it sent.
func Query(server string, timeout time.Duration) (*ntp.Response, string, error) {
	var addr string
	r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{
		Timeout: timeout,
		Dialer: func(local, remote string) (net.Conn, error) {
			raddr, err := net.ResolveUDPAddr("udp", remote)
			if err != nil {
				return nil, err
			}
			addr = raddr.String()
			return net.DialUDP("udp", nil, raddr)
		},
	})
	return r, addr, err
}

// Syncer keeps the clock: it polls the servers, checks the replies and steps or slews.
type Syncer struct {
	Cfg     Config
	Clock   Clock
	Query   QueryFunc
	Servers func() []string // the servers in order of precedence, read again each round
	Log     io.Writer
	Now     func() time.Time                                 // for bans and the RTC's interval; default time.Now (monotonic across steps)
	Sleep   func(ctx context.Context, d time.Duration) error // default: a timer or ctx's end

	decider  decider
	banned   map[string]time.Time // kissed servers: skipped until then
	lastRTC  time.Time
	rtcFails bool // a missing hardware clock is logged once
}

func (s *Syncer) logf(format string, a ...any) {
	fmt.Fprintf(s.Log, "ntpd: "+format+"\n", a...)
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Syncer) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// round asks the servers in order and returns the first sample that passes the checks.
func (s *Syncer) round() (Sample, error) {
	if s.banned == nil {
		s.banned = map[string]time.Time{}
	}
	servers := s.Servers()
	var errs []string
	for _, srv := range servers {
		if until, ok := s.banned[srv]; ok {
			if s.now().Before(until) {
				continue
			}
			delete(s.banned, srv)
		}
		r, addr, err := s.Query(srv, s.Cfg.Timeout)
		if err == nil {
			err = check(r, s.Cfg.MaxDistance)
		}
		if err != nil {
			var kiss *kissError
			if errors.As(err, &kiss) {
				s.kissed(srv, kiss.code)
			}
			errs = append(errs, fmt.Sprintf("%s: %v", srv, err))
			continue
		}
		return Sample{Server: srv, Addr: addr, Offset: r.ClockOffset, Stratum: r.Stratum, Leap: r.Leap,
			Distance: r.RootDistance, RTT: r.RTT}, nil
	}
	if len(errs) == 0 {
		return Sample{}, errors.New("every server is held back after a kiss of death")
	}
	return Sample{}, errors.New(strings.Join(errs, "; "))
}

// forever is a ban that never ends.
var forever = time.Unix(1<<62, 0)

// kissed keeps a server that sent a kiss of death out of the next rounds: for good after
// DENY or RSTR, for the longest poll interval after RATE or any other code.
func (s *Syncer) kissed(server, code string) {
	switch code {
	case "DENY", "RSTR":
		s.banned[server] = forever
		s.logf("%s sent kiss of death %s: not asking it again", server, code)
	default:
		s.banned[server] = s.now().Add(s.Cfg.MaxPoll)
		s.logf("%s sent kiss of death %s: not asking it for %s", server, code, s.Cfg.MaxPoll)
	}
}

// apply acts on a sample and reports what it did.
func (s *Syncer) apply(smp Sample, poll time.Duration) (action, error) {
	s.decider.cfg = s.Cfg
	act := s.decider.decide(smp.Offset)
	switch act {
	case actStep:
		if err := s.Clock.Step(smp.Offset); err != nil {
			return act, fmt.Errorf("step the clock by %s: %w", seconds(smp.Offset), err)
		}
		s.logf("stepped the clock by %s from %s", seconds(smp.Offset), smp.from())
		// The step left the kernel's clock unsynchronised: mark it synchronised again.
		if err := s.Clock.Slew(0, smp, poll); err != nil {
			s.logf("after the step: %v", err)
		}
		s.writeRTC()
	case actSlew:
		if err := s.Clock.Slew(smp.Offset, smp, poll); err != nil {
			return act, fmt.Errorf("slew the clock by %s: %w", seconds(smp.Offset), err)
		}
		s.logf("offset %s from %s, slewing", seconds(smp.Offset), smp.from())
		if s.now().Sub(s.lastRTC) >= s.Cfg.RTCInterval {
			s.writeRTC()
		}
	case actHold:
		s.logf("offset %s from %s over the jump threshold %s: waiting for the next sample to confirm it", seconds(smp.Offset), smp.from(), s.Cfg.Jump)
	}
	return act, nil
}

// writeRTC sets the hardware clock from the system clock.
func (s *Syncer) writeRTC() {
	err := s.Clock.SetRTC()
	switch {
	case err == nil:
		s.lastRTC = s.now()
	case errors.Is(err, errNoRTC):
		if !s.rtcFails {
			s.logf("no hardware clock device: the kernel keeps it, where it can, while the clock is synchronised")
		}
		s.rtcFails = true
		s.lastRTC = s.now()
	default:
		s.logf("hardware clock: %v", err)
		s.lastRTC = s.now()
	}
}

// First polls until a server gives a good sample, waiting 1 s, 2 s, 4 s ... (at most
// MinPoll) between rounds while the network is not up, then steps or slews once.
// It gives up when ctx ends.
func (s *Syncer) First(ctx context.Context) error {
	wait := time.Second
	for {
		smp, err := s.round()
		if err == nil {
			_, err = s.apply(smp, s.Cfg.MinPoll)
			return err
		}
		s.logf("no usable reply (%v); trying again in %s", err, wait)
		if err := s.sleep(ctx, wait); err != nil {
			return fmt.Errorf("no server answered in time: %w", err)
		}
		wait = min(2*wait, s.Cfg.MinPoll)
	}
}

// Run keeps the clock until ctx ends: the first sync as First does, then a poll every
// interval, which doubles from MinPoll up to MaxPoll while the offset stays small and
// falls back to MinPoll after a failure, a jump or an offset over the step threshold.
func (s *Syncer) Run(ctx context.Context) error {
	if err := s.First(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the first sync
		}
		return err
	}
	poll := s.Cfg.MinPoll
	for {
		if err := s.sleep(ctx, poll); err != nil {
			return nil
		}
		poll = s.poll(poll)
	}
}

// poll is one round after the first sync; it returns the next interval.
func (s *Syncer) poll(interval time.Duration) time.Duration {
	smp, err := s.round()
	if err != nil {
		s.logf("no usable reply: %v", err)
		return s.Cfg.MinPoll
	}
	act, err := s.apply(smp, interval)
	if err != nil {
		s.logf("%v", err)
		return s.Cfg.MinPoll
	}
	if act != actSlew || abs(smp.Offset) > s.Cfg.StepThreshold {
		return s.Cfg.MinPoll
	}
	return min(2*interval, s.Cfg.MaxPoll)
}

// seconds formats an offset as signed seconds with milliseconds: +3600.123s.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%+.3fs", d.Seconds())
}
