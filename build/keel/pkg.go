package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/rootfs/image"
)

func pkgCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(stderr, "usage: keel pkg build [--arch ARCH] [--tag TAG] [--push REF] [--insecure] DIR")
		return errUsage
	}
	fs := newFlagSet("pkg build", stderr)
	arch := fs.String("arch", hostArch(), archUsage("target architecture"))
	tag := fs.String("tag", "", "image tag (default: build.yml's tag, else dev)")
	push := fs.String("push", "", "also push the image to this registry reference")
	insecure := fs.Bool("insecure", false, "allow plain HTTP to the --push registry (loopback registries need no flag)")
	cacheDir := cacheFlag(fs)
	verbose := fs.Bool("v", false, "show go build output")
	dirs, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		fmt.Fprintln(stderr, "keel pkg build: a package directory is needed")
		return errUsage
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	store, err := openStore(cache)
	if err != nil {
		return err
	}
	archSet := false
	fs.Visit(func(f *flag.Flag) { archSet = archSet || f.Name == "arch" })
	for _, dir := range dirs {
		p, err := pkg.Load(dir)
		if err != nil {
			return err
		}
		modDir, err := moduleDir(dir)
		if err != nil {
			return err
		}
		want := ""
		if archSet {
			want = *arch
		}
		arches, skipped, err := p.BuildArches(want, *arch)
		if err != nil {
			return err
		}
		if len(skipped) > 0 {
			fmt.Fprintf(stderr, "keel pkg build: %s: skipping arches Keel does not build: %v\n", p.File, skipped)
		}
		var built []pkg.Built
		for _, a := range arches {
			opts := pkg.Options{
				Arch: a, Tag: *tag, ModuleDir: modDir, CacheDir: cache,
				Store: func(ref string, img v1Image) error { return store.PutPlatform(ref, img) },
			}
			if *verbose {
				opts.Stdout, opts.Stderr = stderr, stderr
			}
			ref, img, err := p.Build(context.Background(), opts)
			if err != nil {
				return err
			}
			d, err := img.Digest()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s %s (%s)\n", ref, d, a)
			built = append(built, pkg.Built{Arch: a, Image: img})
		}
		if *push != "" {
			// One arch is pushed as an image, several as one multi-arch index.
			if err := pkg.PushAll(context.Background(), *push, built, *insecure); err != nil {
				return err
			}
		}
	}
	return nil
}

// openStore opens the local image store in the cache directory.
func openStore(cacheDir string) (*image.Store, error) {
	r, err := image.NewResolver(image.Options{CacheDir: cacheDir})
	if err != nil {
		return nil, err
	}
	return r.Store(), nil
}

// moduleDir is the directory of the go.mod governing dir, so import-path binaries build at
// the versions it pins.
func moduleDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return abs, nil
		}
	}
}

func imagesCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("images", stderr)
	cacheDir := cacheFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (len(pos) == 1 && pos[0] != "prune") {
		fmt.Fprintln(stderr, "usage: keel images [--cache DIR]            list the local image store\n"+
			"       keel images prune [--cache DIR]      remove what no stored image refers to")
		return errUsage
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	store, err := openStore(cache)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		res, err := store.Prune()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %d blobs, %.1f MB, from %s\n", res.Blobs, float64(res.Bytes)/1e6, store.Dir())
		return nil
	}
	entries, err := store.List()
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Fprintf(stdout, "%v\n", e)
	}
	return nil
}
