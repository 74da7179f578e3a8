package main

import (
	"errors"
	"strings"
	"testing"
)

func TestRunStepsLogsAFailedStepByNameAndGoesOn(t *testing.T) {
	out := captureConsole(t)
	var ran []string
	step := func(name string, err error, fatal bool) bootStep {
		return bootStep{name, func() error { ran = append(ran, name); return err }, fatal}
	}
	err := runSteps([]bootStep{step("one", nil, true), step("two", errors.New("broken"), false), step("three", nil, false)})
	if err != nil || strings.Join(ran, " ") != "one two three" {
		t.Fatalf("got %v, ran %v; want all three run", err, ran)
	}
	if !strings.Contains(out(), "keel: two: broken\n") {
		t.Errorf("console %q: want the failure logged by the step's name", out())
	}
}

func TestRunStepsStopsAtAFatalStepAndNamesIt(t *testing.T) {
	var ran []string
	step := func(name string, err error, fatal bool) bootStep {
		return bootStep{name, func() error { ran = append(ran, name); return err }, fatal}
	}
	err := runSteps([]bootStep{step("one", nil, false), step("mount it", errors.New("no"), true), step("three", nil, false)})
	if err == nil || err.Error() != "mount it: no" || strings.Join(ran, " ") != "one mount it" {
		t.Errorf("got %v, ran %v; want the fatal step named and nothing after it", err, ran)
	}
}

func TestBootStepsKeepTheirOrderAndWhichOnesStopTheBoot(t *testing.T) {
	var got []string
	for _, s := range newInit().bootSteps() {
		if s.fatal {
			got = append(got, s.name+"!")
		} else {
			got = append(got, s.name)
		}
	}
	want := "overlay a read-only root, mount /proc!, pivotable root!, boot mounts!, populate /dev, populate /var!, modprobe link, cgroup controllers, rlimits, " +
		"settings, load onboot bundles, containerd early, coldplug, watchdog, read-only root, hostname, loopback, resolv.conf, onboot containers, " +
		"kernel log, control socket, services!, boot complete"
	if strings.Join(got, ", ") != want {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, ", "), want)
	}
}
