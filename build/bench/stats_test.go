package bench

import (
	"math"
	"strings"
	"testing"
)

func TestSummarizeOddCountTakesTheMiddleValue(t *testing.T) {
	got := Summarize([]float64{3, 1, 2})
	if got != (Stat{N: 3, Median: 2, Min: 1, Max: 3}) {
		t.Errorf("got %+v", got)
	}
}

func TestSummarizeEvenCountAveragesTheTwoMiddleValues(t *testing.T) {
	got := Summarize([]float64{4, 1, 3, 2})
	if got != (Stat{N: 4, Median: 2.5, Min: 1, Max: 4}) {
		t.Errorf("got %+v", got)
	}
}

func TestSummarizeLeavesOutStagesNotReached(t *testing.T) {
	got := Summarize([]float64{0, 5, 0, 7, math.NaN()})
	if got != (Stat{N: 2, Median: 6, Min: 5, Max: 7}) {
		t.Errorf("got %+v", got)
	}
	if got := Summarize([]float64{0, 0}); got != (Stat{}) {
		t.Errorf("all zero: got %+v, want the zero Stat", got)
	}
}

func TestSummarizeAmountsKeepsZerosAndLeavesOutWhatWasNotMeasured(t *testing.T) {
	got := SummarizeAmounts([]float64{0, 0.2, math.NaN(), 0.1})
	if got != (Stat{N: 3, Median: 0.1, Min: 0, Max: 0.2}) {
		t.Errorf("got %+v", got)
	}
}

func TestSummarizeResultComputesRatioOfMediansAndPicksTheMedianRunForTheChart(t *testing.T) {
	keel := func(n int, ready float64) BootRun {
		return BootRun{Kind: KindKeel, N: n, WallSeconds: 10, Timeline: &Timeline{PID1Start: 1, ServicesReady: ready,
			Memory: &Memory{PID1VmHWM: float64(1000 * n)}}}
	}
	r := &Result{Runs: []BootRun{
		{Kind: KindFloor, N: 1, FloorUptime: 1.0, WallSeconds: 3}, keel(1, 5),
		{Kind: KindFloor, N: 2, FloorUptime: 2.0, WallSeconds: 4}, keel(2, 3),
		{Kind: KindFloor, N: 3, FloorUptime: 3.0, WallSeconds: 5}, keel(3, 4),
	}}
	r.summarize()
	if r.Ratio != 2 { // services_ready median 4 over floor median 2
		t.Errorf("ratio = %v, want 2", r.Ratio)
	}
	if r.ChartRun != 3 {
		t.Errorf("chart run = %d, want 3 (services ready at the median, 4 s)", r.ChartRun)
	}
	if m, _ := metric(r.Boot, "floor_uptime"); m.Stat != (Stat{3, 2, 1, 3}) {
		t.Errorf("floor = %+v", m.Stat)
	}
	if m, _ := metric(r.Boot, "wall_floor"); m.Median != 4 {
		t.Errorf("floor wall median = %v, want 4", m.Median)
	}
	if m, _ := metric(r.Boot, "shutdown_end"); m.N != 0 {
		t.Errorf("shutdown_end never reached but N = %d", m.N)
	}
	if m, _ := metric(r.Memory, "pid1_vmhwm_kb"); m.Median != 2000 {
		t.Errorf("VmHWM median = %v, want 2000", m.Median)
	}
}

func TestSummarizeResultCountsBootsThatRanBesideAnotherQEMU(t *testing.T) {
	r := &Result{Runs: []BootRun{
		{Kind: KindFloor, N: 1, FloorUptime: 1, OtherQEMUs: []int{42}},
		{Kind: KindKeel, N: 1, Timeline: &Timeline{ServicesReady: 2}},
	}}
	r.summarize()
	if r.Contended != 1 {
		t.Errorf("contended = %d, want 1", r.Contended)
	}
	if md := Markdown(r); !strings.Contains(md, "1 of 2 boots ran while another QEMU was running") {
		t.Errorf("markdown lacks the contention warning:\n%s", md)
	}
}
