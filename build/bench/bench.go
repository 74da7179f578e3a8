package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/keel-os/keel/build/qemu"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/rootfs/image"
	"github.com/keel-os/keel/rootfs/initrd"
)

// BenchCmdline is what the benchmarked image's kernel command line gets: no kernel chatter
// on the console the driver reads.
var BenchCmdline = []string{"quiet"}

// restartTimeout is what the restarts boot's time limit grows by per restart: each is typed
// at the console shell and waits for a shell to answer again.
const restartTimeout = 10 * time.Second

// FloorCmdline is the floor's kernel command line (build/qemu adds console=).
const FloorCmdline = "quiet"

// Options configure a benchmark.
type Options struct {
	Files  []string // YAML files, merged as keel build merges them
	Arch   string   // default amd64
	Runs   int      // boots of each image; default 5
	OutDir string   // default bench/out
	Mem    string   // guest memory; default 1G
	// CPUs is the guest's virtual CPUs; default 1, as in the published numbers (under TCG
	// each vCPU is a host thread).
	CPUs int
	// MoreCPUs are further vCPU counts: the floor and both layouts boot Runs times at each,
	// alternating with the boots at CPUs, for the vCPU table; the other figures are CPUs'.
	MoreCPUs []int
	Accel    string // default tcg: the numbers are TCG numbers
	// Compression is the initramfs's, for the booted image and the timed builds; default
	// initrd.Zstd, as keel build writes it.
	Compression initrd.Compression
	// ModuleDir is Keel's source tree, where the floor is built; default: found from the
	// working directory (FindModule).
	ModuleDir string
	// CacheDir is the local store and registry cache the image is built from ("" is
	// image.DefaultCacheDir).
	CacheDir string
	// BootTimeout bounds each boot; default 10 minutes.
	BootTimeout time.Duration
	// BuildRuns is how many rounds of store, cold and warm builds are timed; default 3, and
	// negative skips them.
	BuildRuns int
	// Restarts is how many service restarts (keel-ctl restart) one more Keel boot makes,
	// with PID 1's memory sampled along the way; default 100, and negative skips that boot.
	Restarts int
	// MinMem is the resolution, in MiB, of the search for the smallest guest memory each
	// layout boots in (see MinMem); default 4, and negative skips the search.
	MinMem int
	// MinMemStay is how long a guest must stay up after boot complete to pass a probe of
	// that search; default 60 s.
	MinMemStay time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Output files in OutDir.
const (
	JSONFile  = "bench.json"
	MDFile    = "bench.md"
	ChartFile = "timeline.svg"
)

func (o *Options) defaults() error {
	if len(o.Files) == 0 {
		return errors.New("bench: no YAML file")
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	o.Arch = image.NormalizeArch(o.Arch)
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Runs < 1 {
		return fmt.Errorf("bench: runs %d: want at least 1", o.Runs)
	}
	if o.OutDir == "" {
		o.OutDir = filepath.Join("bench", "out")
	}
	if o.Mem == "" {
		o.Mem = "1G"
	}
	if o.Accel == "" {
		o.Accel = "tcg"
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	if o.Compression == "" {
		o.Compression = initrd.Zstd
	}
	if o.CPUs < 0 {
		return fmt.Errorf("bench: cpus %d: want at least 1", o.CPUs)
	}
	for _, n := range o.MoreCPUs {
		if n < 1 || n == o.CPUs {
			return fmt.Errorf("bench: more cpus %v: want counts of at least 1 other than %d", o.MoreCPUs, o.CPUs)
		}
	}
	if o.BuildRuns == 0 {
		o.BuildRuns = 3
	}
	if o.Restarts == 0 {
		o.Restarts = 100
	}
	if o.MinMem == 0 {
		o.MinMem = 4
	}
	if o.MinMemStay == 0 {
		o.MinMemStay = time.Minute
	}
	if o.MinMemStay < 0 {
		return fmt.Errorf("bench: min-mem stay %s: want a positive duration", o.MinMemStay)
	}
	if o.MinMem > 0 {
		if _, err := qemu.ParseMem(o.Mem); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if o.BootTimeout == 0 {
		o.BootTimeout = 10 * time.Minute
	}
	if o.ModuleDir == "" {
		d, err := FindModule(".")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		o.ModuleDir = d
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// Run runs the benchmark (see the package doc) and writes bench.json, bench.md and
// timeline.svg to opts.OutDir. Boots and builds run one at a time, never concurrently.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(opts.Log, "bench: "+format+"\n", args...) }
	imagesDir := filepath.Join(opts.OutDir, "images")
	consoleDir := filepath.Join(opts.OutDir, "console")
	for _, d := range []string{imagesDir, consoleDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}

	r := &Result{Date: time.Now().UTC().Truncate(time.Second), Host: hostInfo(opts.Arch)}
	logf("building %v with %v", opts.Files, BenchCmdline)
	img, err := buildImage(ctx, buildOptions{
		Files: opts.Files, Arch: opts.Arch, Dir: imagesDir, Name: "keel", CacheDir: opts.CacheDir, Cmdline: BenchCmdline,
		Compression: opts.Compression, Squashfs: true,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: build: %w", err)
	}
	r.Config = Settings{
		Files: opts.Files, Arch: opts.Arch, Runs: opts.Runs, Accel: opts.Accel, CPUs: opts.CPUs, MoreCPUs: opts.MoreCPUs, Mem: opts.Mem,
		Cmdline: img.Cmdline, FloorCmdline: FloorCmdline, Compression: string(opts.Compression),
	}
	if opts.Restarts > 0 {
		r.Config.Restarts = opts.Restarts
	}
	if opts.MinMem > 0 {
		r.Config.MinMemResolution, r.Config.MinMemStay = opts.MinMem, opts.MinMemStay.Seconds()
	}
	if r.Size, err = imageSize(img); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	services, err := serviceNames(opts.Files)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}

	floorInitrd := guest.InitrdFile(filepath.Join(imagesDir, "floor"))
	logf("building the floor initramfs")
	if err := buildFloor(ctx, opts.ModuleDir, opts.Arch, floorInitrd); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}

	if opts.BuildRuns > 0 {
		logf("timing keel build: from the store, cold and warm")
		watch := watchContention(250 * time.Millisecond)
		base := buildOptions{Files: opts.Files, Arch: opts.Arch, CacheDir: opts.CacheDir, Compression: opts.Compression}
		r.Build, err = measureBuilds(ctx, base, filepath.Join(opts.OutDir, "build"), opts.BuildRuns, logf)
		r.Build.OtherQEMUs = watch.Stop()
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		if len(r.Build.OtherQEMUs) > 0 {
			logf("warning: another QEMU ran during the build timings (pids %v)", r.Build.OtherQEMUs)
		}
	}

	settings := bootSettings{Arch: opts.Arch, Mem: opts.Mem, CPUs: opts.CPUs, Accel: opts.Accel, Timeout: opts.BootTimeout}
	targets := []bootTarget{
		{Kind: KindFloor, Kernel: img.Kernel, Initrd: floorInitrd, Cmdline: FloorCmdline},
		{Kind: KindKeel, Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline, Drive: driveBoot},
		{Kind: KindSquashfs, Kernel: img.Kernel, Root: img.Squashfs, Cmdline: img.Cmdline, Drive: driveBoot},
	}
	counts := append([]int{opts.CPUs}, opts.MoreCPUs...)
	for n := 1; n <= opts.Runs; n++ {
		for _, cpus := range counts {
			s := settings
			s.CPUs = cpus
			for _, t := range targets {
				name, what := fmt.Sprintf("%s-%d.log", t.Kind, n), t.Kind
				if cpus != opts.CPUs {
					name, what = fmt.Sprintf("%s-%dcpus-%d.log", t.Kind, cpus, n), fmt.Sprintf("%s (%d vCPUs)", t.Kind, cpus)
				}
				run, err := bootOnce(ctx, s, t, n, filepath.Join(consoleDir, name))
				if err != nil {
					return nil, fmt.Errorf("bench: %w", err)
				}
				if len(run.OtherQEMUs) > 0 {
					logf("warning: another QEMU ran during this boot (pids %v): its times are too long", run.OtherQEMUs)
				}
				if t.Kind == KindFloor {
					logf("boot %d/%d %s: /init at %.3f s, qemu %.2f s", n, opts.Runs, what, run.FloorUptime, run.WallSeconds)
				} else {
					logf("boot %d/%d %s: services started at %.3f s, off at %.3f s, qemu %.2f s",
						n, opts.Runs, what, run.Timeline.ServicesReady, run.Timeline.ShutdownEnd, run.WallSeconds)
				}
				r.Runs = append(r.Runs, run)
			}
		}
	}
	if opts.Restarts > 0 {
		t := targets[1]
		t.Kind = KindRestarts
		var samples []RestartSample
		t.Drive = func(d *driver) (err error) {
			samples, err = driveRestarts(d, services, opts.Restarts)
			return err
		}
		logf("booting keel once more to restart services %d times", opts.Restarts)
		long := settings
		long.Timeout += time.Duration(opts.Restarts) * restartTimeout
		run, err := bootOnce(ctx, long, t, 1, filepath.Join(consoleDir, KindRestarts+".log"))
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		run.RestartSamples = samples
		logf("restarts: %d of %d done in %.1f s", samples[len(samples)-1].Restarts, opts.Restarts,
			run.Timeline.ShutdownStart-run.Timeline.ServicesReady)
		r.Runs = append(r.Runs, run)
	}
	if opts.MinMem > 0 {
		for _, t := range targets[1:] {
			name := layoutName(t.Kind)
			logf("searching the smallest memory %s boots in and stays up %s with (%d to %s MiB, to %d MiB)",
				name, opts.MinMemStay, minMemLow, opts.Mem, opts.MinMem)
			m, err := searchMinMem(ctx, settings, t, name, services, minMemLow, opts.MinMem, opts.MinMemStay, consoleDir, logf)
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			if m.Error != "" {
				logf("warning: min memory %s: %s", name, m.Error)
			} else {
				logf("min memory %s: %d MiB", name, m.MiB)
			}
			r.MinMemory = append(r.MinMemory, m)
		}
	}
	r.summarize()
	if err := writeResult(r, opts.OutDir); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return r, nil
}

// serviceNames are the names of the services of the merged YAML files, in the order PID 1
// lists them (by name): the restarts boot restarts them in turn.
func serviceNames(files []string) ([]string, error) {
	cfg, err := spec.ParseFile(files...)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range cfg.Services {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names, nil
}

// imageSize measures the kernel and initramfs img was written to.
func imageSize(img *builtImage) (Size, error) {
	var s Size
	st, err := os.Stat(img.Kernel)
	if err != nil {
		return s, fmt.Errorf("image size: %w", err)
	}
	s.Kernel = st.Size()
	f, err := os.Open(img.Initrd)
	if err != nil {
		return s, fmt.Errorf("image size: %w", err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return s, fmt.Errorf("image size: %w", err)
	}
	s.InitrdCompressed = st.Size()
	files, n, err := ReadInitrd(f)
	if err != nil {
		return s, fmt.Errorf("image size: %s: %w", img.Initrd, err)
	}
	s.InitrdUncompressed = n
	if img.Squashfs != "" {
		if st, err = os.Stat(img.Squashfs); err != nil {
			return s, fmt.Errorf("image size: %w", err)
		}
		s.Squashfs = st.Size()
	}
	s.Parts = Breakdown(files)
	for _, p := range s.Parts {
		s.Contents += p.Bytes
	}
	return s, nil
}

// writeResult writes bench.json, bench.md and timeline.svg to dir.
func writeResult(r *Result, dir string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", JSONFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, MDFile), []byte(Markdown(r)), 0o644); err != nil {
		return err
	}
	chart, err := r.Chart()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ChartFile), chart.SVG(), 0o644)
}

// Chart returns the boot chart of r: its ChartRun, with the floor's median uptime marked.
func (r *Result) Chart() (Chart, error) {
	run := keelRun(r.runsAt(r.Config.CPUs), r.ChartRun)
	if run == nil || run.Timeline == nil {
		return Chart{}, errors.New("no Keel run with a timeline to chart")
	}
	floor, _ := metric(r.Boot, "floor_uptime")
	ready, _ := metric(r.Boot, "services_ready")
	return Chart{
		Title: fmt.Sprintf("Keel boot timeline: %s", joinFiles(r.Config.Files)),
		Subtitle: fmt.Sprintf("run %d of %d (all services started at %.2f s; median %.2f s) · QEMU %s, %d vCPU, %s · %s",
			run.N, r.Config.Runs, run.Timeline.ServicesReady, ready.Median, r.Config.Accel, r.Config.CPUs, r.Config.Mem,
			r.Date.Format("2006-01-02")),
		Timeline: *run.Timeline,
		Floor:    floor.Median,
	}, nil
}

func joinFiles(files []string) string {
	s := ""
	for i, f := range files {
		if i > 0 {
			s += " + "
		}
		s += filepath.Base(f)
	}
	return s
}
