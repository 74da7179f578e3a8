package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/keel-os/keel/build/kernel"
	"github.com/keel-os/keel/build/pkg"
	kernelconfig "github.com/keel-os/keel/kernel-config"
	"github.com/keel-os/keel/rootfs/image"
)

const kernelUsage = `usage: keel kernel <build|check> [flags]

  build [--arch A] [--source TARBALL] [--config FRAGMENT]...   build and store keel/kernel
  check [--arch A] [--keel] [--fragments F,...] CONFIG          check a kernel .config
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
	}
	fmt.Fprintf(stderr, "keel kernel: unknown command %q\n%s", args[0], kernelUsage)
	return errUsage
}

// kernelBuildCmd builds the tuned kernel for an arch (or takes it from the cache) and stores
// it in the local store as a LinuxKit-style kernel image: /kernel, /kernel.tar, /config.
func kernelBuildCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel build", stderr)
	arch := fs.String("arch", hostArch(), "target architecture: amd64, arm64 or s390x")
	source := fs.String("source", kernel.DefaultSource, "kernel source tarball: Debian's linux-source-6.12, or a kernel.org 6.12 tarball")
	var extra listFlag
	fs.Var(&extra, "config", "a config fragment merged after Keel's own (repeatable)")
	name := fs.String("image", "keel/kernel", "image name in the local store")
	tag := fs.String("tag", pkg.DefaultTag, "image tag")
	jobs := fs.Int("j", 0, "parallel make jobs (default: the number of CPUs)")
	cacheDir := fs.String("cache", "", "cache and local store directory (default $KEEL_CACHE or ~/.cache/keel)")
	verbose := fs.Bool("v", false, "show make's output instead of the progress line")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "keel kernel build: unexpected argument %q\n", rest[0])
		return errUsage
	}
	dir := *cacheDir
	if dir == "" {
		if dir, err = image.DefaultCacheDir(); err != nil {
			return err
		}
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
