package main

import (
	"regexp"
	"strconv"
	"time"
)

// watchdogSuite checks PID 1's hardware watchdog. healthy: the machine runs past three
// timeouts with PID 1 petting the device, then powers off through keel-ctl (the watchdog must
// not reset it). reset: keel-ctl watchdog test stops the petting; the hardware resets the
// machine, which the test sees as qemu's exit without a power-off line.
func watchdogSuite(mode string) {
	out, err := ctl("watchdog")
	m := regexp.MustCompile(`timeout (\d+)s`).FindStringSubmatch(out)
	if !check("watchdog-armed", err == nil && m != nil, "%v: %s", err, out) {
		ctlPoweroff()
	}
	timeout, _ := strconv.Atoi(m[1])
	switch mode {
	case "healthy":
		time.Sleep(3 * time.Duration(timeout) * time.Second)
		out, err = ctl("watchdog")
		last := regexp.MustCompile(`last pet ([0-9.]+)s ago`).FindStringSubmatch(out)
		fresh := false
		if last != nil {
			ago, _ := strconv.ParseFloat(last[1], 64)
			fresh = ago < float64(timeout)
		}
		check("watchdog-petting", err == nil && fresh && regexp.MustCompile(`^watchdog: petting`).MatchString(out), "after %ds: %v %s", 3*timeout, err, out)
		out, _ = ctl("status")
		check("watchdog-in-status", regexp.MustCompile(`(?m)^watchdog: petting, /dev/watchdog`).MatchString(out), "%s", out)
		ctlPoweroff()
	case "reset":
		out, err = ctl("watchdog", "test")
		check("watchdog-test", err == nil, "%v: %s", err, out)
		say("driver: waiting for the watchdog to reset the machine")
		sleepForever()
	}
}
