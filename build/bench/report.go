package bench

import (
	"math"
	"time"
)

// Result is everything a benchmark measured; bench.json holds it.
type Result struct {
	Date   time.Time `json:"date"`
	Host   Host      `json:"host"`
	Config Settings  `json:"config"`

	// Boot holds the boot stages (seconds of uptime) and QEMU wall times, in report order.
	Boot []Metric `json:"boot"`
	// Ratio is the median of all-services-started over the floor's median uptime: how many
	// times the bare kernel's boot a Keel boot takes.
	Ratio float64 `json:"services_ready_over_floor"`
	// Memory holds PID 1's and containerd's memory at services_ready, in kB.
	Memory []Metric `json:"memory"`
	// CPU holds the vCPUs' busy and idle seconds when the floor's /init ran, when PID 1
	// started and when every service had started: little idle means a CPU-bound boot.
	CPU []Metric `json:"cpu"`

	// Restarts compares memory at services_ready with memory after service restarts, from
	// the restarts boot; nil without one.
	Restarts *Restarts `json:"restarts,omitempty"`

	// Layouts compares the boots of the root as an initramfs and as a squashfs on a disk.
	Layouts []Layout `json:"layouts,omitempty"`

	// MinMemory is the smallest guest memory each layout booted in and stayed up with.
	MinMemory []MinMem `json:"min_memory,omitempty"`

	// VCPUs compares the boots at each vCPU count (when more than one was booted).
	VCPUs []VCPURow `json:"vcpus,omitempty"`

	Size  Size       `json:"size"`
	Build BuildTimes `json:"build"`

	// ChartRun is the Keel run drawn in timeline.svg: the one whose all-services-started is
	// nearest the median.
	ChartRun int `json:"chart_run"`
	// Contended counts the boots during which another QEMU ran on the host.
	Contended int       `json:"contended_boots"`
	Runs      []BootRun `json:"runs"`
}

// Host describes the machine the benchmark ran on.
type Host struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	QEMU   string `json:"qemu"`
	Go     string `json:"go"`
}

// Settings are how the benchmark ran.
type Settings struct {
	Files        []string `json:"files"`
	Arch         string   `json:"arch"`
	Runs         int      `json:"runs"`
	Accel        string   `json:"accel"`
	CPUs         int      `json:"cpus"`
	MoreCPUs     []int    `json:"more_cpus,omitempty"` // further vCPU counts, in the vCPU table
	Mem          string   `json:"mem"`
	Cmdline      string   `json:"cmdline"`
	FloorCmdline string   `json:"floor_cmdline"`
	Compression  string   `json:"compression"`        // the initramfs's: zstd, zstd-max...
	Restarts     int      `json:"restarts,omitempty"` // service restarts in the restarts boot
	// MinMemResolution and MinMemStay (seconds) are the minimum-memory search's, when it ran.
	MinMemResolution int     `json:"min_mem_resolution_mib,omitempty"`
	MinMemStay       float64 `json:"min_mem_stay_s,omitempty"`
}

// Restarts is what the restarts boot measured.
type Restarts struct {
	Requested int     `json:"requested"`
	Done      int     `json:"done"`
	Seconds   float64 `json:"seconds"` // from services_ready to the end of the restarts
	// Before is the memory once every service had started, before the first restart,
	// sampled as the others are (keel-ctl memory).
	Before Memory `json:"before"`
	// Samples are the memory after each quarter of the restarts, the last after all.
	Samples []RestartSample `json:"samples"`
}

// RestartSample is the memory (keel-ctl memory) after so many service restarts.
type RestartSample struct {
	Restarts int    `json:"restarts"`
	Memory   Memory `json:"memory"`
}

// Metric is one summarized measurement.
type Metric struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Unit  string `json:"unit"` // "s" or "kB"
	Stat
}

// Size is the image's size.
type Size struct {
	Kernel             int64  `json:"kernel"`
	InitrdCompressed   int64  `json:"initrd_compressed"`
	InitrdUncompressed int64  `json:"initrd_uncompressed"` // the cpio archive
	Squashfs           int64  `json:"squashfs,omitempty"`  // the kernel+squashfs root
	Contents           int64  `json:"contents"`            // file contents, each file once
	Parts              []Part `json:"parts"`
}

// Layout is how one way of handing the root to the kernel booted: the same image's runs of
// one kind.
type Layout struct {
	Name          string `json:"name"`  // the keel build format
	Bytes         int64  `json:"bytes"` // what the machine loads: the initramfs or the squashfs
	PID1Start     Stat   `json:"pid1_start_s"`
	ServicesReady Stat   `json:"services_ready_s"`
	MemUsed       Stat   `json:"mem_used_kb"`
	Wall          Stat   `json:"wall_s"`
	PID1ToReady   Stat   `json:"pid1_to_ready_s"` // per boot: services ready − PID 1 start
	Busy          Stat   `json:"busy_s"`          // per boot: CPU busy from PID 1 start to services ready
}

// field picks one value out of a timeline.
type field struct {
	key, label string
	get        func(*Timeline) float64
}

// bootFields are the boot stages reported for Keel runs, in report order.
var bootFields = []field{
	{"pid1_start", "keel: PID 1 starts", func(t *Timeline) float64 { return t.PID1Start }},
	{"mounts_done", "keel: mounts done", func(t *Timeline) float64 { return t.MountsDone }},
	{"onboot_done", "keel: onboot done", func(t *Timeline) float64 { return t.OnbootDone }},
	{"containerd_ready", "keel: containerd ready", func(t *Timeline) float64 { return t.ContainerdReady }},
	{"services_ready", "keel: all services started", func(t *Timeline) float64 { return t.ServicesReady }},
	{"shutdown_end", "keel: powered off (shutdown end)", func(t *Timeline) float64 { return t.ShutdownEnd }},
	{"shutdown_duration", "keel: shutdown took", func(t *Timeline) float64 {
		if t.ShutdownStart <= 0 || t.ShutdownEnd <= 0 {
			return 0
		}
		return t.ShutdownEnd - t.ShutdownStart
	}},
}

// memoryFields are the memory figures reported, in report order.
var memoryFields = []field{
	{"pid1_vmhwm_kb", "PID 1 peak RSS (VmHWM)", func(t *Timeline) float64 { return memOf(t).PID1VmHWM }},
	{"pid1_rss_anon_kb", "PID 1 anonymous RSS (RssAnon)", func(t *Timeline) float64 { return memOf(t).PID1RssAnon }},
	{"containerd_rss_kb", "containerd RSS", func(t *Timeline) float64 { return memOf(t).ContainerdRss }},
	{"shims_rss_kb", "containerd shims RSS (all)", func(t *Timeline) float64 { return memOf(t).ShimsRss }},
	{"mem_used_kb", "machine: memory in use (MemTotal − MemAvailable)", func(t *Timeline) float64 { return memOf(t).MemUsed }},
}

// cpuFields are the CPU figures reported for Keel runs, in report order; floor_busy and
// floor_idle come before them. A run without the sample gives NaN, which the summary leaves
// out; zero idle time is a value.
var cpuFields = []field{
	{"pid1_busy", "keel: busy when PID 1 starts", func(t *Timeline) float64 { return cpuBusy(t.CPUAtPID1) }},
	{"pid1_idle", "keel: idle when PID 1 starts", func(t *Timeline) float64 { return cpuIdle(t.CPUAtPID1) }},
	{"ready_user", "keel: user when all services started", func(t *Timeline) float64 {
		return cpuPart(t.CPUAtServicesReady, func(c CPU) float64 { return c.User })
	}},
	{"ready_system", "keel: system when all services started", func(t *Timeline) float64 {
		return cpuPart(t.CPUAtServicesReady, func(c CPU) float64 { return c.System })
	}},
	{"ready_idle", "keel: idle when all services started", func(t *Timeline) float64 { return cpuIdle(t.CPUAtServicesReady) }},
	{"boot_busy", "keel: busy from PID 1 start to all services started", bootBusy},
}

// bootBusy is the CPU time, summed over the vCPUs, spent from PID 1's start to services ready.
func bootBusy(t *Timeline) float64 { return cpuBusy(t.CPUAtServicesReady) - cpuBusy(t.CPUAtPID1) }

// cpuPart is part of c, or NaN without a sample.
func cpuPart(c *CPU, part func(CPU) float64) float64 {
	if c == nil {
		return math.NaN()
	}
	return part(*c)
}

func cpuBusy(c *CPU) float64 { return cpuPart(c, CPU.Busy) }
func cpuIdle(c *CPU) float64 { return cpuPart(c, func(c CPU) float64 { return c.Idle }) }

func memOf(t *Timeline) Memory {
	if t.Memory == nil {
		return Memory{}
	}
	return *t.Memory
}

// summarize fills r's Boot, Ratio, Memory and ChartRun from r.Runs.
func (r *Result) summarize() {
	var floor, floorWall, keelWall, floorBusy, floorIdle []float64
	var keel []*Timeline
	main := r.runsAt(r.Config.CPUs)
	for i := range main {
		run := &main[i]
		switch run.Kind {
		case KindFloor:
			floor = append(floor, run.FloorUptime)
			floorWall = append(floorWall, run.WallSeconds)
			floorBusy, floorIdle = append(floorBusy, cpuBusy(run.FloorCPU)), append(floorIdle, cpuIdle(run.FloorCPU))
		case KindKeel:
			keelWall = append(keelWall, run.WallSeconds)
			if run.Timeline != nil {
				keel = append(keel, run.Timeline)
			}
		}
	}
	collect := func(f field) []float64 {
		v := make([]float64, len(keel))
		for i, t := range keel {
			v[i] = f.get(t)
		}
		return v
	}
	floorStat := Summarize(floor)
	r.Boot = []Metric{{Key: "floor_uptime", Label: "floor: /init runs (the kernel alone)", Unit: "s", Stat: floorStat}}
	var ready Stat
	for _, f := range bootFields {
		s := Summarize(collect(f))
		if f.key == "services_ready" {
			ready = s
		}
		r.Boot = append(r.Boot, Metric{Key: f.key, Label: f.label, Unit: "s", Stat: s})
	}
	r.Boot = append(r.Boot,
		Metric{Key: "wall_floor", Label: "qemu wall time, floor", Unit: "s", Stat: Summarize(floorWall)},
		Metric{Key: "wall_keel", Label: "qemu wall time, keel", Unit: "s", Stat: Summarize(keelWall)},
	)
	r.Ratio = 0
	if floorStat.Median > 0 && ready.Median > 0 {
		r.Ratio = ready.Median / floorStat.Median
	}
	r.Memory = nil
	for _, f := range memoryFields {
		r.Memory = append(r.Memory, Metric{Key: f.key, Label: f.label, Unit: "kB", Stat: Summarize(collect(f))})
	}
	r.CPU = []Metric{
		{Key: "floor_busy", Label: "floor: busy when /init runs", Unit: "s", Stat: SummarizeAmounts(floorBusy)},
		{Key: "floor_idle", Label: "floor: idle when /init runs", Unit: "s", Stat: SummarizeAmounts(floorIdle)},
	}
	for _, f := range cpuFields {
		r.CPU = append(r.CPU, Metric{Key: f.key, Label: f.label, Unit: "s", Stat: SummarizeAmounts(collect(f))})
	}
	r.Layouts = layouts(main, r.Size)
	r.VCPUs = r.vcpus()
	r.Restarts = nil
	for _, run := range main {
		s := run.RestartSamples
		if run.Kind != KindRestarts || len(s) < 2 {
			continue
		}
		r.Restarts = &Restarts{
			Requested: r.Config.Restarts,
			Done:      s[len(s)-1].Restarts,
			Before:    s[0].Memory, Samples: s[1:],
		}
		if t := run.Timeline; t != nil && t.ShutdownStart > 0 {
			r.Restarts.Seconds = t.ShutdownStart - t.ServicesReady
		}
	}
	r.ChartRun = chartRun(main, ready.Median)
	r.Contended = 0
	for _, run := range r.Runs {
		if len(run.OtherQEMUs) > 0 {
			r.Contended++
		}
	}
}

// chartRun returns the N of the Keel run whose services_ready is nearest median (the first
// such), or 0 if there is none.
func chartRun(runs []BootRun, median float64) int {
	best, bestDiff := 0, math.Inf(1)
	for _, run := range runs {
		if run.Kind != KindKeel || run.Timeline == nil || run.Timeline.ServicesReady <= 0 {
			continue
		}
		if d := math.Abs(run.Timeline.ServicesReady - median); d < bestDiff {
			best, bestDiff = run.N, d
		}
	}
	return best
}

// metric returns the metric with key among ms.
func metric(ms []Metric, key string) (Metric, bool) {
	for _, m := range ms {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// keelRun returns the Keel run numbered n.
func keelRun(runs []BootRun, n int) *BootRun {
	for k := range runs {
		if runs[k].Kind == KindKeel && runs[k].N == n {
			return &runs[k]
		}
	}
	return nil
}

// layouts summarizes the Keel boots from the initramfs and those from the squashfs, or is nil
// when only one layout was booted (the boot table says it all).
func layouts(runs []BootRun, size Size) []Layout {
	if out := layoutStats(runs, size); len(out) == 2 {
		return out
	}
	return nil
}

// layoutStats summarizes the Keel boots of each layout among runs.
func layoutStats(runs []BootRun, size Size) []Layout {
	var out []Layout
	for _, l := range []struct {
		kind, name string
		bytes      int64
	}{
		{KindKeel, layoutName(KindKeel), size.InitrdCompressed},
		{KindSquashfs, layoutName(KindSquashfs), size.Squashfs},
	} {
		var pid1, ready, mem, wall, span, busy []float64
		for _, run := range runs {
			t := run.Timeline
			if run.Kind != l.kind || t == nil {
				continue
			}
			pid1, ready = append(pid1, t.PID1Start), append(ready, t.ServicesReady)
			mem, wall = append(mem, memOf(t).MemUsed), append(wall, run.WallSeconds)
			span, busy = append(span, t.ServicesReady-t.PID1Start), append(busy, bootBusy(t))
		}
		if len(ready) == 0 {
			continue
		}
		out = append(out, Layout{Name: l.name, Bytes: l.bytes, PID1Start: Summarize(pid1),
			ServicesReady: Summarize(ready), MemUsed: Summarize(mem), Wall: Summarize(wall),
			PID1ToReady: Summarize(span), Busy: SummarizeAmounts(busy)})
	}
	return out
}

// layoutName is the keel build format a Keel boot kind booted.
func layoutName(kind string) string {
	if kind == KindSquashfs {
		return "kernel+squashfs"
	}
	return "kernel+initrd"
}

// runsAt are the runs booted with cpus vCPUs (runs recorded before the count was kept have
// none, and were booted with the main count).
func (r *Result) runsAt(cpus int) []BootRun {
	var out []BootRun
	for _, run := range r.Runs {
		if run.CPUs == cpus || (run.CPUs == 0 && cpus == r.Config.CPUs) {
			out = append(out, run)
		}
	}
	return out
}

// VCPURow is one layout's boots at one vCPU count, against the floor's at that count.
type VCPURow struct {
	CPUs          int     `json:"cpus"`
	Layout        string  `json:"layout"` // the keel build format
	Floor         Stat    `json:"floor_uptime_s"`
	PID1Start     Stat    `json:"pid1_start_s"`
	ServicesReady Stat    `json:"services_ready_s"`
	Ratio         float64 `json:"services_ready_over_floor"` // of the medians
	PID1ToReady   Stat    `json:"pid1_to_ready_s"`           // per boot: services ready − PID 1 start
	// Busy is the CPU time, summed over the vCPUs, spent from PID 1's start to services
	// ready; Parallel is its median over PID1ToReady's: how many vCPUs were busy on average.
	Busy     Stat    `json:"busy_s"`
	Parallel float64 `json:"busy_vcpus"`
}

// vcpus compares the boots at each vCPU count, or is nil when one count was booted.
func (r *Result) vcpus() []VCPURow {
	if len(r.Config.MoreCPUs) == 0 {
		return nil
	}
	var out []VCPURow
	for _, cpus := range append([]int{r.Config.CPUs}, r.Config.MoreCPUs...) {
		runs := r.runsAt(cpus)
		var floor []float64
		for _, run := range runs {
			if run.Kind == KindFloor {
				floor = append(floor, run.FloorUptime)
			}
		}
		floorStat := Summarize(floor)
		for _, l := range layoutStats(runs, r.Size) {
			row := VCPURow{CPUs: cpus, Layout: l.Name, Floor: floorStat, PID1Start: l.PID1Start,
				ServicesReady: l.ServicesReady, PID1ToReady: l.PID1ToReady, Busy: l.Busy}
			if floorStat.Median > 0 {
				row.Ratio = row.ServicesReady.Median / floorStat.Median
			}
			if row.Busy.N > 0 && row.PID1ToReady.Median > 0 {
				row.Parallel = row.Busy.Median / row.PID1ToReady.Median
			}
			out = append(out, row)
		}
	}
	return out
}
