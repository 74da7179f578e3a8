package pkg

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/tree"
)

// Options control Build.
type Options struct {
	Arch      string    // target architecture: amd64, arm64 or s390x; default the host's
	Tag       string    // image tag; default build.yml's tag:, then DefaultTag
	GoFlags   []string  // extra go build arguments, placed before the package
	Env       []string  // extra go build environment (KEY=VALUE), overriding Build's own
	Go        string    // go command; default "go" from PATH
	ModuleDir string    // dir whose go.mod resolves import-path binaries; default the package dir
	Epoch     time.Time // mtimes and creation time; zero: SOURCE_DATE_EPOCH, else Unix 0
	CacheDir  string    // where Debian packages named by files' deb: are kept; required for them
	Stdout    io.Writer // go build output; nil discards it (it is still quoted in errors)
	Stderr    io.Writer // go build output and one "# ..." line per binary; nil discards

	// Store, if set, receives the built image, e.g. to record it in the local store.
	// Pushing is the caller's: PushAll pushes one arch's image or several as an index.
	Store func(ref string, img v1.Image) error
}

// Build compiles the package's binaries for opts.Arch, lays them out with its files in one
// deterministic layer and returns the image and its reference (image:tag). It then hands
// the image to opts.Store when that is set.
func (p *Package) Build(ctx context.Context, opts Options) (string, v1.Image, error) {
	if opts.Arch == "" {
		opts.Arch = runtime.GOARCH
	}
	if _, err := arch.Lookup(opts.Arch); err != nil {
		return "", nil, fmt.Errorf("build %s: %w", p.Image, err)
	}
	epoch := opts.Epoch
	if epoch.IsZero() {
		var err error
		if epoch, err = tree.Epoch(); err != nil {
			return "", nil, fmt.Errorf("build %s: %w", p.Image, err)
		}
	}
	ref := p.Ref(opts.Tag)

	l, err := p.layer(ctx, &opts)
	if err != nil {
		return "", nil, err
	}
	layerTar, err := l.tarball(epoch)
	if err != nil {
		return "", nil, fmt.Errorf("build %s: %w", ref, err)
	}
	img, err := p.image(layerTar, opts.Arch, epoch, l.debs)
	if err != nil {
		return "", nil, err
	}
	if opts.Store != nil {
		if err := opts.Store(ref, img); err != nil {
			return "", nil, fmt.Errorf("store %s: %w", ref, err)
		}
	}
	return ref, img, nil
}

// layer compiles the binaries and collects them and the files: entries.
func (p *Package) layer(ctx context.Context, opts *Options) (*layer, error) {
	l := newLayer()
	if len(p.Binaries) > 0 {
		tmp, err := os.MkdirTemp("", "keel-pkg-")
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", p.Image, err)
		}
		defer os.RemoveAll(tmp)
		for i, b := range p.Binaries {
			out := filepath.Join(tmp, fmt.Sprintf("bin%d", i))
			if err := p.compile(ctx, b, out, opts); err != nil {
				return nil, err
			}
			data, err := os.ReadFile(out)
			if err != nil {
				return nil, fmt.Errorf("build %s: %w", b.Package, err)
			}
			paths := append([]string{b.Path}, b.Links...)
			if err := l.addHardLinked(paths, data, 0o755, p.origin(b.Pos)); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range p.Files {
		if err := p.addFile(ctx, l, f, opts); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (p *Package) addFile(ctx context.Context, l *layer, f File, opts *Options) error {
	origin := p.origin(f.Pos)
	mode := func(def fs.FileMode) fs.FileMode {
		if f.Mode != nil {
			return f.Mode.perm()
		}
		return def
	}
	switch {
	case f.Deb != "":
		root, info, err := debRoot(ctx, f.Deb, opts.Arch, opts.CacheDir)
		if err != nil {
			return fmt.Errorf("%s: %w", origin, err)
		}
		if info.Version == "" && opts.Stderr != nil {
			fmt.Fprintf(opts.Stderr, "# deb %s: version unknown (unpacked by an older keel); remove %s to fetch it again\n", f.Deb, root)
		}
		d := l.debs[info.Package]
		if d == nil {
			d = &info
			l.debs[info.Package] = d
		}
		d.Files = append(d.Files, path.Join("/", f.Path))
		src := filepath.Join(root, f.Source)
		if err := addSource(l, f, src, origin); err != nil {
			return err
		}
		if len(f.Libs) == 0 {
			return nil
		}
		return l.addLibs(ctx, src, append([]string{f.Deb}, f.Libs...), opts, origin)
	case f.Source != "":
		src := f.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(p.Dir, src)
		}
		return addSource(l, f, src, origin)
	case f.Contents != nil:
		return l.add(f.Path, &tree.Node{Mode: mode(0o644), Data: []byte(*f.Contents)}, origin)
	case f.Directory:
		return l.add(f.Path, &tree.Node{Mode: tree.ModeDir | mode(0o755)}, origin)
	default:
		return l.add(f.Path, &tree.Node{Mode: tree.ModeSymlink | 0o777, Target: f.Symlink}, origin)
	}
}

// addSource adds the host file or tree src at f.Path, or with concat: the concatenation of
// the files of directory src that match it.
func addSource(l *layer, f File, src, origin string) error {
	if f.Concat == "" {
		return l.addHost(f.Path, src, f.Mode, origin)
	}
	data, err := concatFiles(src, f.Concat)
	if err != nil {
		return fmt.Errorf("%s: %w", origin, err)
	}
	mode := fs.FileMode(0o644)
	if f.Mode != nil {
		mode = f.Mode.perm()
	}
	return l.add(f.Path, &tree.Node{Mode: mode, Data: data}, origin)
}

// concatFiles joins the regular files of dir whose names match pattern, in byte order of
// name, adding a newline to any that lacks one at its end (as update-ca-certificates does).
func concatFiles(dir, pattern string) ([]byte, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("concat: %w", err)
	}
	var out []byte
	n := 0
	for _, e := range entries {
		if ok, _ := path.Match(pattern, e.Name()); !ok || !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("concat: %w", err)
		}
		out = append(out, data...)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			out = append(out, '\n')
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("concat: no file in %s matches %q", dir, pattern)
	}
	return out, nil
}

// origin names a build.yml line in errors, as "build.yml:12".
func (p *Package) origin(pos spec.Pos) string { return fmt.Sprintf("%s:%d", p.File, pos.Line) }
