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
	var errs ErrorList
	do := func(ref *string, pos Pos, field string) {
		rel, ok := strings.CutPrefix(*ref, PkgPrefix)
		if !ok {
			return
		}
		if rel == "" {
			errs = append(errs, &Error{Pos: pos, Field: field, Err: fmt.Errorf("%q names no package directory", *ref)})
			return
		}
		dir := filepath.FromSlash(rel)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(pos.File), dir)
		}
		r, err := resolve(dir)
		if err != nil {
			errs = append(errs, &Error{Pos: pos, Field: field, Err: fmt.Errorf("%s: %w", *ref, err)})
			return
		}
		*ref = r
	}
	do(&c.Kernel.Image, c.Kernel.Pos, "kernel: image")
	for i := range c.Init {
		do(&c.Init[i].Image, c.Init[i].Pos, fmt.Sprintf("init[%d]", i))
	}
	for _, sec := range []struct {
		name   string
		images []Image
	}{{SectionOnboot, c.Onboot}, {SectionOnshutdown, c.Onshutdown}, {SectionServices, c.Services}} {
		for i := range sec.images {
			img := &sec.images[i]
			pos, ok := img.KeyPos["image"]
			if !ok {
				pos = img.Pos
			}
			do(&img.Image, pos, fmt.Sprintf("%s[%d] %q: image", sec.name, i, img.Name))
		}
	}
	for i := range c.Volumes {
		v := &c.Volumes[i]
		if v.Image != "" {
			do(&v.Image, v.Pos, fmt.Sprintf("volumes[%d] %q: image", i, v.Name))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
