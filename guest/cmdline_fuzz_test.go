package guest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseCmdline checks that any command line gives settings within their documented
// ranges, and that a value kept from the command line was really given there.
func FuzzParseCmdline(f *testing.F) {
	for _, s := range []string{
		"",
		"console=ttyS0 quiet",
		"keel.shutdown_timeout=5s keel.restart_initial=250ms keel.restart_max=2m keel.restart_reset=90",
		"keel.log_max_size=65536 keel.log_max_files=3",
		`keel.shutdown_timeout="1.5" keel.restart_max=0.001`,
		"keel.restart_initial=1h keel.restart_max=10ms",
		"keel.shutdown_timeout=NaN keel.restart_reset=+Inf keel.log_max_size=-1",
		"keel.shutdown_timeout=1e300 keel.restart_initial=-0 keel.log_max_files=99999999999999999999",
		"keel.restart_reset=9223372036854775807ns keel.shutdown_timeout=0",
		`keel.log_max_size="4096 keel.log_max_files=2`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		s, errs := ParseCmdline(cmdline)
		inRange := func(name string, d, lo, hi time.Duration) {
			if d < lo || d > hi {
				t.Errorf("%s = %s, outside [%s, %s]", name, d, lo, hi)
			}
		}
		inRange("ShutdownTimeout", s.ShutdownTimeout, 0, MaxShutdownTimeout)
		inRange("RestartInitial", s.RestartInitial, MinRestartDelay, MaxRestartInitial)
		inRange("RestartMax", s.RestartMax, MinRestartDelay, MaxRestartMax)
		inRange("RestartReset", s.RestartReset, MinRestartReset, MaxRestartReset)
		if s.RestartMax < s.RestartInitial {
			t.Errorf("RestartMax %s below RestartInitial %s", s.RestartMax, s.RestartInitial)
		}
		if s.LogMaxSize < MinLogMaxSize || s.LogMaxSize > MaxLogMaxSize {
			t.Errorf("LogMaxSize = %d, outside [%d, %d]", s.LogMaxSize, MinLogMaxSize, MaxLogMaxSize)
		}
		if s.LogMaxFiles < 1 || s.LogMaxFiles > MaxLogMaxFiles {
			t.Errorf("LogMaxFiles = %d, outside [1, %d]", s.LogMaxFiles, MaxLogMaxFiles)
		}
		// Without any keel.* key nothing can change or be complained about. Quotes are
		// dropped wherever they are, so `k"eel.x` is key keel.x.
		unquoted := strings.ReplaceAll(cmdline, `"`, "")
		if !strings.Contains(unquoted, "keel.") {
			if s != DefaultSettings() || len(errs) > 0 {
				t.Errorf("no keel.* key, got %+v and errors %v", s, errs)
			}
		}
		for _, err := range errs {
			if !strings.Contains(err.Error(), "keel.") {
				t.Errorf("error %q does not name its key", err)
			}
		}
		// Splitting never invents text: each key and value comes from the line.
		for k, v := range CmdlineParams(cmdline) {
			if utf8.ValidString(cmdline) && !strings.Contains(unquoted, k+"="+v) && (v != "" || !strings.Contains(unquoted, k)) {
				t.Errorf("key %q is not a word of %q", k, cmdline)
			}
			if strings.Contains(v, `"`) {
				t.Errorf("value %q of %q keeps a quote", v, k)
			}
		}
	})
}
