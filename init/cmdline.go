package main

import (
	"os"

	"github.com/keel-os/keel/guest"
)

// readSettings reads the keel.* settings of /proc/cmdline and logs every value it rejected or
// clamped; missing or bad values are the defaults.
func readSettings() guest.Settings {
	data, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		logf("read /proc/cmdline: %v", err)
	}
	s, errs := guest.ParseCmdline(string(data))
	for _, err := range errs {
		logf("%v", err)
	}
	return s
}
