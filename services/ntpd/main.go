// Command ntpd keeps the system clock with SNTP (github.com/beevik/ntp): it asks the
// servers in order of precedence (-server flags, then /run/config/ntp/servers from the
// metadata, then /run/dhcpcd/ntp-servers from DHCP; pool.ntp.org when none names one),
// steps the clock once at start when it is off by more than -step, and then slews it
// through the kernel's PLL at every poll. With -once it syncs once and exits (an onboot
// container). It writes the hardware clock after a step and every 11 minutes when an RTC
// device is reachable. docs/ntpd.md has the details.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type options struct {
	servers listFlag
	once    bool
	wait    time.Duration
	rtc     string
	cfg     Config
}

// parseFlags reads the command line; errors name the flag.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{cfg: DefaultConfig()}
	fs := flag.NewFlagSet("ntpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.servers, "server", "NTP server host[:port] (repeatable; asked in order, before the metadata's and DHCP's)")
	fs.BoolVar(&o.once, "once", false, "sync once (step or slew) and exit")
	fs.DurationVar(&o.wait, "wait", 60*time.Second, "with -once: give up when no server answered in this long")
	fs.StringVar(&o.rtc, "rtc", "/dev/rtc0", "hardware clock device, written after a step and every 11 minutes (\"\": none)")
	fs.DurationVar(&o.cfg.MinPoll, "interval", o.cfg.MinPoll, "first and shortest interval between polls")
	fs.DurationVar(&o.cfg.MaxPoll, "max-interval", o.cfg.MaxPoll, "longest interval between polls (the interval doubles while the clock stays close)")
	fs.DurationVar(&o.cfg.StepThreshold, "step", o.cfg.StepThreshold, "at start, step the clock when it is off by more than this; slew otherwise")
	fs.DurationVar(&o.cfg.Jump, "jump", o.cfg.Jump, "after start, step when two samples in a row are off by more than this (0: never step again)")
	fs.DurationVar(&o.cfg.MaxDistance, "max-distance", o.cfg.MaxDistance, "reject replies whose root distance is larger")
	fs.DurationVar(&o.cfg.Timeout, "timeout", o.cfg.Timeout, "how long to wait for one server's reply")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", o.cfg.MinPoll}, {"max-interval", o.cfg.MaxPoll}, {"timeout", o.cfg.Timeout}, {"wait", o.wait}, {"max-distance", o.cfg.MaxDistance}} {
		if d.v <= 0 {
			return o, fmt.Errorf("-%s %s: must be positive", d.name, d.v)
		}
	}
	if o.cfg.MaxPoll < o.cfg.MinPoll {
		return o, fmt.Errorf("-max-interval %s: shorter than -interval %s", o.cfg.MaxPoll, o.cfg.MinPoll)
	}
	if o.cfg.StepThreshold < 0 || o.cfg.Jump < 0 {
		return o, fmt.Errorf("-step and -jump must not be negative")
	}
	for _, s := range o.servers {
		if err := checkServer(s); err != nil {
			return o, fmt.Errorf("-server: %w", err)
		}
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ntpd: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	s := &Syncer{
		Cfg:   o.cfg,
		Clock: kernelClock{rtc: o.rtc},
		Query: Query,
		Log:   os.Stdout,
		Servers: func() []string {
			return serverList(o.servers, []string{metadataServers, dhcpServers}, os.ReadFile, func(msg string) {
				fmt.Fprintf(os.Stderr, "ntpd: %s\n", msg)
			})
		},
	}
	if o.once {
		ctx, cancel := context.WithTimeout(ctx, o.wait)
		defer cancel()
		if err := s.First(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "ntpd: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ntpd: %v\n", err)
		os.Exit(1)
	}
}
