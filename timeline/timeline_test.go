package timeline

import (
	"math"
	"strings"
	"testing"
)

func TestParseCPUSumsTheColumnsOfTheAggregateLineIntoSeconds(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice, in 1/100 s
	stat := "cpu  146 4 183 20 2 1 6 3 0 0\ncpu0 146 4 183 20 2 1 6 3 0 0\nintr 1234\n"
	got, err := ParseCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	want := CPU{User: 1.50, System: 1.90, Idle: 0.22, Steal: 0.03}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"user", got.User, want.User}, {"system", got.System, want.System}, {"idle", got.Idle, want.Idle},
		{"steal", got.Steal, want.Steal}, {"busy", got.Busy(), 3.40}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseCPUTakesTheFewerColumnsOfOlderKernels(t *testing.T) {
	got, err := ParseCPU([]byte("cpu 10 0 20 30\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got != (CPU{User: 0.1, System: 0.2, Idle: 0.3}) {
		t.Errorf("got %+v", got)
	}
}

func TestParseCPURejectsWhatIsNotTheCPULine(t *testing.T) {
	for _, stat := range []string{"", "intr 1 2 3 4 5\n", "cpu 1 2\n", "cpu 1 2 x 4\n"} {
		if _, err := ParseCPU([]byte(stat)); err == nil || !strings.Contains(err.Error(), "/proc/stat") {
			t.Errorf("ParseCPU(%q) = %v, want an error naming /proc/stat", stat, err)
		}
	}
}
