package main

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/kernel"
	"github.com/keel-os/keel/build/pkg"
	kernelconfig "github.com/keel-os/keel/kernel-config"
)

const kernelUsage = `usage: keel kernel <build|check|prune> [flags]

  build [--arch A] [--source TARBALL] [--config FRAGMENT]...   build and store keel/kernel
  check [--arch A] [--keel] [--fragments F,...] CONFIG          check a kernel .config
  prune [--dry-run] [--source TARBALL]                          remove superseded kernels from the cache
`

func kernelCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, kernelUsage)
		return errUsage
	}
	switch args[0] {
	case "build":
		return kernelBuildCmd(args[1:], stdout, stderr)
	case "check":
		return kernelCheckCmd(args[1:], stdout, stderr)
	case "prune":
		return kernelPruneCmd(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "keel kernel: unknown command %q\n%s", args[0], kernelUsage)
	return errUsage
}

// kernelBuildCmd builds the tuned kernel for an arch (or takes it from the cache) and stores
// it in the local store as a LinuxKit-style kernel image: /kernel, /kernel.tar, /config.
func kernelBuildCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel build", stderr)
	arch := fs.String("arch", hostArch(), archUsage("target architecture"))
	source := fs.String("source", kernel.DefaultSource, "kernel source tarball: Debian's linux-source-6.12, or a kernel.org 6.12 tarball")
	var extra listFlag
	fs.Var(&extra, "config", "a config fragment merged after Keel's own (repeatable)")
	name := fs.String("image", "keel/kernel", "image name in the local store")
	tag := fs.String("tag", pkg.DefaultTag, "image tag")
	jobs := fs.Int("j", 0, "parallel make jobs (default: the number of CPUs)")
	cacheDir := cacheFlag(fs)
	verbose := fs.Bool("v", false, "show make's output instead of the progress line")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "keel kernel build: unexpected argument %q\n", rest[0])
		return errUsage
	}
	dir, err := cacheDir()
	if err != nil {
		return err
	}
	opts := kernel.Options{Arch: *arch, Source: *source, CacheDir: dir, Jobs: *jobs, Log: stderr}
	if *verbose {
		opts.Output = stderr
	} else {
		opts.Progress, opts.Live = stderr, isTerminal(stderr)
	}
	for _, f := range extra {
		frag, err := kernelconfig.LoadFragment(f)
		if err != nil {
			return err
		}
		opts.Extra = append(opts.Extra, frag)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := kernel.Build(ctx, opts)
	if err != nil {
		return err
	}
	store, err := openStore(dir)
	if err != nil {
		return err
	}
	mode := pkg.Mode(0o644)
	p := &pkg.Package{
		Dir: res.Dir, File: "keel kernel build", Image: *name,
		Files: []pkg.File{
			{Path: "/" + kernel.KernelFile, Source: kernel.KernelFile, Mode: &mode},
			{Path: "/" + kernel.ModulesFile, Source: kernel.ModulesFile, Mode: &mode},
			{Path: "/" + kernel.ConfigFile, Source: kernel.ConfigFile, Mode: &mode},
		},
	}
	ref, img, err := p.Build(ctx, pkg.Options{Arch: *arch, Tag: *tag, Store: store.PutPlatform})
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	how := "built"
	if res.Cached {
		how = "cached"
	}
	fmt.Fprintf(stdout, "%s %s (%s, Linux %s, %s)\n", ref, d, *arch, res.Release, how)
	return nil
}

// kernelPruneCmd removes from the kernel cache the kernels, build trees and sources that
// neither the current inputs nor the stored keel/kernel image use, and says what it freed.
func kernelPruneCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel prune", stderr)
	source := fs.String("source", kernel.DefaultSource, "the kernel source tarball builds use: what is current is worked out from it")
	name := fs.String("image", "keel/kernel", "image in the local store whose kernels stay")
	tag := fs.String("tag", pkg.DefaultTag, "its tag")
	cacheDir := cacheFlag(fs)
	dryRun := fs.Bool("dry-run", false, "only say what would be removed")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "keel kernel prune: unexpected argument %q\n", rest[0])
		return errUsage
	}
	dir, err := cacheDir()
	if err != nil {
		return err
	}
	keep, err := storedKernelSums(dir, *name+":"+*tag)
	if err != nil {
		return err
	}
	removed, err := kernel.Prune(context.Background(), kernel.PruneOptions{
		CacheDir: dir, Source: *source, KeepKernels: keep, DryRun: *dryRun, Log: stderr,
	})
	verb := "removed"
	if *dryRun {
		verb = "would remove"
	}
	var total int64
	for _, r := range removed {
		fmt.Fprintf(stdout, "%s %s (%s)\n", verb, r.Path, megabytes(r.Bytes))
		total += r.Bytes
	}
	if err != nil {
		return err
	}
	freed := "freed"
	if *dryRun {
		freed = "would free"
	}
	fmt.Fprintf(stdout, "kernel cache: %s %s in %d directories\n", freed, megabytes(total), len(removed))
	return nil
}

// storedKernelSums returns the SHA-256 of the boot image (/kernel) of each arch's image
// stored under ref; an arch without one adds nothing.
func storedKernelSums(cacheDir, ref string) ([]string, error) {
	store, err := openStore(cacheDir)
	if err != nil {
		return nil, err
	}
	var sums []string
	for _, a := range arch.Names() {
		img, err := store.Image(ref, a)
		if err != nil {
			continue // no such image for the arch: nothing to keep for it
		}
		sum, err := imageKernelSum(img)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", ref, a, err)
		}
		if sum != "" {
			sums = append(sums, sum)
		}
	}
	return sums, nil
}

// imageKernelSum is the SHA-256 of the image's /kernel, or "" when it has none.
func imageKernelSum(img v1.Image) (string, error) {
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	sum := ""
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return "", err
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				return "", err
			}
			if path.Clean("/"+h.Name) == "/"+kernel.KernelFile && h.Typeflag == tar.TypeReg {
				if sum, err = kernel.KernelSum(tr); err != nil {
					rc.Close()
					return "", err
				}
			}
		}
		rc.Close()
	}
	return sum, nil
}

// megabytes shows a size as keel images prune does.
func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
