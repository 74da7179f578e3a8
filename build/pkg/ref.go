package pkg

import (
	"fmt"
	"path/filepath"

	"github.com/keel-os/keel/build/spec"
)

// ResolveRefs replaces each "@pkg:DIR" image reference of cfg (see
// spec.Config.ResolvePackages) by the reference Build gives the package in DIR without a
// tag option: build.yml's image:tag, tag DefaultTag when it has none. built reports whether
// that image is stored for arch; when it is not, the error names the command to build it.
func ResolveRefs(cfg *spec.Config, arch string, built func(ref, arch string) error) error {
	return cfg.ResolvePackages(func(dir string) (string, error) {
		p, err := Load(dir)
		if err != nil {
			return "", err
		}
		ref := p.Ref("")
		if err := built(ref, arch); err != nil {
			return "", fmt.Errorf("image %s is not built for %s (%v): run \"keel pkg build --arch %s %s\" first",
				ref, arch, err, arch, filepath.Clean(dir))
		}
		return ref, nil
	})
}
