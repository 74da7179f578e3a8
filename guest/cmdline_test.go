package guest

import (
	"strings"
	"testing"
	"time"
)

func TestCmdlineParamsParsesQuotedValuesAndBareKeys(t *testing.T) {
	p := CmdlineParams(`console=ttyS0 quiet keel.x="a b c" root=/dev/vda  ` + "\n")
	want := map[string]string{"console": "ttyS0", "quiet": "", "keel.x": "a b c", "root": "/dev/vda"}
	if len(p) != len(want) {
		t.Fatalf("got %v", p)
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s: got %q want %q", k, p[k], v)
		}
	}
}

func TestParseCmdlineWithoutKeelKeysGivesTheDefaults(t *testing.T) {
	s, errs := ParseCmdline("console=ttyS0 quiet")
	if len(errs) != 0 || s != DefaultSettings() {
		t.Errorf("got %+v, %v; want the defaults", s, errs)
	}
}

func TestParseCmdlineReadsEveryKey(t *testing.T) {
	s, errs := ParseCmdline("keel.shutdown_timeout=3 keel.restart_initial=250ms keel.restart_max=1.5 keel.restart_reset=2m " +
		"keel.log_max_size=65536 keel.log_max_files=3")
	want := Settings{
		ShutdownTimeout: 3 * time.Second, RestartInitial: 250 * time.Millisecond, RestartMax: 1500 * time.Millisecond,
		RestartReset: 2 * time.Minute, LogMaxSize: 65536, LogMaxFiles: 3,
	}
	if len(errs) != 0 || s != want {
		t.Errorf("got %+v, %v; want %+v", s, errs, want)
	}
}

func TestParseCmdlineRejectsNonFiniteNegativeAndMeaninglessZeroValues(t *testing.T) {
	def := DefaultSettings()
	for _, c := range []struct {
		arg string
		get func(Settings) any
		def any
	}{
		{"keel.shutdown_timeout=inf", func(s Settings) any { return s.ShutdownTimeout }, def.ShutdownTimeout},
		{"keel.shutdown_timeout=NaN", func(s Settings) any { return s.ShutdownTimeout }, def.ShutdownTimeout},
		{"keel.shutdown_timeout=-1", func(s Settings) any { return s.ShutdownTimeout }, def.ShutdownTimeout},
		{"keel.shutdown_timeout=-2s", func(s Settings) any { return s.ShutdownTimeout }, def.ShutdownTimeout},
		{"keel.shutdown_timeout=soon", func(s Settings) any { return s.ShutdownTimeout }, def.ShutdownTimeout},
		{"keel.restart_initial=0", func(s Settings) any { return s.RestartInitial }, def.RestartInitial},
		{"keel.restart_initial=0s", func(s Settings) any { return s.RestartInitial }, def.RestartInitial},
		{"keel.restart_max=+Inf", func(s Settings) any { return s.RestartMax }, def.RestartMax},
		{"keel.restart_reset=0", func(s Settings) any { return s.RestartReset }, def.RestartReset},
		{"keel.log_max_size=0", func(s Settings) any { return s.LogMaxSize }, def.LogMaxSize},
		{"keel.log_max_size=-5", func(s Settings) any { return s.LogMaxSize }, def.LogMaxSize},
		{"keel.log_max_files=0", func(s Settings) any { return s.LogMaxFiles }, def.LogMaxFiles},
		{"keel.log_max_files=many", func(s Settings) any { return s.LogMaxFiles }, def.LogMaxFiles},
		{"keel.watchdog=-30", func(s Settings) any { return s.Watchdog }, def.Watchdog},
	} {
		s, errs := ParseCmdline(c.arg)
		if got := c.get(s); got != c.def {
			t.Errorf("%s: got %v, want the default %v", c.arg, got, c.def)
		}
		key, _, _ := strings.Cut(c.arg, "=")
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), key) {
			t.Errorf("%s: errors %v, want one naming %s", c.arg, errs, key)
		}
	}
}

func TestParseCmdlineClampsValuesToTheirRanges(t *testing.T) {
	for _, c := range []struct {
		arg  string
		get  func(Settings) any
		want any
	}{
		{"keel.shutdown_timeout=1e12", func(s Settings) any { return s.ShutdownTimeout }, MaxShutdownTimeout},
		{"keel.shutdown_timeout=2000000h", func(s Settings) any { return s.ShutdownTimeout }, MaxShutdownTimeout},
		{"keel.restart_initial=1ns", func(s Settings) any { return s.RestartInitial }, MinRestartDelay},
		{"keel.restart_reset=1ms", func(s Settings) any { return s.RestartReset }, MinRestartReset},
		{"keel.log_max_size=1", func(s Settings) any { return s.LogMaxSize }, int64(MinLogMaxSize)},
		{"keel.log_max_size=99999999999999999999999", func(s Settings) any { return s.LogMaxSize }, int64(MaxLogMaxSize)},
		{"keel.log_max_files=100000", func(s Settings) any { return s.LogMaxFiles }, MaxLogMaxFiles},
		{"keel.watchdog=100ms", func(s Settings) any { return s.Watchdog }, MinWatchdog},
		{"keel.watchdog=2h", func(s Settings) any { return s.Watchdog }, MaxWatchdog},
	} {
		s, errs := ParseCmdline(c.arg)
		if got := c.get(s); got != c.want {
			t.Errorf("%s: got %v, want %v", c.arg, got, c.want)
		}
		key, _, _ := strings.Cut(c.arg, "=")
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), key) {
			t.Errorf("%s: errors %v, want one naming %s", c.arg, errs, key)
		}
	}
}

func TestParseCmdlineAcceptsAZeroShutdownTimeout(t *testing.T) {
	s, errs := ParseCmdline("keel.shutdown_timeout=0")
	if len(errs) != 0 || s.ShutdownTimeout != 0 {
		t.Errorf("got %v, %v; want 0 (kill at once)", s.ShutdownTimeout, errs)
	}
}

func TestParseCmdlineRaisesRestartMaxToRestartInitial(t *testing.T) {
	s, errs := ParseCmdline("keel.restart_initial=5s keel.restart_max=1s")
	if s.RestartMax != 5*time.Second || len(errs) != 1 || !strings.Contains(errs[0].Error(), KeyRestartMax) {
		t.Errorf("got max %v, %v; want 5s and one error naming %s", s.RestartMax, errs, KeyRestartMax)
	}
}

func TestKeelWatchdogIsOffByDefaultAndTakesSeconds(t *testing.T) {
	if DefaultSettings().Watchdog != 0 {
		t.Error("the watchdog is armed by default")
	}
	s, errs := ParseCmdline("keel.watchdog=30")
	if len(errs) != 0 || s.Watchdog != 30*time.Second {
		t.Errorf("keel.watchdog=30: %s, %v", s.Watchdog, errs)
	}
}
