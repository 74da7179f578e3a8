package main

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"time"

	"github.com/beevik/ntp"
	"golang.org/x/sys/unix"
)

// maxPhase is the largest offset the kernel's PLL takes in one adjustment (MAXPHASE).
const maxPhase = 500 * time.Millisecond

// kernelClock is the real Clock: adjtimex(2) for the system clock, RTC_SET_TIME on the
// RTC device for the hardware clock.
type kernelClock struct {
	rtc string // RTC device path; "" for none
	now func() time.Time
}

// Step adds offset to the clock with ADJ_SETOFFSET: one atomic step relative to the current
// time, so no time passes between reading the clock and setting it.
func (c kernelClock) Step(offset time.Duration) error {
	tx := stepTimex(offset)
	if _, err := unix.Adjtimex(&tx); err != nil {
		return fmt.Errorf("adjtimex ADJ_SETOFFSET: %w", err)
	}
	return nil
}

// stepTimex is the adjtimex request that steps the clock by offset. With ADJ_NANO the
// "usec" field holds nanoseconds, and it must be in [0, 1e9): a negative offset is a
// negative second count plus a positive fraction.
func stepTimex(offset time.Duration) unix.Timex {
	sec, nsec := int64(offset/time.Second), int64(offset%time.Second)
	if nsec < 0 {
		sec--
		nsec += int64(time.Second)
	}
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO}
	tx.Time.Sec, tx.Time.Usec = sec, nsec
	return tx
}

// Slew hands offset to the kernel's PLL (as systemd-timesyncd does): the kernel slews the
// clock and learns its frequency error from successive samples. Clearing STA_UNSYNC also
// lets the kernel copy the time to the hardware clock every 11 minutes where it can (the PC's
// CMOS clock; RTC_SYSTOHC kernels).
func (c kernelClock) Slew(offset time.Duration, s Sample, poll time.Duration) error {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	tx := slewTimex(offset, s, poll, now())
	if _, err := unix.Adjtimex(&tx); err != nil {
		return fmt.Errorf("adjtimex ADJ_OFFSET: %w", err)
	}
	return nil
}

// slewTimex is the adjtimex request for one PLL sample.
func slewTimex(offset time.Duration, s Sample, poll time.Duration, now time.Time) unix.Timex {
	offset = max(-maxPhase, min(maxPhase, offset))
	tx := unix.Timex{
		Modes: unix.ADJ_STATUS | unix.ADJ_NANO | unix.ADJ_OFFSET | unix.ADJ_TIMECONST |
			unix.ADJ_MAXERROR | unix.ADJ_ESTERROR,
		Status:   unix.STA_PLL | leapStatus(s.Leap, now),
		Offset:   int64(offset),
		Constant: timeConstant(poll),
		Maxerror: s.Distance.Microseconds(),
		Esterror: (s.RTT / 2).Microseconds(),
	}
	return tx
}

// timeConstant is the PLL time constant for a poll interval: log2(seconds) - 4, as
// systemd-timesyncd uses (2 at 64 s, 6 at 1024 s), within the kernel's 0..10.
func timeConstant(poll time.Duration) int64 {
	s := uint64(max(poll/time.Second, 1))
	return int64(max(0, min(10, bits.Len64(s)-1-4)))
}

// leapStatus arms the kernel's leap second (inserted or deleted at the next UTC midnight)
// only on the last day of a month: servers announce it for the whole month.
func leapStatus(leap ntp.LeapIndicator, now time.Time) int32 {
	now = now.UTC()
	if now.AddDate(0, 0, 1).Month() == now.Month() {
		return 0
	}
	switch leap {
	case ntp.LeapAddSecond:
		return unix.STA_INS
	case ntp.LeapDelSecond:
		return unix.STA_DEL
	}
	return 0
}

// SetRTC writes the current UTC time to the RTC device (the hardware clock keeps UTC).
func (c kernelClock) SetRTC() error {
	if c.rtc == "" {
		return errNoRTC
	}
	f, err := os.OpenFile(c.rtc, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return errNoRTC
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", c.rtc, err)
	}
	defer f.Close()
	// The RTC counts whole seconds: set it at the start of the next one.
	now := time.Now()
	next := now.Truncate(time.Second).Add(time.Second)
	time.Sleep(next.Sub(now))
	t := rtcTime(next)
	if err := unix.IoctlSetRTCTime(int(f.Fd()), &t); err != nil {
		return fmt.Errorf("%s: RTC_SET_TIME: %w", c.rtc, err)
	}
	return nil
}

// rtcTime is t in UTC as struct rtc_time (months from 0, years from 1900).
func rtcTime(t time.Time) unix.RTCTime {
	t = t.UTC()
	return unix.RTCTime{
		Sec: int32(t.Second()), Min: int32(t.Minute()), Hour: int32(t.Hour()),
		Mday: int32(t.Day()), Mon: int32(t.Month()) - 1, Year: int32(t.Year() - 1900),
		Wday: int32(t.Weekday()), Yday: int32(t.YearDay() - 1),
	}
}
