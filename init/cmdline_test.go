package main

import (
	"testing"
	"time"
)

func TestCmdlineParsesQuotedValuesAndBareKeys(t *testing.T) {
	c := parseCmdline(`console=ttyS0 quiet keel.x="a b c" root=/dev/vda  ` + "\n")
	want := map[string]string{"console": "ttyS0", "quiet": "", "keel.x": "a b c", "root": "/dev/vda"}
	if len(c.params) != len(want) {
		t.Fatalf("got %v", c.params)
	}
	for k, v := range want {
		if c.params[k] != v {
			t.Errorf("%s: got %q want %q", k, c.params[k], v)
		}
	}
}

func TestShutdownTimeoutAcceptsSecondsAndDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"3": 3 * time.Second, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond} {
		got, err := parseCmdline("keel.shutdown_timeout="+in).duration("keel.shutdown_timeout", 10*time.Second)
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", in, got, err, want)
		}
	}
	got, err := parseCmdline("keel.shutdown_timeout=soon").duration("keel.shutdown_timeout", 10*time.Second)
	if err == nil || got != 10*time.Second {
		t.Errorf("bad value: got %v, %v; want the default and an error", got, err)
	}
	got, _ = parseCmdline("quiet").duration("keel.shutdown_timeout", 10*time.Second)
	if got != 10*time.Second {
		t.Errorf("absent: got %v", got)
	}
}
