package main

import (
	"testing"
	"time"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/guest"
)

var testDefaults = defaultPolicy(guest.DefaultSettings())

func TestBackoffDoublesFrom100msToTheCapAndResetsAfterHealthyRunning(t *testing.T) {
	b := backoff{p: testDefaults}
	var got []time.Duration
	for i := 0; i < 12; i++ {
		got = append(got, b.delay(time.Second))
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delay %d = %v, want %v (all: %v)", i, got[i], want[i]*time.Millisecond, got)
		}
	}
	if d := b.delay(61 * time.Second); d != 100*time.Millisecond {
		t.Errorf("after 61 s of running the delay is %v, want it reset to 100ms", d)
	}
	if d := b.delay(time.Second); d != 200*time.Millisecond {
		t.Errorf("after the reset the schedule doubles again: got %v", d)
	}
}

func TestRestartPolicies(t *testing.T) {
	for _, c := range []struct {
		mode string
		code uint32
		want bool
	}{
		{bundle.RestartOnFailure, 0, false}, {bundle.RestartOnFailure, 1, true}, {bundle.RestartOnFailure, 137, true},
		{bundle.RestartAlways, 0, true}, {bundle.RestartNever, 1, false},
	} {
		p := testDefaults
		p.mode = c.mode
		if got := p.shouldRestart(c.code); got != c.want {
			t.Errorf("%s, exit %d: restart=%v, want %v", c.mode, c.code, got, c.want)
		}
	}
}

func TestPolicyComesFromRuntimeJSONOverTheDefaults(t *testing.T) {
	p, err := policyFor(&bundle.Keel{Restart: "always", Backoff: &bundle.Backoff{Initial: "250ms", Max: "2s"}}, testDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if p.mode != "always" || p.initial != 250*time.Millisecond || p.max != 2*time.Second || p.reset != testDefaults.reset {
		t.Fatalf("got %+v", p)
	}
	if p, _ := policyFor(nil, testDefaults); p != testDefaults {
		t.Fatalf("no keel section: got %+v", p)
	}
	if _, err := policyFor(&bundle.Keel{Restart: "sometimes"}, testDefaults); err == nil {
		t.Fatal("bad restart accepted")
	}
	if _, err := policyFor(&bundle.Keel{Backoff: &bundle.Backoff{Max: "-1s"}}, testDefaults); err == nil {
		t.Fatal("negative backoff accepted")
	}
}
