package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"
)

// fakeClock records what the Syncer asks of the clock.
type fakeClock struct {
	steps, slews []time.Duration
	rtcWrites    int
	rtcErr       error
}

func (c *fakeClock) Step(d time.Duration) error { c.steps = append(c.steps, d); return nil }
func (c *fakeClock) Slew(d time.Duration, _ Sample, _ time.Duration) error {
	c.slews = append(c.slews, d)
	return nil
}
func (c *fakeClock) SetRTC() error {
	if c.rtcErr != nil {
		return c.rtcErr
	}
	c.rtcWrites++
	return nil
}

func newSyncer(clock Clock, log *bytes.Buffer, servers ...string) *Syncer {
	cfg := DefaultConfig()
	cfg.Timeout = time.Second
	return &Syncer{
		Cfg: cfg, Clock: clock, Query: Query, Log: log,
		Servers: func() []string { return servers },
		Sleep:   func(context.Context, time.Duration) error { return nil },
	}
}

func TestFirstSyncStepsAnOffsetOverTheThresholdAndWritesTheRTC(t *testing.T) {
	srv := startServer(t, good(3600*time.Second))
	var log bytes.Buffer
	clock := &fakeClock{}
	if err := newSyncer(clock, &log, srv.addr()).First(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(clock.steps) != 1 || abs(clock.steps[0]-time.Hour) > 200*time.Millisecond {
		t.Fatalf("steps %v, want one of about +1h", clock.steps)
	}
	// The slew of 0 after the step marks the kernel's clock synchronised again.
	if len(clock.slews) != 1 || clock.slews[0] != 0 {
		t.Errorf("slews %v, want [0] after the step", clock.slews)
	}
	if clock.rtcWrites != 1 {
		t.Errorf("RTC written %d times, want once after the step", clock.rtcWrites)
	}
	want := `^ntpd: stepped the clock by \+3600\.\d{3}s from ` + regexp.QuoteMeta(srv.addr()) + ` \(stratum 2\)$`
	if !regexp.MustCompile(want).MatchString(strings.TrimSpace(log.String())) {
		t.Errorf("log %q does not match %s", log.String(), want)
	}
}

func TestFirstSyncSlewsAnOffsetUnderTheThreshold(t *testing.T) {
	srv := startServer(t, good(-50*time.Millisecond))
	var log bytes.Buffer
	clock := &fakeClock{}
	if err := newSyncer(clock, &log, srv.addr()).First(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(clock.steps) != 0 || len(clock.slews) != 1 {
		t.Fatalf("steps %v slews %v, want one slew", clock.steps, clock.slews)
	}
	if clock.rtcWrites != 1 {
		t.Errorf("RTC written %d times, want once when first synchronised", clock.rtcWrites)
	}
	if !regexp.MustCompile(`^ntpd: offset -0\.0\d\ds from .* \(stratum 2\), slewing$`).MatchString(strings.TrimSpace(log.String())) {
		t.Errorf("log %q", log.String())
	}
}

func TestFirstSyncRetriesWithBackoffUntilAServerAnswers(t *testing.T) {
	var log bytes.Buffer
	clock := &fakeClock{}
	s := newSyncer(clock, &log, "10.0.0.1:123")
	var waits []time.Duration
	s.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	srv := startServer(t, good(time.Hour))
	calls := 0
	s.Query = func(server string, timeout time.Duration) (*ntp.Response, string, error) {
		calls++
		if calls <= 8 {
			return nil, "", errors.New("network is unreachable")
		}
		return Query(srv.addr(), timeout)
	}
	if err := s.First(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 64}
	for i := range want {
		want[i] *= time.Second
	}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waited %v, want %v", waits, want)
	}
	if len(clock.steps) != 1 {
		t.Errorf("steps %v, want one", clock.steps)
	}
}

func TestFirstSyncGivesUpWhenTheContextEnds(t *testing.T) {
	var log bytes.Buffer
	clock := &fakeClock{}
	s := newSyncer(clock, &log, "x")
	s.Query = func(string, time.Duration) (*ntp.Response, string, error) { return nil, "", errors.New("down") }
	s.Sleep = func(ctx context.Context, _ time.Duration) error { return context.DeadlineExceeded }
	if err := s.First(context.Background()); err == nil {
		t.Fatal("no error when no server ever answered")
	}
	if len(clock.steps)+len(clock.slews) != 0 {
		t.Errorf("the clock was changed: steps %v slews %v", clock.steps, clock.slews)
	}
}

func TestInsaneRepliesAreRejectedAndTheNextServerIsAsked(t *testing.T) {
	for name, r := range map[string]reply{
		"kiss of death":         {offset: time.Hour, stratum: 0, refID: "RATE"},
		"stratum 16":            {offset: time.Hour, stratum: 16, refID: "\x0a\x00\x00\x01"},
		"leap 3 (unsynced)":     {offset: time.Hour, stratum: 2, leap: 3, refID: "\x0a\x00\x00\x01"},
		"root distance too big": {offset: time.Hour, stratum: 2, refID: "\x0a\x00\x00\x01", rootDisp: 3 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			bad := startServer(t, r)
			ok := startServer(t, good(2*time.Hour))
			var log bytes.Buffer
			clock := &fakeClock{}
			if err := newSyncer(clock, &log, bad.addr(), ok.addr()).First(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(clock.steps) != 1 || abs(clock.steps[0]-2*time.Hour) > 200*time.Millisecond {
				t.Fatalf("steps %v, want only the good server's +2h", clock.steps)
			}
			if bad.requests.Load() != 1 {
				t.Errorf("the bad server got %d requests, want 1", bad.requests.Load())
			}
		})
	}
}

func TestAServerThatSaysDENYIsNotAskedAgain(t *testing.T) {
	deny := startServer(t, reply{stratum: 0, refID: "DENY"})
	ok := startServer(t, good(0))
	var log bytes.Buffer
	s := newSyncer(&fakeClock{}, &log, deny.addr(), ok.addr())
	for range 3 {
		if _, err := s.round(); err != nil {
			t.Fatal(err)
		}
	}
	if n := deny.requests.Load(); n != 1 {
		t.Errorf("the server that said DENY got %d requests, want 1", n)
	}
	if !strings.Contains(log.String(), "kiss of death DENY: not asking it again") {
		t.Errorf("log %q", log.String())
	}
}

func TestARateKissSkipsTheServerForTheLongestPollInterval(t *testing.T) {
	rate := startServer(t, reply{stratum: 0, refID: "RATE"})
	var log bytes.Buffer
	s := newSyncer(&fakeClock{}, &log, rate.addr())
	now := time.Unix(1e9, 0)
	s.Now = func() time.Time { return now }
	s.round()
	now = now.Add(s.Cfg.MaxPoll - time.Second)
	if _, err := s.round(); err == nil || !strings.Contains(err.Error(), "held back") || rate.requests.Load() != 1 {
		t.Fatalf("asked again before the ban ended: %d requests, err %v", rate.requests.Load(), err)
	}
	now = now.Add(2 * time.Second)
	rate.set(good(0))
	if _, err := s.round(); err != nil || rate.requests.Load() != 2 {
		t.Fatalf("not asked after the ban: %d requests, err %v", rate.requests.Load(), err)
	}
}

func TestDecideStepsOnlyAtStartOrOnAConfirmedJump(t *testing.T) {
	cfg := DefaultConfig() // step 128 ms, jump 1 s
	type sample struct {
		offset time.Duration
		want   action
	}
	ms := time.Millisecond
	for name, samples := range map[string][]sample{
		"start over the threshold steps":   {{129 * ms, actStep}, {129 * ms, actSlew}},
		"start at the threshold slews":     {{-128 * ms, actSlew}},
		"later offsets slew":               {{0, actSlew}, {900 * ms, actSlew}, {-1000 * ms, actSlew}},
		"a jump seen twice steps":          {{0, actSlew}, {5 * time.Second, actHold}, {5 * time.Second, actStep}, {0, actSlew}},
		"a single wild reply never steps":  {{0, actSlew}, {-time.Hour, actHold}, {ms, actSlew}, {-time.Hour, actHold}},
		"jumps of opposite signs are held": {{0, actSlew}, {2 * time.Second, actHold}, {-2 * time.Second, actHold}, {-2 * time.Second, actStep}},
	} {
		t.Run(name, func(t *testing.T) {
			d := decider{cfg: cfg}
			for i, s := range samples {
				if got := d.decide(s.offset); got != s.want {
					t.Fatalf("sample %d (%s): action %d, want %d", i, s.offset, got, s.want)
				}
			}
		})
	}
}

func TestDecideWithJumpZeroNeverStepsAfterStart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Jump = 0
	d := decider{cfg: cfg}
	d.decide(0)
	for range 3 {
		if got := d.decide(time.Hour); got != actSlew {
			t.Fatalf("action %d, want slew", got)
		}
	}
}

func TestPollIntervalDoublesWhileCloseAndFallsBackAfterAFailure(t *testing.T) {
	srv := startServer(t, good(0))
	var log bytes.Buffer
	s := newSyncer(&fakeClock{}, &log, srv.addr())
	s.decider.synced = true
	interval := s.Cfg.MinPoll
	var got []time.Duration
	for range 6 {
		interval = s.poll(interval)
		got = append(got, interval)
	}
	if want := "[2m8s 4m16s 8m32s 17m4s 17m4s 17m4s]"; fmt.Sprint(got) != want {
		t.Errorf("intervals %v, want %s", got, want)
	}
	srv.set(reply{stratum: 16})
	if next := s.poll(interval); next != s.Cfg.MinPoll {
		t.Errorf("after a bad reply: %s, want %s", next, s.Cfg.MinPoll)
	}
}

func TestRTCIsWrittenAgainOnlyAfterItsInterval(t *testing.T) {
	srv := startServer(t, good(0))
	var log bytes.Buffer
	clock := &fakeClock{}
	s := newSyncer(clock, &log, srv.addr())
	now := time.Unix(1e9, 0)
	s.Now = func() time.Time { return now }
	s.First(context.Background())
	s.poll(s.Cfg.MinPoll)
	if clock.rtcWrites != 1 {
		t.Fatalf("RTC written %d times within 11 minutes, want 1", clock.rtcWrites)
	}
	now = now.Add(11 * time.Minute)
	s.poll(s.Cfg.MinPoll)
	if clock.rtcWrites != 2 {
		t.Errorf("RTC written %d times after 11 minutes, want 2", clock.rtcWrites)
	}
}

func TestAMissingRTCIsLoggedOnce(t *testing.T) {
	srv := startServer(t, good(time.Hour))
	var log bytes.Buffer
	clock := &fakeClock{rtcErr: errNoRTC}
	s := newSyncer(clock, &log, srv.addr())
	now := time.Unix(1e9, 0)
	s.Now = func() time.Time { return now }
	s.First(context.Background())
	now = now.Add(time.Hour)
	s.poll(s.Cfg.MinPoll)
	if n := strings.Count(log.String(), "no hardware clock"); n != 1 {
		t.Errorf("logged %d times:\n%s", n, log.String())
	}
}

func TestSampleNamesTheServerWhenGivenByName(t *testing.T) {
	s := Sample{Server: "pool.ntp.org", Addr: "192.0.2.1:123", Stratum: 2}
	if got, want := s.from(), "192.0.2.1:123 (pool.ntp.org, stratum 2)"; got != want {
		t.Errorf("from() = %q, want %q", got, want)
	}
	s = Sample{Server: "10.0.2.2:12300", Addr: "10.0.2.2:12300", Stratum: 3}
	if got, want := s.from(), "10.0.2.2:12300 (stratum 3)"; got != want {
		t.Errorf("from() = %q, want %q", got, want)
	}
}

func TestSecondsShowsTheSignAndMilliseconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3600*time.Second + 123*time.Millisecond: "+3600.123s",
		-4 * time.Millisecond:                   "-0.004s",
		0:                                       "+0.000s",
	} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%s) = %q, want %q", d, got, want)
		}
	}
}
