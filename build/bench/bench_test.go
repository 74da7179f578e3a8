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
