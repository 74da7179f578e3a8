package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispecv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/keel-os/keel/build/ocispec"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/image"
	"github.com/keel-os/keel/rootfs/tree"
)

// errFailed ends a command that has already printed why it failed: exit 1, no message.
var errFailed = errors.New("failed")

// validateCmd parses, merges and checks image descriptions without building and without the
// network: the YAML itself, the @pkg: references, and each container against the label and
// config of its image when the local store or the registry cache holds it. Problems go to
// stderr one per line as file:line, images it could not check to stdout.
func validateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", stderr)
	arch := fs.String("arch", hostArch(), archUsage("target architecture"))
	strict := fs.Bool("strict-labels", false, "refuse host privileges that only an image label grants (also the YAML's strict: true)")
	noSubstitute := fs.Bool("no-substitute", false, "check LinuxKit's system images as written instead of Keel's packages")
	cacheDir := cacheFlag(fs)
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: keel validate [--arch ARCH] [--cache DIR] [--strict-labels] [--no-substitute] a.yml [b.yml...]")
		return errUsage
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	resolver, err := image.NewResolver(image.Options{CacheDir: cache, Offline: true})
	if err != nil {
		return err
	}
	res := validate(context.Background(), files, resolver, image.NormalizeArch(*arch), *strict, !*noSubstitute, stderr)
	for _, e := range res.errs {
		fmt.Fprintln(stderr, e)
	}
	for _, n := range res.unchecked {
		fmt.Fprintf(stdout, "%s: not checked: image %q is not in the local store or registry cache\n", n.pos, n.ref)
	}
	fmt.Fprintf(stdout, "%d images checked, %d not checked, %d problems\n", res.checked, len(res.unchecked), len(res.errs))
	if len(res.errs) > 0 {
		return errFailed
	}
	return nil
}

// validation is what validate found.
type validation struct {
	errs      []error
	checked   int
	unchecked []unchecked
}

// unchecked is an image that is not available without the network.
type unchecked struct {
	ref string
	pos spec.Pos
}

// validate checks the description made of files for arch.
// With subst, LinuxKit's system images are checked as the Keel packages keel build takes
// (substitutions are reported on w).
func validate(ctx context.Context, files []string, r *image.Resolver, arch string, strict, subst bool, w io.Writer) validation {
	var res validation
	addAll := func(err error) {
		var list spec.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				res.errs = append(res.errs, e)
			}
			return
		}
		res.errs = append(res.errs, err)
	}
	cfg, err := spec.ParseFile(files...)
	if err != nil {
		addAll(err)
		return res
	}
	if subst {
		substituteRefs(cfg, w, "validate")
	}
	if err := resolvePkgRefs(cfg, r.Store(), arch); err != nil {
		addAll(err) // and check the rest: the @pkg: references left are skipped below
	}

	// Each reference is looked up once; those absent are listed once, at their first use.
	type found struct {
		img v1.Image
		err error
	}
	seen := map[string]found{}
	lookup := func(ref string, pos spec.Pos) v1.Image {
		if f, ok := seen[ref]; ok {
			return f.img
		}
		if strings.HasPrefix(ref, spec.PkgPrefix) {
			return nil // reported by resolvePkgRefs
		}
		img, err := r.Resolve(ctx, ref, arch)
		switch {
		case errors.Is(err, image.ErrNotFound):
			res.unchecked = append(res.unchecked, unchecked{ref, pos})
			err = nil
		case err != nil:
			res.errs = append(res.errs, pos.Errorf("%v", err))
		default:
			res.checked++
		}
		seen[ref] = found{img, err}
		return img
	}
	if cfg.Kernel.Image != "" {
		lookup(cfg.Kernel.Image, cfg.Kernel.Pos)
	}
	for _, ref := range cfg.Init {
		lookup(ref.Image, ref.Pos)
	}
	ids := cfg.IDs()
	for _, sec := range []struct {
		kind   ocispec.Kind
		images []spec.Image
	}{{ocispec.Onboot, cfg.Onboot}, {ocispec.Onshutdown, cfg.Onshutdown}, {ocispec.Service, cfg.Services}} {
		for _, c := range sec.images {
			img := lookup(c.Image, c.Pos)
			if img == nil {
				continue
			}
			if err := checkContainer(c, img, sec.kind, ocispec.Options{
				Kind: sec.kind, IDs: ids, Arch: arch, Strict: strict || cfg.Strict, Volumes: cfg.Volumes,
			}); err != nil {
				res.errs = append(res.errs, err)
			}
		}
	}
	for _, v := range cfg.Volumes {
		if v.Image != "" && (v.Format != spec.VolumeFormatOCI || len(v.Platforms) == 0) {
			lookup(v.Image, v.Pos)
		}
	}
	return res
}

// checkContainer converts c with its image's label and config, as keel build does; the
// image is unpacked only if a user name in it must be looked up.
func checkContainer(c spec.Image, img v1.Image, kind ocispec.Kind, opts ocispec.Options) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return c.Pos.Errorf("%s %q: image %q: config: %v", kind, c.Name, c.Image, err)
	}
	var once sync.Once
	var t *tree.Tree
	var unpackErr error
	opts.ReadFile = func(name string) ([]byte, error) {
		once.Do(func() { t, unpackErr = tree.Unpack(img) })
		if unpackErr != nil {
			return nil, unpackErr
		}
		return t.ReadFile(name)
	}
	cc := cf.Config
	_, _, err = ocispec.ConvertImage(c, ocispecv1.ImageConfig{
		User: cc.User, Env: cc.Env, Entrypoint: cc.Entrypoint, Cmd: cc.Cmd,
		WorkingDir: cc.WorkingDir, Labels: cc.Labels, StopSignal: cc.StopSignal,
	}, opts)
	return err
}
