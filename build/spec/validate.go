package spec

import (
	"fmt"
	"path"
	"slices"
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

func (b *Backoff) validate() []fieldError {
	initial, err1 := ParseDuration(b.Initial)
	maxDelay, err2 := ParseDuration(b.Max)
	if err1 == nil && err2 == nil && initial > maxDelay {
		return []fieldError{{key: "initial", msg: fmt.Sprintf("initial delay %s is longer than max %s", b.Initial, b.Max)}}
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

// validateConfig checks a merged configuration: unique service and volume names, binds
// naming volumes that exist, and services' after naming services, without cycles.
// Onboot and onshutdown names may repeat, as in LinuxKit: their bundle directories and
// runc ids carry their index (000-name), while a service's name is its containerd id.
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
			if p, dup := first[img.Name]; dup && sec.name == SectionServices {
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
	errs = append(errs, checkAfter(c)...)
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

// checkVolumeBinds checks that binds whose source is not a path name a volume, and do not
// ask for a readonly volume read-write.
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
			if err != nil || strings.HasPrefix(b.Source, "/") {
				continue // syntax errors were reported while decoding
			}
			field := fmt.Sprintf("%s[%d] %q: %s[%d]", section, i, img.Name, list.key, j)
			switch v := c.Volume(b.Source); {
			case v == nil:
				errs = append(errs, &Error{Pos: img.Pos, Field: field, Err: fmt.Errorf("bind %q: no volume named %q in volumes", s, b.Source)})
			case v.ReadOnly && slices.Contains(b.Options, "rw") && !slices.Contains(b.Options, "ro"):
				errs = append(errs, &Error{Pos: img.Pos, Field: field, Err: fmt.Errorf("bind %q: volume %q is readonly: bind it with \"ro\" (or no option), not \"rw\"", s, b.Source)})
			}
		}
	}
	return errs
}

// checkAfter checks the after lists of the services: every name is a service of the
// configuration, and no service waits, directly or not, for itself. Errors are at the
// after key of the service.
func checkAfter(c *Config) ErrorList {
	var errs ErrorList
	index := map[string]int{} // service name → index of its first entry
	var names []string
	for i, img := range c.Services {
		if _, dup := index[img.Name]; !dup && img.Name != "" {
			index[img.Name] = i
			names = append(names, img.Name)
		}
	}
	at := func(i int) (Pos, string) {
		img := &c.Services[i]
		p, ok := img.KeyPos["after"]
		if !ok {
			p = img.Pos
		}
		return p, fmt.Sprintf("%s[%d] %q: after", SectionServices, i, img.Name)
	}
	for i, img := range c.Services {
		for j, dep := range deref(img.After) {
			if _, ok := index[dep]; ok {
				continue
			}
			pos, field := at(i)
			msg := fmt.Sprintf("no service named %q%s", dep, suggest(dep, names))
			for _, sec := range []struct {
				name   string
				images []Image
			}{{SectionOnboot, c.Onboot}, {SectionOnshutdown, c.Onshutdown}} {
				if slices.ContainsFunc(sec.images, func(o Image) bool { return o.Name == dep }) {
					msg = fmt.Sprintf("%q is in %s, not a service: after names services (onboot containers have all finished before services start)", dep, sec.name)
				}
			}
			errs = append(errs, &Error{Pos: pos, Field: fmt.Sprintf("%s[%d]", field, j), Err: fmt.Errorf("%s", msg)})
		}
	}

	// Depth-first search over the first entry of each name; an edge to a service still
	// on the stack closes a cycle.
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(c.Services))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, dep := range deref(c.Services[i].After) {
			k, ok := index[dep]
			if !ok {
				continue // reported above
			}
			switch state[k] {
			case unvisited:
				visit(k)
			case onStack:
				start := slices.Index(stack, k)
				cycle := make([]string, 0, len(stack)-start+1)
				for _, s := range stack[start:] {
					cycle = append(cycle, c.Services[s].Name)
				}
				cycle = append(cycle, dep)
				pos, field := at(k)
				errs = append(errs, &Error{Pos: pos, Field: field, Err: fmt.Errorf("cycle %s", strings.Join(cycle, " → "))})
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for _, name := range names {
		if i := index[name]; state[i] == unvisited {
			visit(i)
		}
	}
	return errs
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
