package guest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The kernel command-line keys PID 1 reads. A duration is a Go duration ("250ms", "2m") or a
// bare number of seconds ("1.5").
const (
	KeyShutdownTimeout = "keel.shutdown_timeout" // grace between SIGTERM and SIGKILL
	KeyRestartInitial  = "keel.restart_initial"  // first restart delay of a service
	KeyRestartMax      = "keel.restart_max"      // longest restart delay
	KeyRestartReset    = "keel.restart_reset"    // healthy run after which the delay starts over
	KeyLogMaxSize      = "keel.log_max_size"     // bytes of a log file before it rotates
	KeyLogMaxFiles     = "keel.log_max_files"    // log files kept per source
	KeyWatchdog        = "keel.watchdog"         // hardware watchdog timeout; PID 1 pets it
)

// Settings are the keel.* values of a kernel command line. A value that does not parse, is
// not finite, or is zero or negative where that makes no sense is rejected and the default
// kept; one outside its range is clamped to it. The ranges are those of the fields' comments.
type Settings struct {
	// ShutdownTimeout is how long services get between SIGTERM and SIGKILL, at shutdown and
	// on keel-ctl stop: 0 (kill at once) to 1h, default 10s.
	ShutdownTimeout time.Duration
	// RestartInitial is a service's first restart delay: 10ms to 1h, default 100ms.
	RestartInitial time.Duration
	// RestartMax is where the doubling delay stops: 10ms to 24h, default 30s; raised to
	// RestartInitial when below it.
	RestartMax time.Duration
	// RestartReset is how long a service must run for its delay to start over: 1s to 24h,
	// default 60s.
	RestartReset time.Duration
	// LogMaxSize is the size of a log file before it rotates: 4 KiB to 1 GiB, default 1 MiB.
	LogMaxSize int64
	// LogMaxFiles is how many files a log source keeps, the current one included: 1 to 100,
	// default 10.
	LogMaxFiles int
	// Watchdog is the hardware watchdog's timeout: PID 1 opens /dev/watchdog and pets it
	// while it is healthy. 0 (the default) leaves the device alone; 1s to 1h.
	Watchdog time.Duration
}

// Ranges of the settings.
const (
	MaxShutdownTimeout = time.Hour
	MinRestartDelay    = 10 * time.Millisecond
	MaxRestartInitial  = time.Hour
	MaxRestartMax      = 24 * time.Hour
	MinRestartReset    = time.Second
	MaxRestartReset    = 24 * time.Hour
	MinLogMaxSize      = 4 << 10
	MaxLogMaxSize      = 1 << 30
	MaxLogMaxFiles     = 100
	MinWatchdog        = time.Second
	MaxWatchdog        = time.Hour
)

// DefaultSettings are the settings of a command line without keel.* keys.
func DefaultSettings() Settings {
	return Settings{
		ShutdownTimeout: 10 * time.Second,
		RestartInitial:  100 * time.Millisecond,
		RestartMax:      30 * time.Second,
		RestartReset:    60 * time.Second,
		LogMaxSize:      1 << 20,
		LogMaxFiles:     10,
	}
}

// ParseCmdline reads the settings from a kernel command line (the text of /proc/cmdline).
// Each rejected or clamped value adds an error naming its key; the settings are always
// usable.
func ParseCmdline(cmdline string) (Settings, []error) {
	s := DefaultSettings()
	p := CmdlineParams(cmdline)
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	note(duration(p, KeyShutdownTimeout, &s.ShutdownTimeout, 0, MaxShutdownTimeout, true))
	note(duration(p, KeyRestartInitial, &s.RestartInitial, MinRestartDelay, MaxRestartInitial, false))
	note(duration(p, KeyRestartMax, &s.RestartMax, MinRestartDelay, MaxRestartMax, false))
	note(duration(p, KeyRestartReset, &s.RestartReset, MinRestartReset, MaxRestartReset, false))
	note(integer(p, KeyLogMaxSize, &s.LogMaxSize, MinLogMaxSize, MaxLogMaxSize, false))
	files := int64(s.LogMaxFiles)
	note(integer(p, KeyLogMaxFiles, &files, 1, MaxLogMaxFiles, false))
	s.LogMaxFiles = int(files)
	note(duration(p, KeyWatchdog, &s.Watchdog, 0, MaxWatchdog, true))
	if s.Watchdog > 0 && s.Watchdog < MinWatchdog {
		errs = append(errs, fmt.Errorf("kernel command line %s=%s is below %s: using %s", KeyWatchdog, s.Watchdog, MinWatchdog, MinWatchdog))
		s.Watchdog = MinWatchdog
	}
	if s.RestartMax < s.RestartInitial {
		errs = append(errs, fmt.Errorf("kernel command line %s=%s is below %s=%s: using %s", KeyRestartMax, s.RestartMax, KeyRestartInitial, s.RestartInitial, s.RestartInitial))
		s.RestartMax = s.RestartInitial
	}
	return s, errs
}

// CmdlineParams splits a kernel command line into key=value parameters. Values may be quoted
// with double quotes, as the kernel allows; a key without '=' has the value "". A key given
// twice keeps its last value.
func CmdlineParams(s string) map[string]string {
	params := map[string]string{}
	var cur strings.Builder
	inQuote, have := false, false
	flush := func() {
		if have {
			k, v, _ := strings.Cut(cur.String(), "=")
			params[k] = v
			cur.Reset()
			have = false
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			have = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			flush()
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	flush()
	return params
}

// duration sets *dst from params[key] if present: a Go duration or a number of seconds,
// within [min, max]; zero only if zeroOK.
func duration(params map[string]string, key string, dst *time.Duration, min, max time.Duration, zeroOK bool) error {
	v, ok := params[key]
	if !ok {
		return nil
	}
	reject := func(why string) error {
		return fmt.Errorf("kernel command line %s=%q: %s, using %s", key, v, why, *dst)
	}
	var d time.Duration
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case math.IsNaN(n) || math.IsInf(n, 0):
			return reject("not a finite duration")
		case n < 0:
			return reject("negative")
		case n > max.Seconds():
			d = max + 1 // clamped below, without overflowing the conversion
		default:
			d = time.Duration(n * float64(time.Second))
		}
	} else if d, err = time.ParseDuration(v); err != nil {
		return reject("not a duration")
	}
	switch {
	case d < 0:
		return reject("negative")
	case d == 0 && !zeroOK:
		return reject("zero")
	case d < min && d != 0:
		*dst = min
		return fmt.Errorf("kernel command line %s=%q: below %s, using %s", key, v, min, min)
	case d > max:
		*dst = max
		return fmt.Errorf("kernel command line %s=%q: above %s, using %s", key, v, max, max)
	}
	*dst = d
	return nil
}

// integer sets *dst from params[key] if present: a decimal integer within [min, max]; zero
// only if zeroOK.
func integer(params map[string]string, key string, dst *int64, min, max int64, zeroOK bool) error {
	v, ok := params[key]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: clamped below
		return fmt.Errorf("kernel command line %s=%q: not a number, using %d", key, v, *dst)
	}
	switch {
	case n < 0:
		return fmt.Errorf("kernel command line %s=%q: negative, using %d", key, v, *dst)
	case n == 0 && !zeroOK:
		return fmt.Errorf("kernel command line %s=%q: zero, using %d", key, v, *dst)
	case n < min && n != 0:
		*dst = min
		return fmt.Errorf("kernel command line %s=%q: below %d, using %d", key, v, min, min)
	case n > max:
		*dst = max
		return fmt.Errorf("kernel command line %s=%q: above %d, using %d", key, v, max, max)
	}
	*dst = n
	return nil
}
