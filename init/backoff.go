package main

import (
	"fmt"
	"time"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/guest"
)

// restartPolicy says whether and when a service that exited starts again.
type restartPolicy struct {
	mode                string // bundle.RestartOnFailure, RestartAlways, RestartNever
	initial, max, reset time.Duration
}

// defaultPolicy is the restart policy of services that set none: on failure, with the
// kernel command line's delays (keel.restart_initial=, keel.restart_max=, keel.restart_reset=):
// initial, doubling up to max, back to initial after reset of healthy running. A service's
// YAML can change them (backoff:).
func defaultPolicy(s guest.Settings) restartPolicy {
	return restartPolicy{mode: bundle.RestartOnFailure, initial: s.RestartInitial, max: s.RestartMax, reset: s.RestartReset}
}

// policyFor reads a service's policy from its runtime.json over the machine's defaults.
func policyFor(k *bundle.Keel, defaults restartPolicy) (restartPolicy, error) {
	p := defaults
	if k == nil {
		return p, nil
	}
	if k.Restart != "" {
		switch k.Restart {
		case bundle.RestartAlways, bundle.RestartOnFailure, bundle.RestartNever:
			p.mode = k.Restart
		default:
			return p, fmt.Errorf("restart %q: want always, on-failure or never", k.Restart)
		}
	}
	if b := k.Backoff; b != nil {
		for _, f := range []struct {
			s   string
			dst *time.Duration
		}{{b.Initial, &p.initial}, {b.Max, &p.max}, {b.Reset, &p.reset}} {
			if f.s == "" {
				continue
			}
			d, err := time.ParseDuration(f.s)
			if err != nil || d <= 0 {
				return p, fmt.Errorf("backoff %q: not a positive duration", f.s)
			}
			*f.dst = d
		}
	}
	if p.initial > p.max {
		p.max = p.initial
	}
	return p, nil
}

// shouldRestart applies the policy to an exit: on-failure restarts after a non-zero status or
// a signal (exit codes above 128 from containerd mean a signal).
func (p restartPolicy) shouldRestart(code uint32) bool {
	switch p.mode {
	case bundle.RestartAlways:
		return true
	case bundle.RestartNever:
		return false
	}
	return code != 0
}

// backoff is the delay state of one service.
type backoff struct {
	p    restartPolicy
	next time.Duration
}

// delay returns how long to wait before the next start, given how long the last run lasted,
// and advances the schedule.
func (b *backoff) delay(ran time.Duration) time.Duration {
	if b.next == 0 || ran >= b.p.reset {
		b.next = b.p.initial
	}
	d := b.next
	b.next = min(b.next*2, b.p.max)
	return d
}
