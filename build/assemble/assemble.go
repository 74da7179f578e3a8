// Package assemble turns a parsed image description into the machine's root filesystem: the
// init images at /, each onboot, onshutdown and service container as a bundle under
// /containers (config.json, runtime.json, rootfs), the files section, the kernel's modules,
// and the kernel itself with its command line.
package assemble

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/keel-os/keel/build/kernel"
	"github.com/keel-os/keel/build/ocispec"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/rootfs/tree"
	ocispecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Resolver finds an image for an architecture (rootfs/image.Resolver).
type Resolver interface {
	Resolve(ctx context.Context, ref, arch string) (v1.Image, error)
}

// Options control an assembly.
type Options struct {
	Arch     string
	Resolver Resolver
	// Epoch is the modification time of generated files (config.json, files section).
	Epoch time.Time
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
	// Unpack holds the size limits for unpacking images (tree.MaxFileSize,
	// tree.MaxImageSize); none is the tree package's defaults.
	Unpack []tree.Option
	// Strict refuses host privileges that only an image label grants; the description's
	// strict key turns it on too.
	Strict bool
	// Privileges, if set, receives each container's privileges in effect, in bundle order.
	Privileges func(ocispec.Report)
}

// Image is an assembled machine: what the output writers need.
type Image struct {
	Kernel  []byte // the kernel binary; nil when the description has no kernel
	UCode   []byte // CPU microcode cpio to put before the initrd, if any
	Cmdline string
	Root    *tree.Tree
	Sources []Source  // the images it was made from, by reference
	Epoch   time.Time // Options.Epoch: the time of entries made for the outputs (boot/ in tar)
}

// assembler holds the state of one assembly: resolved images are unpacked once per digest.
type assembler struct {
	cfg  *spec.Config
	opts Options
	ids  map[string]uint32

	mu     sync.Mutex
	trees  map[v1.Hash]*tree.Tree
	images map[string]v1.Image
}

// Assemble builds the machine described by cfg.
func Assemble(ctx context.Context, cfg *spec.Config, opts Options) (*Image, error) {
	a := &assembler{cfg: cfg, opts: opts, ids: cfg.IDs(), trees: map[v1.Hash]*tree.Tree{}, images: map[string]v1.Image{}}
	if opts.Resolver == nil {
		return nil, fmt.Errorf("assemble: no image resolver")
	}
	if err := a.prefetch(ctx); err != nil {
		return nil, err
	}
	out := &Image{Root: tree.New(), Cmdline: cfg.Kernel.Cmdline, Epoch: opts.Epoch}
	for _, ref := range cfg.Init {
		t, _, err := a.unpack(ctx, ref.Image, ref.Pos)
		if err != nil {
			return nil, err
		}
		if err := out.Root.Graft("", t); err != nil {
			return nil, ref.Pos.Errorf("init %q: %v", ref.Image, err)
		}
	}
	if err := a.kernel(ctx, out); err != nil {
		return nil, err
	}
	if err := a.skeleton(out.Root); err != nil {
		return nil, err
	}
	for _, sec := range []struct {
		kind   ocispec.Kind
		dir    string
		images []spec.Image
	}{
		{ocispec.Onboot, bundle.OnbootDir, cfg.Onboot},
		{ocispec.Onshutdown, bundle.OnshutdownDir, cfg.Onshutdown},
		{ocispec.Service, bundle.ServicesDir, cfg.Services},
	} {
		for i, img := range sec.images {
			name := img.Name
			if sec.kind != ocispec.Service {
				name = fmt.Sprintf("%03d-%s", i, img.Name)
			}
			if err := a.container(ctx, out.Root, sec.kind, path.Join(sec.dir, name), img); err != nil {
				return nil, err
			}
		}
	}
	if err := a.volumes(ctx, out.Root); err != nil {
		return nil, err
	}
	if err := a.files(out.Root); err != nil {
		return nil, err
	}
	var err error
	if out.Sources, err = a.sources(); err != nil {
		return nil, err
	}
	return out, nil
}

func (a *assembler) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf(format, args...)
	}
}

// prefetch resolves every image concurrently, so pulls overlap; errors name file:line.
func (a *assembler) prefetch(ctx context.Context) error {
	type want struct {
		ref string
		pos spec.Pos
	}
	var all []want
	if a.cfg.Kernel.Image != "" {
		all = append(all, want{a.cfg.Kernel.Image, a.cfg.Kernel.Pos})
	}
	for _, r := range a.cfg.Init {
		all = append(all, want{r.Image, r.Pos})
	}
	for _, sec := range [][]spec.Image{a.cfg.Onboot, a.cfg.Onshutdown, a.cfg.Services} {
		for _, img := range sec {
			all = append(all, want{img.Image, img.Pos})
		}
	}
	for _, v := range a.cfg.Volumes {
		if v.Image != "" && v.Format != spec.VolumeFormatOCI {
			all = append(all, want{v.Image, v.Pos})
		}
	}
	errs := make([]error, len(all))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, w := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = a.resolve(ctx, w.ref, w.pos)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *assembler) resolve(ctx context.Context, ref string, pos spec.Pos) (v1.Image, error) {
	a.mu.Lock()
	img, ok := a.images[ref]
	a.mu.Unlock()
	if ok {
		return img, nil
	}
	img, err := a.opts.Resolver.Resolve(ctx, ref, a.opts.Arch)
	if err != nil {
		return nil, pos.Errorf("image %q: %v", ref, err)
	}
	a.mu.Lock()
	a.images[ref] = img
	a.mu.Unlock()
	return img, nil
}

// unpack returns the image's tree (shared: graft it, do not modify it) and its config.
func (a *assembler) unpack(ctx context.Context, ref string, pos spec.Pos) (*tree.Tree, *v1.ConfigFile, error) {
	img, err := a.resolve(ctx, ref, pos)
	if err != nil {
		return nil, nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, pos.Errorf("image %q: config: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, nil, pos.Errorf("image %q: %v", ref, err)
	}
	a.mu.Lock()
	t, ok := a.trees[d]
	a.mu.Unlock()
	if ok {
		return t, cf, nil
	}
	a.logf("unpacking %s", ref)
	t, err = tree.Unpack(img, a.opts.Unpack...)
	if err != nil {
		return nil, nil, pos.Errorf("image %q: %w", ref, err)
	}
	a.mu.Lock()
	a.trees[d] = t
	a.mu.Unlock()
	return t, cf, nil
}

// kernel takes the kernel binary, microcode and modules out of the kernel image.
func (a *assembler) kernel(ctx context.Context, out *Image) error {
	k := a.cfg.Kernel
	if k.Image == "" {
		return nil
	}
	t, _, err := a.unpack(ctx, k.Image, k.Pos)
	if err != nil {
		return err
	}
	binary := k.Binary
	if binary == "" {
		binary = kernel.KernelFile
	}
	n, err := t.Lookup(binary)
	if err != nil || !n.IsRegular() {
		return k.Pos.Errorf("kernel image %q has no file %q", k.Image, binary)
	}
	out.Kernel = n.Data
	if k.UCode != nil && *k.UCode != "" {
		n, err := t.Lookup(*k.UCode)
		if err != nil || !n.IsRegular() {
			return k.Pos.Errorf("kernel image %q has no ucode file %q", k.Image, *k.UCode)
		}
		out.UCode = n.Data
	}
	tarName := kernel.ModulesFile
	if k.Tar != nil {
		tarName = *k.Tar
	}
	if tarName == "" || tarName == "none" {
		return nil
	}
	n, err = t.Lookup(tarName)
	if err != nil {
		if k.Tar == nil {
			return nil // the default modules tarball is optional
		}
		return k.Pos.Errorf("kernel image %q has no file %q", k.Image, tarName)
	}
	if err := tree.ApplyTar(out.Root, bytes.NewReader(n.Data), a.opts.Unpack...); err != nil {
		return k.Pos.Errorf("kernel image %q: %s: %w", k.Image, tarName, err)
	}
	return nil
}

// skeletonDirs are the directories PID 1 expects at the root, with their modes. /system is
// the mount point of PID 1's own tmpfs (its control socket, containerd's). /containers holds
// the bundles, whose image files (setuid binaries, device nodes) only root may reach.
var skeletonDirs = []struct {
	name string
	mode fs.FileMode
}{
	{"dev", 0o755}, {"proc", 0o755}, {"sys", 0o755}, {"run", 0o755}, {"system", 0o700},
	{"tmp", 0o755}, {"var", 0o755}, {"etc", 0o755}, {"containers", 0o700},
}

// skeleton adds what PID 1 expects to find: mount points and the console device.
func (a *assembler) skeleton(root *tree.Tree) error {
	for _, d := range skeletonDirs {
		if n, err := root.Lookup(d.name); err == nil && !n.IsDir() {
			continue // an init image made it something else (a symlink, say): keep it
		}
		if err := root.AddDir(d.name, d.mode, 0, 0); err != nil {
			return fmt.Errorf("add /%s: %w", d.name, err)
		}
	}
	if _, err := root.Lookup("dev/console"); err != nil {
		if err := root.AddDevice("dev/console", fs.ModeCharDevice|fs.ModeDevice, 0o600, 0, 0, 5, 1); err != nil {
			return fmt.Errorf("add /dev/console: %w", err)
		}
	}
	return nil
}

// container writes one bundle: rootfs from the image, config.json, runtime.json, and mount
// points in the rootfs for every mount (the root filesystem is read-only at run time).
func (a *assembler) container(ctx context.Context, root *tree.Tree, kind ocispec.Kind, dir string, img spec.Image) error {
	t, cf, err := a.unpack(ctx, img.Image, img.Pos)
	if err != nil {
		return err
	}
	opts := ocispec.Options{
		Kind: kind, IDs: a.ids, Arch: a.opts.Arch, Strict: a.opts.Strict || a.cfg.Strict,
		ReadFile: t.ReadFile,
		Report:   a.opts.Privileges,
		Volumes:  a.cfg.Volumes,
	}
	s, rt, err := ocispec.ConvertImage(img, imageConfig(cf.Config), opts)
	if err != nil {
		return err
	}
	rootfs := path.Join(dir, bundle.RootfsDir)
	if err := root.Graft(rootfs, t); err != nil {
		return img.Pos.Errorf("%s %q: %v", kind, img.Name, err)
	}
	if err := addMountpoints(root, rootfs, s.Mounts); err != nil {
		return img.Pos.Errorf("%s %q: %v", kind, img.Name, err)
	}
	if err := addRuntimeDirs(root, rootfs, rt); err != nil {
		return img.Pos.Errorf("%s %q: %v", kind, img.Name, err)
	}
	for _, f := range []struct {
		name string
		v    any
	}{{bundle.ConfigFile, s}, {bundle.RuntimeFile, rt}} {
		data, err := ocispec.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := root.AddFile(path.Join(dir, f.name), 0o644, 0, 0, data); err != nil {
			return fmt.Errorf("%s: %w", path.Join(dir, f.name), err)
		}
	}
	a.stamp(root, dir, path.Join(dir, bundle.ConfigFile), path.Join(dir, bundle.RuntimeFile))
	return nil
}

// imageConfig carries the fields of an image's config that a runtime spec uses.
func imageConfig(c v1.Config) ocispecv1.ImageConfig {
	return ocispecv1.ImageConfig{
		User: c.User, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		WorkingDir: c.WorkingDir, Labels: c.Labels, StopSignal: c.StopSignal,
	}
}

// stamp sets generated entries' times to the epoch, for reproducible output.
func (a *assembler) stamp(root *tree.Tree, paths ...string) {
	for _, p := range paths {
		if n, err := root.Lookup(p); err == nil {
			n.ModTime = a.opts.Epoch
		}
	}
}

// volumes makes /containers/volumes/NAME for each volume, filled from its image if it has
// one: its root filesystem, or for format oci an OCI image layout of it (see ociVolume).
func (a *assembler) volumes(ctx context.Context, root *tree.Tree) error {
	for _, v := range a.cfg.Volumes {
		dir := path.Join(bundle.VolumesDir, v.Name)
		if err := root.AddDir(dir, 0o755, 0, 0); err != nil {
			return v.Pos.Errorf("volume %q: %v", v.Name, err)
		}
		if v.Image == "" {
			continue
		}
		if v.Format == spec.VolumeFormatOCI {
			if err := a.ociVolume(ctx, root, dir, v); err != nil {
				return err
			}
			continue
		}
		t, _, err := a.unpack(ctx, v.Image, v.Pos)
		if err != nil {
			return err
		}
		if err := root.Graft(dir, t); err != nil {
			return v.Pos.Errorf("volume %q: %v", v.Name, err)
		}
	}
	return nil
}

// metadata renders the resolved configuration for a files entry with metadata: yaml|json.
func (a *assembler) metadata(format string) ([]byte, error) {
	if format == "json" {
		return json.MarshalIndent(a.cfg, "", "  ")
	}
	return marshalYAML(a.cfg)
}
