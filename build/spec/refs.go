package spec

import "fmt"

// RefSite is one image reference of a description: where it is written and what it is for.
type RefSite struct {
	Ref     *string // the reference, which the visitor may rewrite
	Pos     Pos     // where it is written
	Field   string  // which field, as errors name it: `services[0] "getty": image`
	Section string  // kernel, init, onboot, onshutdown, services or volumes
	Entry   *Image  // the onboot, onshutdown or service entry naming it, else nil
}

// EachRef calls visit for every image reference of c: the kernel, init, onboot, onshutdown,
// services and volumes, in that order. The errors visit returns are collected into an
// ErrorList, each naming its reference's file, line and field.
func (c *Config) EachRef(visit func(RefSite) error) error {
	var errs ErrorList
	do := func(s RefSite) {
		if err := visit(s); err != nil {
			errs = append(errs, &Error{Pos: s.Pos, Field: s.Field, Err: err})
		}
	}
	if c.Kernel.Image != "" {
		do(RefSite{&c.Kernel.Image, c.Kernel.Pos, "kernel: image", "kernel", nil})
	}
	for i := range c.Init {
		do(RefSite{&c.Init[i].Image, c.Init[i].Pos, fmt.Sprintf("init[%d]", i), "init", nil})
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
			do(RefSite{&img.Image, pos, fmt.Sprintf("%s[%d] %q: image", sec.name, i, img.Name), sec.name, img})
		}
	}
	for i := range c.Volumes {
		if v := &c.Volumes[i]; v.Image != "" {
			do(RefSite{&v.Image, v.Pos, fmt.Sprintf("volumes[%d] %q: image", i, v.Name), "volumes", nil})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
