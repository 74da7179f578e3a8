package ocispec

import (
	"fmt"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
)

// namespaces lists the namespaces the container does not share with the host, in
// LinuxKit's order: net, ipc, uts, pid, user, then mount and cgroup, which are always new.
func (c *converter) namespaces() ([]specs.LinuxNamespace, error) {
	y, l := c.yaml, c.label
	var out []specs.LinuxNamespace
	for _, ns := range []struct {
		typ         specs.LinuxNamespaceType
		key         string
		yaml, label *string
		def         string
	}{
		{specs.NetworkNamespace, "net", y.Net, l.Net, spec.NSHost},
		{specs.IPCNamespace, "ipc", y.Ipc, l.Ipc, spec.NSHost},
		{specs.UTSNamespace, "uts", y.Uts, l.Uts, spec.NSHost},
		{specs.PIDNamespace, "pid", y.Pid, l.Pid, spec.NSNew},
		{specs.UserNamespace, "userns", y.Userns, l.Userns, spec.NSHost},
	} {
		// As in LinuxKit, an empty value is unset.
		v := firstNonEmpty(deref(ns.yaml), deref(ns.label), ns.def)
		switch {
		case v == spec.NSHost || v == "root":
		case v == spec.NSNew || (v == spec.NSNone && ns.typ == specs.NetworkNamespace):
			out = append(out, specs.LinuxNamespace{Type: ns.typ})
		case path.IsAbs(v):
			out = append(out, specs.LinuxNamespace{Type: ns.typ, Path: v})
		default:
			kind := ""
			if ns.typ == specs.NetworkNamespace {
				kind = "net"
			}
			return nil, fmt.Errorf("%s: %w", ns.key, spec.CheckNamespace(kind, v))
		}
	}
	return append(out,
		specs.LinuxNamespace{Type: specs.MountNamespace},
		specs.LinuxNamespace{Type: specs.CgroupNamespace},
	), nil
}
