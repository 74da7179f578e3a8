package ocispec

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"text/tabwriter"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
)

// Source says where a setting in effect came from.
type Source string

// Sources of a setting.
const (
	FromYAML    Source = "yaml"
	FromLabel   Source = "label"
	FromDefault Source = "default"
)

// Aspects of a container's privileges, the columns of WriteReports.
const (
	AspectCapabilities = "capabilities"
	AspectNamespace    = "host namespace"
	AspectDevice       = "device"
	AspectHostPath     = "host path"
	AspectConfinement  = "confinement"
)

// Privilege is one privilege over the host or one part of a container's confinement.
type Privilege struct {
	Aspect string // one of the Aspect constants
	// Value names the privilege: "CAP_SYS_ADMIN", "pid", "/dev/null", "all c",
	// "/var:/var:ro", "runtime mkdir /var/lib/x", "seccomp=unconfined".
	Value  string
	Source Source
	// Host is true for a privilege over the host, or a confinement turned off, which
	// strict mode refuses when only the label grants it.
	Host bool
}

// Report is a container's privileges in effect.
type Report struct {
	Kind       Kind
	Name       string // the container's name in the YAML
	Image      string // the image reference
	Privileges []Privilege
}

// LabelGranted are the host privileges that come from the image's label alone.
func (r Report) LabelGranted() []Privilege {
	var out []Privilege
	for _, p := range r.Privileges {
		if p.Host && p.Source == FromLabel {
			out = append(out, p)
		}
	}
	return out
}

// strictError names the host privileges only the label grants, or is nil.
func (r Report) strictError() error {
	granted := r.LabelGranted()
	if len(granted) == 0 {
		return nil
	}
	names := make([]string, len(granted))
	for i, p := range granted {
		names[i] = p.Aspect + " " + p.Value
	}
	return fmt.Errorf("strict: image %q label grants %s; set them in the YAML to allow them", r.Image, strings.Join(names, ", "))
}

func (c *converter) grant(aspect, value string, src Source, host bool) {
	c.privs = append(c.privs, Privilege{Aspect: aspect, Value: value, Source: src, Host: host})
}

// aspects are the Aspect constants in the order reports list them.
var aspects = []string{AspectCapabilities, AspectNamespace, AspectDevice, AspectHostPath, AspectConfinement}

// sortPrivileges orders privs by aspect, keeping the order within one.
func sortPrivileges(privs []Privilege) {
	slices.SortStableFunc(privs, func(a, b Privilege) int {
		return slices.Index(aspects, a.Aspect) - slices.Index(aspects, b.Aspect)
	})
}

// WriteReports writes one line per container: its capabilities, host namespaces,
// devices, host paths and confinement, each value followed by "(label)" or "(yaml)"
// unless it is the built-in default.
func WriteReports(w io.Writer, reports []Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tCAPABILITIES\tHOST NS\tDEVICES\tHOST PATHS\tCONFINEMENT")
	for _, r := range reports {
		name := string(r.Kind) + "/" + r.Name
		if r.Kind == "" {
			name = r.Name
		}
		cols := []string{name}
		for _, a := range aspects {
			cols = append(cols, column(r.Privileges, a))
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write privileges: %w", err)
	}
	return nil
}

// column joins the values of one aspect, grouped by source: "sys_admin,net_admin(label)".
func column(privs []Privilege, aspect string) string {
	var parts []string
	for _, src := range []Source{FromDefault, FromYAML, FromLabel} {
		var vals []string
		for _, p := range privs {
			if p.Aspect != aspect || p.Source != src {
				continue
			}
			v := p.Value
			if aspect == AspectCapabilities {
				v = strings.ToLower(strings.TrimPrefix(v, "CAP_"))
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			continue
		}
		s := strings.Join(vals, ",")
		if src != FromDefault {
			s += "(" + string(src) + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// capabilityPrivileges records the capabilities in effect (the bounding set) and returns
// the source of CAP_SYS_ADMIN, which decides the privileged defaults (or FromDefault).
func (c *converter) capabilityPrivileges(bounding []string) (Source, error) {
	y := c.yaml
	fromYAML, err := expandCapabilities(append(append(append([]string{}, deref(y.Capabilities)...), deref(y.CapabilitiesAdd)...), deref(y.Ambient)...))
	if err != nil {
		return "", err
	}
	adminSrc := FromDefault
	if len(bounding) == len(spec.AllCapabilities()) {
		src := FromYAML
		for _, cp := range bounding {
			if !slices.Contains(fromYAML, cp) {
				src = FromLabel
			}
		}
		c.grant(AspectCapabilities, "all", src, true)
		return src, nil
	}
	for _, cp := range bounding {
		src := FromLabel
		if slices.Contains(fromYAML, cp) {
			src = FromYAML
		}
		if cp == "CAP_SYS_ADMIN" {
			adminSrc = src
		}
		c.grant(AspectCapabilities, cp, src, true)
	}
	return adminSrc, nil
}

// confinementPrivileges records the masked and read-only paths, seccomp and
// noNewPrivileges in effect; each is a host privilege when it is turned off or looser
// than the default.
func (c *converter) confinementPrivileges(cf *confinement) {
	paths := func(name string, got, def []string, src Source) {
		missing := 0
		for _, p := range def {
			if !slices.Contains(got, p) {
				missing++
			}
		}
		switch {
		case len(got) == 0:
			c.grant(AspectConfinement, name+"=none", src, true)
		case missing > 0:
			c.grant(AspectConfinement, fmt.Sprintf("%s=%d(%d defaults left out)", name, len(got), missing), src, true)
		default:
			c.grant(AspectConfinement, name, src, false)
		}
	}
	paths("masked", cf.masked, cf.defaultMasked, cf.maskedSrc)
	paths("readonly", cf.readonly, cf.defaultReadonly, cf.readonlySrc)
	c.grant(AspectConfinement, "seccomp="+cf.seccomp, cf.seccompSrc, cf.seccomp != "default")
	c.grant(AspectConfinement, fmt.Sprintf("nnp=%t", cf.noNewPrivileges), cf.nnpSrc, !cf.noNewPrivileges)
}

// sysPrivilege records a read-write sysfs at /sys, which only the YAML's or label's
// mounts can give a container whose confinement (sysReadonly) wants it read-only; mounts
// are the mounts in effect.
func (c *converter) sysPrivilege(mounts []specs.Mount, sysReadonly bool) {
	i := slices.IndexFunc(mounts, func(m specs.Mount) bool { return m.Destination == "/sys" })
	if !sysReadonly || i < 0 || mounts[i].Type != "sysfs" || slices.Contains(mounts[i].Options, "ro") {
		return
	}
	src := FromLabel
	if slices.ContainsFunc(deref(c.yaml.Mounts), func(m specs.Mount) bool {
		n, err := spec.NormalizeMount(m)
		return err == nil && n.Destination == "/sys"
	}) {
		src = FromYAML
	}
	c.grant(AspectConfinement, "sys=rw", src, true)
}

// namespacePrivileges records the host namespaces the container shares. A label that
// sets the default value grants nothing. The host's user namespace is left out: sharing
// it is what every container without user namespaces does.
func (c *converter) namespacePrivileges() {
	y, l := c.yaml, c.label
	for _, ns := range []struct {
		key         string
		yaml, label *string
		def         string
	}{
		{"net", y.Net, l.Net, spec.NSHost},
		{"ipc", y.Ipc, l.Ipc, spec.NSHost},
		{"uts", y.Uts, l.Uts, spec.NSHost},
		{"pid", y.Pid, l.Pid, spec.NSNew},
	} {
		yv, lv := deref(ns.yaml), deref(ns.label)
		v := firstNonEmpty(yv, lv, ns.def)
		if v != spec.NSHost && v != "root" {
			continue
		}
		src := FromDefault
		switch {
		case yv != "":
			src = FromYAML
		case lv != "" && lv != ns.def:
			src = FromLabel
		}
		c.grant(AspectNamespace, ns.key, src, true)
	}
}

// mountPrivileges records the bind mounts of host paths among mounts, the mounts in
// effect; a bind is the YAML's when a YAML binds or mounts entry has its destination.
func (c *converter) mountPrivileges(mounts []specs.Mount) {
	y := c.yaml
	yamlDst := map[string]bool{}
	for _, s := range append(slices.Clone(deref(y.Binds)), deref(y.BindsAdd)...) {
		if b, err := spec.ParseBind(s); err == nil {
			yamlDst[path.Clean(b.Destination)] = true
		}
	}
	for _, m := range deref(y.Mounts) {
		yamlDst[path.Clean(m.Destination)] = true
	}
	for _, m := range mounts {
		if m.Type != "bind" && !slices.Contains(m.Options, "bind") && !slices.Contains(m.Options, "rbind") {
			continue
		}
		if c.resolvConfBound && m.Destination == resolvConfDst {
			continue // the resolver of the network it shares, read-only: no privilege
		}
		src := FromLabel
		if yamlDst[m.Destination] {
			src = FromYAML
		}
		v := m.Source + ":" + m.Destination
		if slices.Contains(m.Options, "ro") {
			v += ":ro"
		}
		c.grant(AspectHostPath, v, src, true)
	}
}

// devicePrivileges records the devices the container may use: device nodes and classes,
// and the device cgroup rules of resources that allow access.
func (c *converter) devicePrivileges() {
	y, l := c.yaml, c.label
	src := FromLabel
	if y.Devices != nil {
		src = FromYAML
	}
	for _, d := range pick(y.Devices, l.Devices, nil) {
		v := d.Path
		if d.Path == "all" {
			v = "all " + d.Type
		}
		c.grant(AspectDevice, v, src, true)
	}
	src = FromLabel
	if y.Resources != nil {
		src = FromYAML
	}
	if r := pickPtr(y.Resources, l.Resources); r != nil {
		for _, d := range r.Devices {
			if !d.Allow {
				continue
			}
			num := func(p *int64) string {
				if p == nil {
					return "*"
				}
				return fmt.Sprint(*p)
			}
			c.grant(AspectDevice, fmt.Sprintf("cgroup %s %s:%s %s", firstNonEmpty(d.Type, "a"), num(d.Major), num(d.Minor), d.Access), src, true)
		}
	}
}

// runtimePrivileges records what PID 1 does in the host's mount namespace for the
// container: runtime mounts and mkdir, run as root.
func (c *converter) runtimePrivileges(y, l *spec.Runtime) {
	y, l = orEmpty(y), orEmpty(l)
	msrc := FromLabel
	if y.Mounts != nil {
		msrc = FromYAML
	}
	for _, m := range pick(y.Mounts, l.Mounts, nil) {
		c.grant(AspectHostPath, fmt.Sprintf("runtime mount %s:%s", m.Source, m.Destination), msrc, true)
	}
	dsrc := FromLabel
	if y.Mkdir != nil {
		dsrc = FromYAML
	}
	for _, d := range pick(y.Mkdir, l.Mkdir, nil) {
		c.grant(AspectHostPath, "runtime mkdir "+d, dsrc, true)
	}
}

func orEmpty(r *spec.Runtime) *spec.Runtime {
	if r == nil {
		return &spec.Runtime{}
	}
	return r
}
