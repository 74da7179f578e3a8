package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/keel-os/keel/arch"
	kernelconfig "github.com/keel-os/keel/kernel-config"
)

// PruneOptions control Prune.
type PruneOptions struct {
	CacheDir string // the Keel cache; kernels live in CacheDir/kernel
	Source   string // the source tarball builds use; default DefaultSource
	// KeepKernels are SHA-256 sums (hex) of boot images whose cached kernels stay, such as
	// the one in keel/kernel:dev.
	KeepKernels []string
	DryRun      bool      // report what would go, remove nothing
	Log         io.Writer // why something superseded stays; nil: none
}

// Removed is a directory Prune removed, or in a dry run would remove.
type Removed struct {
	Path  string
	Bytes int64 // the sizes of the files under it
}

// Prune removes from the kernel cache what the current inputs no longer use: kernels other
// than the one Build would return now for each arch with Keel's fragments (or one in
// KeepKernels), build trees and unpacked sources of other source tarballs. An arch whose
// build is running, or whose current kernel cannot be told (no cross compiler), keeps its
// kernels and build trees; unpacked sources stay while any build runs.
func Prune(ctx context.Context, opts PruneOptions) ([]Removed, error) {
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("kernel prune: no cache directory")
	}
	root := filepath.Join(opts.CacheDir, "kernel")
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return nil, nil
	}
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	srcHash, err := sourceHash(opts.Source, root)
	if err != nil {
		return nil, fmt.Errorf("kernel prune: source (the one builds use, to tell what is current): %w", err)
	}
	plan := prunePlan{source: srcDir(srcHash), kernels: map[string]bool{}, keepArch: map[string]bool{}, keepSums: opts.KeepKernels}
	for _, a := range arch.All() {
		unlock, ok, err := tryLock(filepath.Join(root, a.Name+".lock"))
		if err != nil {
			return nil, err
		}
		if !ok {
			fmt.Fprintf(log, "kernel prune: a %s build is running: its kernels and build trees stay\n", a.Name)
			plan.keepArch[a.Name], plan.keepSources = true, true
			continue
		}
		defer unlock()
		frags, err := kernelconfig.Fragments(a.Name)
		if err != nil {
			return nil, err
		}
		key, err := cacheKey(ctx, a.Name, srcHash, a.CrossCompile(), frags)
		if err != nil {
			fmt.Fprintf(log, "kernel prune: %s kernels stay: %v\n", a.Name, err)
			plan.keepArch[a.Name] = true
			continue
		}
		plan.kernels[kernelDir(a.Name, key)] = true
	}
	unlock, ok, err := tryLock(filepath.Join(root, "src.lock"))
	if err != nil {
		return nil, err
	}
	if ok {
		defer unlock()
	} else {
		plan.keepSources = true
	}
	return plan.run(root, opts.DryRun)
}

// prunePlan says what in a kernel cache stays.
type prunePlan struct {
	source      string          // the current source's directory name under src/
	kernels     map[string]bool // current kernels' directory names
	keepArch    map[string]bool // arches whose kernels and build trees all stay
	keepSums    []string        // SHA-256 of boot images whose kernels stay
	keepSources bool            // every unpacked source stays
}

var (
	kernelName = regexp.MustCompile(`^([a-z0-9]+)-[0-9a-f]{16}$`)
	buildName  = regexp.MustCompile(`^([0-9a-f]{16})-([a-z0-9]+)$`)
	srcName    = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// candidates lists the superseded directories under root, in order: kernels, then build
// trees and sources. Anything it does not recognise stays.
func (p prunePlan) candidates(root string) ([]string, error) {
	var out []string
	entries, err := readDirs(root)
	if err != nil {
		return nil, err
	}
	for _, name := range entries {
		m := kernelName.FindStringSubmatch(name)
		if m == nil || !arch.Known(m[1]) || p.kernels[name] || p.keepArch[m[1]] {
			continue
		}
		dir := filepath.Join(root, name)
		if len(p.keepSums) > 0 {
			sum, err := hashFile(filepath.Join(dir, KernelFile))
			if err == nil && slices.Contains(p.keepSums, sum) {
				continue
			}
		}
		out = append(out, dir)
	}
	builds, err := readDirs(filepath.Join(root, "build"))
	if err != nil {
		return nil, err
	}
	for _, name := range builds {
		m := buildName.FindStringSubmatch(name)
		if m == nil || !arch.Known(m[2]) || m[1] == p.source || p.keepArch[m[2]] {
			continue
		}
		out = append(out, filepath.Join(root, "build", name))
	}
	if !p.keepSources {
		srcs, err := readDirs(filepath.Join(root, "src"))
		if err != nil {
			return nil, err
		}
		for _, name := range srcs {
			if srcName.MatchString(name) && name != p.source {
				out = append(out, filepath.Join(root, "src", name))
			}
		}
	}
	return out, nil
}

// run removes the candidates, unless dryRun, and returns them with their sizes.
func (p prunePlan) run(root string, dryRun bool) ([]Removed, error) {
	dirs, err := p.candidates(root)
	if err != nil {
		return nil, err
	}
	var removed []Removed
	for _, dir := range dirs {
		r := Removed{Path: dir, Bytes: du(dir)}
		if !dryRun {
			if err := os.RemoveAll(dir); err != nil {
				return removed, fmt.Errorf("kernel prune: %w", err)
			}
		}
		removed = append(removed, r)
	}
	return removed, nil
}

// readDirs lists the directories in dir, sorted; none if dir does not exist.
func readDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kernel prune: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// du sums the sizes of the regular files under dir.
func du(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// KernelSum is the SHA-256 (hex) of a boot image read from r, for PruneOptions.KeepKernels.
func KernelSum(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
