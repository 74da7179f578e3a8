package pkg

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/rootfs/tree"
)

// debTree is an unpacked Debian package that libraries are looked up in.
type debTree struct {
	root string
	info Deb
}

// addLibs adds the loader and the shared libraries the ELF file bin (a host path) needs,
// recursively, taking each from the first of the Debian packages debs (for opts.Arch) that has
// it in a library directory. A library is stored at the path it is found under, with the
// contents of the file a symlink there points to. Libraries another file already brought are
// skipped.
func (l *layer) addLibs(ctx context.Context, bin string, debs []string, opts *Options, origin string) error {
	a, err := arch.Lookup(opts.Arch)
	if err != nil {
		return fmt.Errorf("%s: %w", origin, err)
	}
	var trees []debTree
	for _, name := range debs {
		root, info, err := debRoot(ctx, name, opts.Arch, opts.CacheDir)
		if err != nil {
			return fmt.Errorf("%s: libs: %w", origin, err)
		}
		trees = append(trees, debTree{root, info})
	}
	dirs := []string{"/lib/" + a.Triple, "/usr/lib/" + a.Triple, "/lib", "/usr/lib", "/lib64", "/usr/lib64"}

	interp, needed, err := elfDeps(bin)
	if err != nil {
		return fmt.Errorf("%s: libs: %w", origin, err)
	}
	if interp != "" {
		if _, err := l.findLib(trees, []string{path.Dir(interp)}, path.Base(interp), bin, origin); err != nil {
			return err
		}
	}
	type want struct{ soname, by string }
	queue := make([]want, 0, len(needed))
	for _, n := range needed {
		queue = append(queue, want{n, bin})
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		if seen[w.soname] {
			continue
		}
		seen[w.soname] = true
		src, err := l.findLib(trees, dirs, w.soname, w.by, origin)
		if err != nil {
			return err
		}
		_, more, err := elfDeps(src)
		if err != nil {
			return fmt.Errorf("%s: libs: %w", origin, err)
		}
		for _, n := range more {
			queue = append(queue, want{n, src})
		}
	}
	return nil
}

// findLib looks name up in dirs of each tree, adds it to the layer unless it is there already
// and returns the host path of its contents.
func (l *layer) findLib(trees []debTree, dirs []string, name, by, origin string) (string, error) {
	for _, t := range trees {
		for _, dir := range dirs {
			p := path.Join(dir, name)
			src, err := resolveIn(t.root, p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("%s: libs: %s: %w", origin, name, err)
			}
			if l.libs[p] != "" {
				return src, nil
			}
			if err := l.addLibFile(p, src, origin+" (libs: "+name+")"); err != nil {
				return "", err
			}
			d := l.debs[t.info.Package]
			if d == nil {
				info := t.info
				d = &info
				l.debs[t.info.Package] = d
			}
			d.Files = append(d.Files, p)
			return src, nil
		}
	}
	names := make([]string, len(trees))
	for i, t := range trees {
		names[i] = t.info.Package
	}
	return "", fmt.Errorf("%s: libs: %s, needed by %s, is in none of %s (under %s)", origin, name, filepath.Base(by), strings.Join(names, ", "), strings.Join(dirs, " "))
}

// addLibFile adds the host file src at the image path p: as a hard link when another path
// already holds src (the loader is found under two names), else as a copy.
func (l *layer) addLibFile(p, src, origin string) error {
	for other, otherSrc := range l.libs {
		if otherSrc != src {
			continue
		}
		key, err := tree.Clean(other)
		if err != nil {
			return err
		}
		n, err := l.tree.Lookup(key)
		if err != nil {
			return fmt.Errorf("%s: %w", origin, err)
		}
		l.libs[p] = src
		return l.add(p, n, origin)
	}
	if err := l.addHost(p, src, nil, origin); err != nil {
		return err
	}
	l.libs[p] = src
	return nil
}

// resolveIn returns the host path of the regular file at the image path p inside root,
// following symlinks (absolute ones relative to root) without leaving root.
func resolveIn(root, p string) (string, error) {
	for range 40 {
		host := filepath.Join(root, filepath.FromSlash(p))
		fi, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		switch {
		case fi.Mode().IsRegular():
			return host, nil
		case fi.Mode()&fs.ModeSymlink == 0:
			return "", fmt.Errorf("%s is not a regular file", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean("/" + target)
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", p)
}

// elfDeps returns the loader (PT_INTERP) and DT_NEEDED entries of the ELF file at p.
func elfDeps(p string) (string, []string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
	}
	defer f.Close()
	var interp string
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return "", nil, fmt.Errorf("%s: PT_INTERP: %w", filepath.Base(p), err)
		}
		interp = strings.TrimRight(string(b), "\x00")
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		return "", nil, fmt.Errorf("%s: DT_NEEDED: %w", filepath.Base(p), err)
	}
	return interp, needed, nil
}
