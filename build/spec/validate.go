package spec

import (
	"fmt"
	"path"
	"strings"
)

// This file holds the checks that involve several fields or several entries. Checks of a
// single value are in check.go.

func (f *File) validate() []fieldError {
	var set []string
	for _, k := range []struct {
		key string
		on  bool
	}{
		{"symlink", f.Symlink != ""},
		{"contents", f.Contents != nil},
		{"source", f.Source != ""},
		{"metadata", f.Metadata != ""},
	} {
		if k.on {
			set = append(set, k.key)
		}
	}
	switch {
	case len(set) > 1:
		return []fieldError{{key: set[1], msg: fmt.Sprintf("%s and %s cannot both be set", set[0], set[1])}}
	case f.Directory && len(set) == 1 && set[0] != "source":
		return []fieldError{{key: set[0], msg: fmt.Sprintf("a directory cannot have %s", set[0])}}
	case !f.Directory && len(set) == 0:
		return []fieldError{{msg: "file has no content: set one of contents, source, metadata, symlink or directory"}}
	}
	return nil
}

func (v *Volume) validate() []fieldError {
	if v.Image == "" {
		if v.Format != "" {
			return []fieldError{{key: "format", msg: "format is only for volumes with an image"}}
		}
		if len(v.Platforms) > 0 {
			return []fieldError{{key: "platforms", msg: "platforms are only for volumes with an image"}}
		}
	}
	return nil
}

func (d *Device) validate() []fieldError {
	switch {
	case d.Path == "all":
		if d.Type != "a" && d.Type != "b" && d.Type != "c" {
			return []fieldError{{key: "type", msg: fmt.Sprintf(`invalid type %q for path "all": expected "a" (all), "b" (block) or "c" (char)`, d.Type)}}
		}
	case !path.IsAbs(d.Path):
		return []fieldError{{key: "path", msg: fmt.Sprintf("device path %q is not absolute (or \"all\")", d.Path)}}
	case d.Type != "c" && d.Type != "b" && d.Type != "u" && d.Type != "p":
		return []fieldError{{key: "type", msg: fmt.Sprintf(`invalid device type %q: expected "c", "b", "u" or "p"`, d.Type)}}
	}
	return nil
}

// validateConfig checks a merged configuration: unique names per section and volume, and
// binds naming volumes that exist.
func validateConfig(c *Config) ErrorList {
	var errs ErrorList
	for _, sec := range []struct {
		name   string
		images []Image
	}{
		{SectionOnboot, c.Onboot},
		{SectionOnshutdown, c.Onshutdown},
		{SectionServices, c.Services},
	} {
		first := map[string]Pos{}
		for i, img := range sec.images {
			if img.Name == "" {
				continue // reported while decoding
			}
			if p, dup := first[img.Name]; dup {
				errs = append(errs, &Error{
					Pos:   img.Pos,
					Field: fmt.Sprintf("%s[%d] %q", sec.name, i, img.Name),
					Err:   fmt.Errorf("duplicate name %q in %s (first used at %s)", img.Name, sec.name, p),
				})
				continue
			}
			first[img.Name] = img.Pos
			errs = append(errs, checkVolumeBinds(c, sec.name, i, &img)...)
		}
	}
	first := map[string]Pos{}
	for i, v := range c.Volumes {
		if v.Name == "" {
			continue // reported while decoding
		}
		if p, dup := first[v.Name]; dup {
			errs = append(errs, &Error{
				Pos:   v.Pos,
				Field: fmt.Sprintf("volumes[%d] %q", i, v.Name),
				Err:   fmt.Errorf("duplicate volume name %q (first used at %s)", v.Name, p),
			})
			continue
		}
		first[v.Name] = v.Pos
	}
	return errs
}

// checkVolumeBinds checks that binds whose source is not a path name a volume.
func checkVolumeBinds(c *Config, section string, i int, img *Image) ErrorList {
	var errs ErrorList
	for _, list := range []struct {
		key   string
		binds *[]string
	}{{"binds", img.Binds}, {"binds.add", img.BindsAdd}} {
		if list.binds == nil {
			continue
		}
		for j, s := range *list.binds {
			b, err := ParseBind(s)
			if err != nil || strings.HasPrefix(b.Source, "/") || c.Volume(b.Source) != nil {
				continue // syntax errors were reported while decoding
			}
			errs = append(errs, &Error{
				Pos:   img.Pos,
				Field: fmt.Sprintf("%s[%d] %q: %s[%d]", section, i, img.Name, list.key, j),
				Err:   fmt.Errorf("bind %q: no volume named %q in volumes", s, b.Source),
			})
		}
	}
	return errs
}
