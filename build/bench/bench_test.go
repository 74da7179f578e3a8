package bench

import (
	"encoding/json"
	"github.com/keel-os/keel/rootfs/initrd"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteResultWritesJSONMarkdownAndTheChartOfTheMedianRun(t *testing.T) {
	tl, err := LastTimeline(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	r := &Result{
		Config: Settings{Files: []string{"examples/keel.yml"}, Runs: 1, Accel: "tcg", CPUs: 1, Mem: "1G"},
		Runs:   []BootRun{{Kind: KindFloor, N: 1, FloorUptime: 0.8}, {Kind: KindKeel, N: 1, Timeline: &tl}},
	}
	r.summarize()
	dir := t.TempDir()
	if err := writeResult(r, dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("bench.json: %v", err)
	}
	if len(back.Runs) != 2 || back.Runs[1].Timeline == nil || len(back.Runs[1].Timeline.Spans) != 3 {
		t.Errorf("bench.json lost the raw runs: %+v", back.Runs)
	}
	md, err := os.ReadFile(filepath.Join(dir, MDFile))
	if err != nil || !strings.Contains(string(md), "| keel: all services started | 3.40 |") {
		t.Errorf("bench.md: %v\n%s", err, md)
	}
	svg, err := os.ReadFile(filepath.Join(dir, ChartFile))
	if err != nil || !strings.Contains(string(svg), "run 1 of 1") {
		t.Errorf("timeline.svg: %v", err)
	}
	decodeSVG(t, svg)
}

func TestChartNeedsAKeelRunWithATimeline(t *testing.T) {
	r := &Result{Runs: []BootRun{{Kind: KindFloor, N: 1, FloorUptime: 1}}}
	r.summarize()
	if _, err := r.Chart(); err == nil {
		t.Error("Chart succeeded without a Keel run")
	}
}

func TestOptionsWriteTheInitrdAsKeelBuildDoesUnlessTold(t *testing.T) {
	o := Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir()}
	if err := o.defaults(); err != nil || o.Compression != initrd.Zstd {
		t.Errorf("default compression %q, %v; want zstd", o.Compression, err)
	}
	o = Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir(), Compression: initrd.ZstdMax}
	if err := o.defaults(); err != nil || o.Compression != initrd.ZstdMax {
		t.Errorf("compression zstd-max became %q, %v", o.Compression, err)
	}
}

func TestOptionsBootOneVCPUUnlessToldAndRefuseANegativeCount(t *testing.T) {
	o := Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir()}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	if o.CPUs != 1 {
		t.Errorf("default CPUs = %d, want 1", o.CPUs)
	}
	o = Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir(), CPUs: 2}
	if err := o.defaults(); err != nil || o.CPUs != 2 {
		t.Errorf("CPUs 2: got %d, %v", o.CPUs, err)
	}
	o = Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir(), CPUs: -1}
	if err := o.defaults(); err == nil || !strings.Contains(err.Error(), "cpus -1") {
		t.Errorf("CPUs -1: err = %v, want one naming cpus -1", err)
	}
}

func TestTheMainFiguresAreTheMainCountsAndTheVCPUTableComparesEachCount(t *testing.T) {
	keel := func(cpus int, pid1, ready, busyAtPID1, busyAtReady float64) BootRun {
		return BootRun{Kind: KindKeel, CPUs: cpus, N: 1, Timeline: &Timeline{PID1Start: pid1, ServicesReady: ready,
			CPUAtPID1: &CPU{User: busyAtPID1}, CPUAtServicesReady: &CPU{User: busyAtReady}}}
	}
	r := &Result{
		Config: Settings{Runs: 1, Accel: "tcg", CPUs: 1, MoreCPUs: []int{2}, Mem: "1G"},
		Runs: []BootRun{
			{Kind: KindFloor, CPUs: 2, N: 1, FloorUptime: 1.25},
			keel(2, 1.5, 2.5, 2, 3.5),
			{Kind: KindFloor, CPUs: 1, N: 1, FloorUptime: 1},
			keel(1, 2, 4, 2, 4),
		},
	}
	r.summarize()
	if r.Ratio != 4 {
		t.Errorf("services ready / floor = %v, want 4 (the 1-vCPU boots alone)", r.Ratio)
	}
	if len(r.VCPUs) != 2 {
		t.Fatalf("vCPU rows = %+v, want one per count", r.VCPUs)
	}
	two := r.VCPUs[1]
	if two.CPUs != 2 || two.Layout != "kernel+initrd" || two.Ratio != 2 || two.PID1ToReady.Median != 1 ||
		two.Busy.Median != 1.5 || two.Parallel != 1.5 {
		t.Errorf("2-vCPU row = %+v; want ratio 2, PID 1 → ready 1 s, 1.5 s busy, 1.5 vCPUs busy", two)
	}
	chart, err := r.Chart()
	if err != nil || chart.Timeline.ServicesReady != 4 {
		t.Errorf("chart of the run ready at %v, %v; want the 1-vCPU run (4 s)", chart.Timeline.ServicesReady, err)
	}
	md := Markdown(r)
	if !strings.Contains(md, "| 2 | kernel+initrd | 1.25 | 1.50 | 2.50 | 2.00× | 1.00 | 1.50 | 1.50 |") {
		t.Errorf("bench.md lacks the 2-vCPU row:\n%s", md)
	}
}

func TestOptionsRefuseAnExtraVCPUCountEqualToTheMainOne(t *testing.T) {
	o := Options{Files: []string{"a.yml"}, ModuleDir: t.TempDir(), CPUs: 2, MoreCPUs: []int{2}}
	if err := o.defaults(); err == nil {
		t.Error("MoreCPUs [2] with CPUs 2 was accepted")
	}
}
