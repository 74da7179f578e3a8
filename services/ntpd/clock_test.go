package main

import (
	"testing"
	"time"

	"github.com/beevik/ntp"
	"golang.org/x/sys/unix"
)

func TestStepTimexKeepsTheFractionPositive(t *testing.T) {
	for d, want := range map[time.Duration][2]int64{
		3600*time.Second + 250*time.Millisecond: {3600, 250e6},
		-1500 * time.Millisecond:                {-2, 500e6},
		-time.Second:                            {-1, 0},
	} {
		tx := stepTimex(d)
		if tx.Modes != unix.ADJ_SETOFFSET|unix.ADJ_NANO {
			t.Errorf("%s: modes %#x", d, tx.Modes)
		}
		if got := [2]int64{int64(tx.Time.Sec), int64(tx.Time.Usec)}; got != want {
			t.Errorf("%s: sec, nsec = %v, want %v", d, got, want)
		}
	}
}

func TestSlewTimexClampsToTheKernelsMaximumAndMarksTheClockSynchronised(t *testing.T) {
	s := Sample{Distance: 20 * time.Millisecond, RTT: 2 * time.Millisecond}
	tx := slewTimex(3*time.Second, s, 64*time.Second, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	if tx.Offset != int64(500*time.Millisecond) {
		t.Errorf("offset %d ns, want 0.5 s", tx.Offset)
	}
	if tx.Status != unix.STA_PLL {
		t.Errorf("status %#x, want STA_PLL alone (STA_UNSYNC cleared)", tx.Status)
	}
	if tx.Maxerror != 20000 || tx.Esterror != 1000 || tx.Constant != 2 {
		t.Errorf("maxerror %d esterror %d constant %d", tx.Maxerror, tx.Esterror, tx.Constant)
	}
	if tx := slewTimex(-3*time.Second, s, time.Minute, time.Now()); tx.Offset != -int64(500*time.Millisecond) {
		t.Errorf("offset %d ns, want -0.5 s", tx.Offset)
	}
}

func TestTimeConstantFollowsThePollInterval(t *testing.T) {
	for poll, want := range map[time.Duration]int64{
		time.Second: 0, 16 * time.Second: 0, 64 * time.Second: 2, 1024 * time.Second: 6, 36 * time.Hour: 10,
	} {
		if got := timeConstant(poll); got != want {
			t.Errorf("timeConstant(%s) = %d, want %d", poll, got, want)
		}
	}
}

func TestLeapSecondIsArmedOnlyOnTheMonthsLastDay(t *testing.T) {
	last := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	if got := leapStatus(ntp.LeapAddSecond, last); got != unix.STA_INS {
		t.Errorf("last day, insert: %#x", got)
	}
	if got := leapStatus(ntp.LeapDelSecond, last); got != unix.STA_DEL {
		t.Errorf("last day, delete: %#x", got)
	}
	if got := leapStatus(ntp.LeapAddSecond, last.AddDate(0, 0, -1)); got != 0 {
		t.Errorf("day before: %#x", got)
	}
	if got := leapStatus(ntp.LeapNoWarning, last); got != 0 {
		t.Errorf("no warning: %#x", got)
	}
}

func TestRTCTimeCountsMonthsFromZeroAndYearsFrom1900(t *testing.T) {
	got := rtcTime(time.Date(2026, 3, 1, 4, 5, 6, 0, time.FixedZone("x", 3600)))
	want := unix.RTCTime{Sec: 6, Min: 5, Hour: 3, Mday: 1, Mon: 2, Year: 126, Wday: 0, Yday: 59}
	if got != want {
		t.Errorf("rtcTime = %+v, want %+v", got, want)
	}
}

func TestSetRTCWithoutADeviceIsErrNoRTC(t *testing.T) {
	if err := (kernelClock{rtc: t.TempDir() + "/rtc0"}).SetRTC(); err != errNoRTC {
		t.Errorf("err %v, want errNoRTC", err)
	}
	if err := (kernelClock{}).SetRTC(); err != errNoRTC {
		t.Errorf("no device configured: err %v, want errNoRTC", err)
	}
}
