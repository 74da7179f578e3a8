package main

import (
	"fmt"
	"path/filepath"

	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/image"
)

// resolvePkgRefs replaces the "@pkg:DIR" image references of cfg by the image `keel pkg
// build DIR` stores (build.yml's image:tag, tag dev by default), which must be in the local
// store for arch already: keel build does not build packages itself.
func resolvePkgRefs(cfg *spec.Config, store *image.Store, arch string) error {
	return cfg.ResolvePackages(func(dir string) (string, error) {
		p, err := pkg.Load(dir)
		if err != nil {
			return "", err
		}
		ref := p.Ref("")
		if _, err := store.Image(ref, arch); err != nil {
			return "", fmt.Errorf("image %s is not built for %s (%v): run \"keel pkg build --arch %s %s\" first",
				ref, arch, err, arch, filepath.Clean(dir))
		}
		return ref, nil
	})
}
