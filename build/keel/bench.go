package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keel-os/keel/build/bench"
	"github.com/keel-os/keel/rootfs/initrd"
)

// benchCmd is `keel bench`: boots a YAML's image and a bare-kernel floor alternately under
// QEMU and reports the boot timeline, memory, image size and build times (build/bench).
func benchCmd(args []string, stdout, stderr io.Writer) error {
	opts, err := benchOptions(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, bench.Markdown(r))
	fmt.Fprintf(stdout, "\nwrote %s, %s and %s in %s\n", bench.JSONFile, bench.MDFile, bench.ChartFile, opts.OutDir)
	return nil
}

// benchOptions parses keel bench's arguments.
func benchOptions(args []string, stderr io.Writer) (bench.Options, error) {
	fs := newFlagSet("bench", stderr)
	runs := fs.Int("runs", 5, "boots of each image (the floor and the YAML's)")
	out := fs.String("out", filepath.Join("bench", "out"), "directory for bench.json, bench.md, timeline.svg, images and console logs")
	arch := fs.String("arch", "amd64", archUsage("target architecture"))
	mem := fs.String("mem", "1G", "guest memory")
	cpus := fs.String("cpus", "1", "guest virtual CPUs; a list (1,2) boots at each count, and the main figures are the first's")
	accel := fs.String("accel", "tcg", "accelerator: tcg, kvm or auto")
	compress := fs.String("compress", "zstd", "initrd compression of the booted and timed builds, as keel build's --compress")
	cacheDir := cacheFlag(fs)
	timeout := fs.Duration("timeout", 0, "limit for each boot (default 10m)")
	buildRuns := fs.Int("build-runs", 3, "rounds of keel build timings (store, cold, warm); 0 skips them")
	restarts := fs.Int("restarts", 100, "service restarts in one more boot, before memory is sampled again; 0 skips it")
	minMem := fs.Bool("min-mem", true, "search, by bisection, the smallest guest memory each layout boots in and stays up with")
	minMemRes := fs.Int("min-mem-resolution", 4, "MiB to which that search narrows the smallest memory")
	minMemStay := fs.Duration("min-mem-stay", time.Minute, "how long a guest must stay up after boot complete in that search")
	files, err := parse(fs, args)
	if err != nil {
		return bench.Options{}, err
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: keel bench [--runs N] [--out DIR] [--arch ARCH] [--min-mem=false] a.yml [b.yml...]")
		return bench.Options{}, errUsage
	}
	counts, err := parseCPUs(*cpus)
	if err != nil {
		return bench.Options{}, err
	}
	comp, err := initrd.ParseCompression(*compress)
	if err != nil {
		return bench.Options{}, err
	}
	cache, err := cacheDir()
	if err != nil {
		return bench.Options{}, err
	}
	if *minMemRes < 1 {
		return bench.Options{}, fmt.Errorf("keel bench: --min-mem-resolution %d: want at least 1 MiB", *minMemRes)
	}
	if *minMemStay <= 0 {
		return bench.Options{}, fmt.Errorf("keel bench: --min-mem-stay %s: want a positive duration", *minMemStay)
	}
	return bench.Options{
		Files: files, Arch: *arch, Runs: *runs, OutDir: *out, Mem: *mem, CPUs: counts[0], MoreCPUs: counts[1:], Accel: *accel, Compression: comp,
		CacheDir: cache, BootTimeout: *timeout, BuildRuns: countOption(*buildRuns),
		Restarts: countOption(*restarts), MinMem: minMemOption(*minMem, *minMemRes), MinMemStay: *minMemStay, Log: stderr,
	}, nil
}

// countOption maps a count flag where 0 skips (--build-runs, --restarts) to its
// bench.Options field, where 0 is the default and negative skips.
func countOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// minMemOption maps --min-mem and --min-mem-resolution to bench.Options.MinMem: the
// resolution, or skip.
func minMemOption(on bool, resolution int) int {
	if on {
		return resolution
	}
	return -1
}

// parseCPUs parses --cpus: vCPU counts, comma-separated, each at least 1 and named once.
func parseCPUs(s string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("keel bench: --cpus %q: %q is not a vCPU count (want 1, or a list such as 1,2)", s, f)
		}
		if slices.Contains(counts, n) {
			return nil, fmt.Errorf("keel bench: --cpus %q: %d is named twice", s, n)
		}
		counts = append(counts, n)
	}
	return counts, nil
}
