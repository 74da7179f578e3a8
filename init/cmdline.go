package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cmdline holds the kernel command line parameters that PID 1 understands.
type cmdline struct {
	params map[string]string
}

// parseCmdline splits a kernel command line into key=value parameters. Values may be quoted
// with double quotes, as the kernel allows; a key without '=' has the value "".
func parseCmdline(s string) cmdline {
	c := cmdline{params: map[string]string{}}
	var fields []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			have = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			if have {
				fields = append(fields, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		fields = append(fields, cur.String())
	}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		c.params[k] = v
	}
	return c
}

func readCmdline() cmdline {
	data, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		logf("read /proc/cmdline: %v", err)
	}
	return parseCmdline(string(data))
}

// duration returns the parameter as a duration; a bare number is seconds.
func (c cmdline) duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := c.params[key]
	if !ok {
		return def, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return def, fmt.Errorf("kernel command line %s=%q: not a duration, using %s", key, v, def)
	}
	return d, nil
}
