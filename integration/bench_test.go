package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/build/bench"
)

// TestBenchDrivesTheExampleFromItsConsoleShell runs keel bench on the example with one boot of
// each image (the floor, Keel from its initramfs and from its squashfs) at 1 and 2 vCPUs and a
// short restarts boot, then searches the smallest memory each layout boots in with a short stay. PID 1 has no
// benchmark mode: the benchmark types
// keel-ctl at the getty shell once PID 1 said boot complete, and reads the final timeline
// PID 1 prints after keel-ctl poweroff --timeline.
func TestBenchDrivesTheExampleFromItsConsoleShell(t *testing.T) {
	needGuest(t)
	out := t.TempDir()
	if msg, err := command(repo, keelBin, "bench", "--runs", "1", "--cpus", "1,2", "--build-runs", "0", "--restarts", "4", "--min-mem-stay", "3s", "--min-mem-resolution", "128", "--out", out, "examples/keel.yml"); err != nil {
		t.Fatalf("keel bench: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(filepath.Join(out, bench.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", bench.JSONFile, err)
	}
	if strings.Contains(r.Config.Cmdline, "keel.bench") {
		t.Errorf("kernel command line %q: want no benchmark mode", r.Config.Cmdline)
	}
	var keel *bench.BootRun
	for i := range r.Runs {
		if r.Runs[i].Kind == bench.KindKeel {
			keel = &r.Runs[i]
		}
	}
	if keel == nil || keel.Timeline == nil {
		t.Fatalf("no Keel run with a timeline: %+v", r.Runs)
	}
	if tl := keel.Timeline; !(tl.ServicesReady > 0 && tl.ShutdownStart > tl.ServicesReady && tl.ShutdownEnd > tl.ShutdownStart) || tl.Memory == nil {
		t.Errorf("timeline: services ready %v, shutdown %v to %v, memory %v: want them in that order, with memory",
			tl.ServicesReady, tl.ShutdownStart, tl.ShutdownEnd, tl.Memory)
	}
	console, err := os.ReadFile(keel.Console)
	if err != nil {
		t.Fatal(err)
	}
	inOrder(t, string(console), "keel: boot complete", "keel-ctl poweroff --timeline", "keel: power off requested", "keel: timeline {", "keel: power off")
	if len(r.Layouts) != 2 || r.Layouts[1].Name != "kernel+squashfs" || r.Layouts[1].ServicesReady.Median <= 0 || r.Layouts[1].MemUsed.Median <= 0 || r.Size.Squashfs <= 0 {
		t.Errorf("root layouts %+v, squashfs %d bytes: want the initramfs and the squashfs boots compared", r.Layouts, r.Size.Squashfs)
	}
	if len(r.VCPUs) != 4 {
		t.Errorf("vCPU table %+v: want both layouts at 1 and 2 vCPUs", r.VCPUs)
	}
	for _, v := range r.VCPUs {
		if v.ServicesReady.Median <= 0 || v.Ratio <= 0 || v.Busy.N != 1 || v.Parallel <= 0 {
			t.Errorf("vCPU row %+v: want services ready, the ratio to that count's floor and the CPU busy", v)
		}
	}
	if r.Ratio != r.VCPUs[0].Ratio {
		t.Errorf("services ready / floor %v, the 1-vCPU initramfs row's %v: the main figures are the first count's", r.Ratio, r.VCPUs[0].Ratio)
	}
	if rs := r.Restarts; rs == nil || rs.Done != 4 || len(rs.Samples) != 4 || rs.Before.PID1VmHWM <= 0 {
		t.Errorf("restarts: %+v; want 4 done, memory before them and after each", rs)
	}
	if len(r.MinMemory) != 2 || r.MinMemory[0].Name != "kernel+initrd" || r.MinMemory[1].Name != "kernel+squashfs" {
		t.Errorf("min memory %+v: want the initramfs's and the squashfs's", r.MinMemory)
	}
	for _, m := range r.MinMemory {
		if m.Error != "" || m.MiB <= 0 || m.MiB > 1024 || len(m.Probes) < 2 {
			t.Errorf("min memory %s: %d MiB, error %q, %d probes: want a size found by bisection", m.Name, m.MiB, m.Error, len(m.Probes))
			continue
		}
		for _, p := range m.Probes {
			console, err := os.ReadFile(p.Console)
			if err != nil {
				t.Error(err)
			} else if p.OK && !strings.Contains(string(console), "keel-ctl status") {
				t.Errorf("%s: a probe that passed without keel-ctl status", p.Console)
			}
		}
	}
	for _, f := range []string{bench.MDFile, bench.ChartFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
