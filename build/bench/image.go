package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/keel-os/keel/build/assemble"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/rootfs/image"
	"github.com/keel-os/keel/rootfs/initrd"
	"github.com/keel-os/keel/rootfs/tree"
)

// buildOptions is one keel build: what `keel build -o Dir --name Name --arch Arch` does.
type buildOptions struct {
	Files    []string // YAML files, merged
	Arch     string
	Dir      string
	Name     string
	CacheDir string // "" is image.DefaultCacheDir
	// Compression of the initramfs, as Options.Compression (its defaults set it).
	Compression initrd.Compression
	// Cmdline words appended to the kernel command line unless it has them already.
	Cmdline []string
	// Squashfs writes the root as kernel+squashfs as well.
	Squashfs bool
	// Edit, if set, changes the parsed configuration before it is assembled.
	Edit func(*spec.Config) error
}

// builtImage is what a build wrote.
type builtImage struct {
	Base   string // Dir/Name: the NAME build/qemu's LoadImage takes
	Kernel string
	Initrd string
	// Squashfs is the root as a squashfs (buildOptions.Squashfs), else "".
	Squashfs string
	Cmdline  string // the kernel command line
	Elapsed  time.Duration
}

// buildImage does what `keel build` does, with the same library calls: parse the YAML,
// resolve the images, assemble the tree and write a kernel+initrd (and kernel+squashfs).
// Elapsed covers all of it.
func buildImage(ctx context.Context, opts buildOptions) (*builtImage, error) {
	start := time.Now()
	cfg, err := spec.ParseFile(opts.Files...)
	if err != nil {
		return nil, err
	}
	if opts.Edit != nil {
		if err := opts.Edit(cfg); err != nil {
			return nil, err
		}
	}
	cfg.Kernel.Cmdline = appendCmdline(cfg.Kernel.Cmdline, opts.Cmdline...)
	epoch, err := tree.Epoch()
	if err != nil {
		return nil, err
	}
	resolver, err := image.NewResolver(image.Options{CacheDir: opts.CacheDir})
	if err != nil {
		return nil, err
	}
	img, err := assemble.Assemble(ctx, cfg, assemble.Options{
		Arch: image.NormalizeArch(opts.Arch), Resolver: resolver, Epoch: epoch,
	})
	if err != nil {
		return nil, err
	}
	formats := []string{assemble.FormatKernelInitrd}
	if opts.Squashfs {
		formats = append(formats, assemble.FormatKernelSquashfs)
	}
	if _, err := assemble.Write(img, assemble.WriteOptions{
		Dir: opts.Dir, Name: opts.Name, Formats: formats, Compression: opts.Compression,
	}); err != nil {
		return nil, err
	}
	base := filepath.Join(opts.Dir, opts.Name)
	squashfs := ""
	if opts.Squashfs {
		squashfs = guest.SquashfsFile(base)
	}
	return &builtImage{
		Squashfs: squashfs,
		Base:     base,
		Kernel:   guest.KernelFile(base),
		Initrd:   guest.InitrdFile(base),
		Cmdline:  strings.TrimSpace(img.Cmdline),
		Elapsed:  time.Since(start),
	}, nil
}

// appendCmdline appends to line each word it does not already hold.
func appendCmdline(line string, words ...string) string {
	have := map[string]bool{}
	for _, w := range strings.Fields(line) {
		have[w] = true
	}
	out := strings.TrimSpace(line)
	for _, w := range words {
		if !have[w] {
			out = strings.TrimSpace(out + " " + w)
			have[w] = true
		}
	}
	return out
}

// imageRefs calls f for every image reference of cfg, replacing it with what f returns.
func imageRefs(cfg *spec.Config, f func(ref string) (string, error)) error {
	edit := func(p *string) error {
		if *p == "" {
			return nil
		}
		r, err := f(*p)
		if err != nil {
			return err
		}
		*p = r
		return nil
	}
	if err := edit(&cfg.Kernel.Image); err != nil {
		return err
	}
	for i := range cfg.Init {
		if err := edit(&cfg.Init[i].Image); err != nil {
			return err
		}
	}
	for _, sec := range [][]spec.Image{cfg.Onboot, cfg.Onshutdown, cfg.Services} {
		for i := range sec {
			if err := edit(&sec[i].Image); err != nil {
				return err
			}
		}
	}
	for i := range cfg.Volumes {
		if err := edit(&cfg.Volumes[i].Image); err != nil {
			return fmt.Errorf("volume %s: %w", cfg.Volumes[i].Name, err)
		}
	}
	return nil
}
