package main

import (
	"strings"
	"testing"
	"time"
)

func TestKeelCtlStatusShowsStateStartsLastExitNextRestartAndUptime(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	two := uint32(2)
	var out strings.Builder
	printStates(&out, []serviceState{
		{Name: "web", State: "running", Pid: 42, Starts: 3, LastStatus: &two, Since: now.Add(-90 * time.Second)},
		{Name: "flaky", State: "restarting", Starts: 5, LastStatus: &two, NextRestart: now.Add(800 * time.Millisecond)},
	}, now)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got:\n%s", out.String())
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "web running 42 3 2 - 1m30s" {
		t.Errorf("web row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "flaky restarting - 5 2 in 800ms -" {
		t.Errorf("flaky row: %q", lines[2])
	}
}
