package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/keel-os/keel/arch"
	kernelconfig "github.com/keel-os/keel/kernel-config"
)

// version changes whenever the way a kernel is built or packaged changes, so that cached
// kernels built the old way are not reused.
const version = "keel-kernel 1"

// Options control Build.
type Options struct {
	Arch   string // amd64, arm64 or s390x
	Source string // kernel source tarball; default DefaultSource
	// Fragments are merged on allnoconfig, in order; default kernelconfig.Fragments(Arch).
	Fragments []kernelconfig.Fragment
	// Extra fragments are merged after Fragments: a user's own options.
	Extra    []kernelconfig.Fragment
	CacheDir string    // the Keel cache; kernels live in CacheDir/kernel
	Jobs     int       // make -j; default the number of CPUs
	Log      io.Writer // what the build does, a line a step; nil: none
	Output   io.Writer // make's output; nil: none (it is kept in BUILD-DIR/make.log)
	// Progress gets the compile progress: files compiled of an estimate, time taken and
	// left; nil: none. Live redraws one line (for a terminal) instead of a line a minute.
	Progress io.Writer
	Live     bool
}

// Result is a built kernel in the cache.
type Result struct {
	Dir     string // the cache directory holding the three files below
	Kernel  string // the boot image: bzImage (amd64, s390x) or Image (arm64)
	Modules string // kernel.tar: lib/modules/RELEASE/ with modules.dep and modules.alias
	Config  string // the .config it was built with
	Release string // uname -r
	Key     string // hash of the inputs
	Cached  bool   // whether it came from the cache
}

// File names of a built kernel, as in LinuxKit kernel images.
const (
	KernelFile  = "kernel"
	ModulesFile = "kernel.tar"
	ConfigFile  = "config"
	releaseFile = "release"
)

// MakeLog is the file in the build directory that keeps make's output of the last build.
const MakeLog = "make.log"

// Build returns the kernel for opts, building it unless the cache has one for the same
// source, fragments and compiler.
func Build(ctx context.Context, opts Options) (*Result, error) {
	t, err := arch.Lookup(opts.Arch)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	if opts.CacheDir == "" {
		return nil, errors.New("kernel: no cache directory")
	}
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if opts.Fragments == nil {
		if opts.Fragments, err = kernelconfig.Fragments(opts.Arch); err != nil {
			return nil, err
		}
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	cross := t.CrossCompile()
	root := filepath.Join(opts.CacheDir, "kernel")
	srcHash, err := sourceHash(opts.Source, root)
	if err != nil {
		return nil, fmt.Errorf("kernel source: %w", err)
	}
	frags := append(append([]kernelconfig.Fragment{}, opts.Fragments...), opts.Extra...)
	key, err := cacheKey(ctx, opts.Arch, srcHash, cross, frags)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(root, kernelDir(opts.Arch, key))
	if r, err := load(final, key); err == nil {
		fmt.Fprintf(log, "kernel %s: cached %s (%s)\n", opts.Arch, r.Release, final)
		return r, nil
	}
	src, err := unpackOnce(ctx, opts.Source, srcHash, root, log)
	if err != nil {
		return nil, err
	}
	// Configure and check in a scratch directory first, without the build lock: a fragment
	// with a dropped symbol fails in seconds even while another build of the arch runs.
	scratch, err := os.MkdirTemp(root, ".config-")
	if err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	defer os.RemoveAll(scratch)
	fmt.Fprintf(log, "kernel %s: configuring\n", opts.Arch)
	if err := kernelconfig.Merge(ctx, src, scratch, t.KernelArch, cross, frags); err != nil {
		return nil, err
	}
	if err := checkConfig(filepath.Join(scratch, ".config"), opts.Arch, frags); err != nil {
		return nil, err
	}

	unlock, err := lock(filepath.Join(root, opts.Arch+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if r, err := load(final, key); err == nil { // built while we waited for the lock
		return r, nil
	}

	// The build directory persists per source and arch, so a changed fragment rebuilds only
	// what the changed options touch.
	bdir := filepath.Join(root, "build", buildDir(srcHash, opts.Arch))
	// make notices the new .config and rebuilds what its changes touch.
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	if err := copyFile(filepath.Join(scratch, ".config"), filepath.Join(bdir, ".config")); err != nil {
		return nil, err
	}
	logFile := filepath.Join(bdir, MakeLog)
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	mk := maker{src: src, dir: bdir, karch: t.KernelArch, cross: cross, log: opts.Output, logFile: logFile}
	fmt.Fprintf(log, "kernel %s: make -j%d %s modules in %s\n", opts.Arch, opts.Jobs, t.ImageTarget, bdir)
	have := countObjects(bdir)
	prog := newProgress(io.Discard, "kernel "+opts.Arch, opts.Live, estimate(root, opts.Arch, have), time.Now)
	if opts.Progress != nil {
		prog.w = opts.Progress
	}
	compile := mk
	compile.log = prog
	if opts.Output != nil {
		compile.log = io.MultiWriter(opts.Output, prog)
	}
	err = compile.run(ctx, fmt.Sprintf("-j%d", opts.Jobs), t.ImageTarget, "modules")
	prog.finish()
	if err != nil {
		return nil, err
	}
	if err := record(root, opts.Arch, bdir, have == 0, prog.done); err != nil {
		fmt.Fprintf(log, "kernel %s: %v\n", opts.Arch, err) // costs only the next estimate
	}
	rel, err := os.ReadFile(filepath.Join(bdir, "include", "config", "kernel.release"))
	if err != nil {
		return nil, fmt.Errorf("kernel %s: release: %w", opts.Arch, err)
	}
	release := strings.TrimSpace(string(rel))

	tmp, err := os.MkdirTemp(root, ".out-")
	if err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	stage := filepath.Join(tmp, "stage")
	if err := mk.run(ctx, "INSTALL_MOD_PATH="+stage, "INSTALL_MOD_STRIP=1", "modules_install"); err != nil {
		return nil, err
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(bdir, t.ImagePath), filepath.Join(out, KernelFile)); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(bdir, ".config"), filepath.Join(out, ConfigFile)); err != nil {
		return nil, err
	}
	if err := writeModulesTar(stage, filepath.Join(out, ModulesFile)); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, releaseFile), []byte(release+"\n"+key+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(out, final); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	fmt.Fprintf(log, "kernel %s: built %s (%s)\n", opts.Arch, release, final)
	r, err := load(final, key)
	if err != nil {
		return nil, err
	}
	r.Cached = false
	return r, nil
}

// kernelDir is the name, in the kernel cache, of the kernel built from the inputs hashing to key.
func kernelDir(arch, key string) string { return arch + "-" + key[:16] }

// buildDir is the name, under the kernel cache's build/, of the build tree of a source and arch.
func buildDir(srcHash, arch string) string { return srcHash[:16] + "-" + arch }

// checkConfig fails when olddefconfig dropped a requested symbol, or when the result misses
// a container or hardening requirement.
func checkConfig(path, arch string, frags []kernelconfig.Fragment) error {
	cfg, err := kernelconfig.ReadConfigFile(path)
	if err != nil {
		return err
	}
	reqs, err := kernelconfig.ParseFragments(frags)
	if err != nil {
		return err
	}
	var msgs []string
	for _, p := range kernelconfig.Dropped(reqs, cfg) {
		msgs = append(msgs, p.String())
	}
	if rep := kernelconfig.Check(cfg, arch); !rep.OK() {
		msgs = append(msgs, rep.String())
	}
	if len(msgs) > 0 {
		return fmt.Errorf("kernel %s: config check failed:\n%s", arch, strings.Join(msgs, "\n"))
	}
	return nil
}

// cacheKey hashes everything a built kernel depends on.
func cacheKey(ctx context.Context, arch, srcHash, cross string, frags []kernelconfig.Fragment) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\narch %s\nsource %s\n", version, arch, srcHash)
	for _, f := range frags {
		fmt.Fprintf(h, "fragment %s %d\n", filepath.Base(f.Name), len(f.Data))
		h.Write(f.Data)
	}
	for _, cc := range []string{cross + "gcc", "gcc"} {
		out, err := exec.CommandContext(ctx, cc, "--version").Output()
		if err != nil {
			return "", fmt.Errorf("kernel: compiler %s: %w (install gcc and, for cross builds, Debian's gcc-%s)", cc, err, strings.TrimSuffix(cross, "-"))
		}
		line, _, _ := bytes.Cut(out, []byte("\n"))
		fmt.Fprintf(h, "cc %s\n", line)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// load returns the kernel cached in dir if it is complete and built from key.
func load(dir, key string) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(dir, releaseFile))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || lines[1] != key {
		return nil, fmt.Errorf("kernel cache %s: stale", dir)
	}
	r := &Result{
		Dir:     dir,
		Kernel:  filepath.Join(dir, KernelFile),
		Modules: filepath.Join(dir, ModulesFile),
		Config:  filepath.Join(dir, ConfigFile),
		Release: lines[0],
		Key:     key,
		Cached:  true,
	}
	for _, f := range []string{r.Kernel, r.Modules, r.Config} {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	return nil
}
