package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/timeline"
)

// Console markers.
const (
	// TimelinePrefix starts the line PID 1 prints just before reboot(2) when the poweroff
	// was asked for with `keel-ctl poweroff --timeline`, followed by the timeline as JSON.
	TimelinePrefix = guest.LinePrefix + guest.Timeline
	// FloorPrefix starts the line the floor's /init prints, followed by its uptime.
	FloorPrefix = guest.FloorUptime
	// FloorStatPrefix starts the line the floor's /init prints next: the first line of
	// /proc/stat, the CPU time the kernel's boot took.
	FloorStatPrefix = guest.FloorStat
)

// Timeline, Span and Memory are the timeline PID 1 prints (package timeline).
type (
	Timeline = timeline.Timeline
	Span     = timeline.Span
	Memory   = timeline.Memory
	CPU      = timeline.CPU
)

// ErrNoTimeline is returned when a console shows no timeline line.
var ErrNoTimeline = errors.New(`no "` + strings.TrimSpace(TimelinePrefix) + `" line on the console (does PID 1 know keel-ctl poweroff --timeline?)`)

// ErrNoFloor is returned when a console shows no floor uptime line.
var ErrNoFloor = errors.New(`no "` + strings.TrimSpace(FloorPrefix) + `" line on the console`)

// consoleLines splits console output into lines without carriage returns.
func consoleLines(console string) []string {
	return strings.Split(strings.ReplaceAll(console, "\r", ""), "\n")
}

// ParseTimelines returns the timelines printed on console, in order. A marker may follow
// other output on its line (kernel messages interleave with PID 1's); the JSON object after
// it is read and anything after the object ignored. A line whose JSON does not decode is an
// error only if no line decodes.
func ParseTimelines(console string) ([]Timeline, error) {
	var out []Timeline
	var firstErr error
	for i, line := range consoleLines(console) {
		_, rest, ok := strings.Cut(line, TimelinePrefix)
		if !ok {
			continue
		}
		var t Timeline
		dec := json.NewDecoder(strings.NewReader(rest))
		if err := dec.Decode(&t); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("console line %d: timeline JSON: %w", i+1, err)
			}
			continue
		}
		if t.Clock != "" && t.Clock != "boottime" {
			return nil, fmt.Errorf("console line %d: timeline clock %q, want boottime", i+1, t.Clock)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, ErrNoTimeline
	}
	return out, nil
}

// LastTimeline returns the last timeline printed on console: the one PID 1 prints just
// before reboot(2), which has the shutdown stages as well as the boot ones.
func LastTimeline(console string) (Timeline, error) {
	all, err := ParseTimelines(console)
	if err != nil {
		return Timeline{}, err
	}
	return all[len(all)-1], nil
}

// ParseMemory reads the memory sample `keel-ctl memory --json` prints, from the first "{" of
// line; ok is false for a line without one (the command's echo, other output).
func ParseMemory(line string) (m Memory, ok bool) {
	i := strings.IndexByte(line, '{')
	if i < 0 {
		return Memory{}, false
	}
	if err := json.NewDecoder(strings.NewReader(line[i:])).Decode(&m); err != nil || m.PID1VmHWM <= 0 {
		return Memory{}, false
	}
	return m, true
}

// ParseFloorCPU returns the CPU time the floor's /init printed on console, or nil if it
// printed none (it could not mount /proc; the line it printed instead says why).
func ParseFloorCPU(console string) (*CPU, error) {
	for i, line := range consoleLines(console) {
		_, rest, ok := strings.Cut(line, FloorStatPrefix)
		if !ok {
			continue
		}
		c, err := timeline.ParseCPU([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("console line %d: %w", i+1, err)
		}
		return &c, nil
	}
	return nil, nil
}

// ParseFloor returns the uptime the floor's /init printed on console.
func ParseFloor(console string) (float64, error) {
	for i, line := range consoleLines(console) {
		_, rest, ok := strings.Cut(line, FloorPrefix)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, fmt.Errorf("console line %d: floor uptime missing", i+1)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("console line %d: floor uptime %q: not a positive number", i+1, f[0])
		}
		return v, nil
	}
	return 0, ErrNoFloor
}
