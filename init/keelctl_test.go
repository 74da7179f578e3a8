package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/timeline"
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

func TestKeelCtlPowerOffAsksForTheFinalTimelineOnlyWithTheFlag(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"poweroff", nil, "/v1/poweroff"},
		{"poweroff", []string{"--timeline"}, "/v1/poweroff?timeline=1"},
		{"reboot", []string{"-timeline"}, "/v1/reboot?timeline=1"},
		{"halt", nil, "/v1/halt"},
	} {
		if got, err := powerPath(c.cmd, c.args); err != nil || got != c.want {
			t.Errorf("%s %v: %q, %v; want %q", c.cmd, c.args, got, err, c.want)
		}
	}
	for _, args := range [][]string{{"now"}, {"--json"}} {
		if _, err := powerPath("poweroff", args); err == nil {
			t.Errorf("poweroff %v: no error", args)
		}
	}
}

func TestKeelCtlJSONFlagIsTheOnlyArgumentOfAnalyzeAndMemory(t *testing.T) {
	if on, err := jsonFlag("memory", []string{"--json"}); err != nil || !on {
		t.Errorf("--json: %v, %v", on, err)
	}
	if on, err := jsonFlag("analyze", nil); err != nil || on {
		t.Errorf("no flag: %v, %v", on, err)
	}
	if _, err := jsonFlag("analyze", []string{"getty"}); err == nil || !strings.Contains(err.Error(), "usage: keel-ctl analyze") {
		t.Errorf("extra argument: err = %v, want the usage", err)
	}
}

func TestControlMemoryAnswersASampleOfPID1AsTheTimelineHasIt(t *testing.T) {
	in := &initProc{tl: newRecorder()}
	rec := httptest.NewRecorder()
	in.controlHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/memory", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var m timeline.Memory
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if m.PID1VmHWM <= 0 || m.PID1RssAnon <= 0 || m.PID1Goroutines <= 0 || m.PID1FDs <= 0 {
		t.Errorf("memory = %+v, want PID 1's peak and anonymous RSS, goroutines and fds", m)
	}
}
