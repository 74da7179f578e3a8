package spec

import (
	"fmt"
	"path/filepath"
	"strings"
)

// PkgPrefix starts an image reference naming a package directory instead of an image, as in
// LinuxKit: "@pkg:./services/getty" is the image `keel pkg build` makes of that directory.
const PkgPrefix = "@pkg:"

// ResolvePackages replaces every image reference "@pkg:PATH" of c (kernel, init, onboot,
// onshutdown, services and volumes) by resolve(DIR), where DIR is PATH taken relative to the
// directory of the file the reference is written in. The error is an ErrorList naming each
// reference that failed at its file and line.
func (c *Config) ResolvePackages(resolve func(dir string) (string, error)) error {
	return c.EachRef(func(s RefSite) error {
		rel, ok := strings.CutPrefix(*s.Ref, PkgPrefix)
		if !ok {
			return nil
		}
		if rel == "" {
			return fmt.Errorf("%q names no package directory", *s.Ref)
		}
		dir := filepath.FromSlash(rel)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(s.Pos.File), dir)
		}
		r, err := resolve(dir)
		if err != nil {
			return fmt.Errorf("%s: %w", *s.Ref, err)
		}
		*s.Ref = r
		return nil
	})
}
