package ocispec

import (
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

// runtimeConfig is runtime.json: each field of the YAML's runtime section replaces the
// label's (bindNS per namespace), as in LinuxKit.
func runtimeConfig(y, l *spec.Runtime) bundle.Runtime {
	if y == nil {
		y = &spec.Runtime{}
	}
	if l == nil {
		l = &spec.Runtime{}
	}
	yb, lb := deref(y.BindNS), deref(l.BindNS)
	return bundle.Runtime{
		Cgroups:    nonEmpty(pick(y.Cgroups, l.Cgroups, nil)),
		Mounts:     nonEmpty(pick(y.Mounts, l.Mounts, nil)),
		Mkdir:      nonEmpty(pick(y.Mkdir, l.Mkdir, nil)),
		Interfaces: nonEmpty(pick(y.Interfaces, l.Interfaces, nil)),
		BindNS: bundle.Namespaces{
			Cgroup: pick(yb.Cgroup, lb.Cgroup, ""),
			Ipc:    pick(yb.Ipc, lb.Ipc, ""),
			Mnt:    pick(yb.Mnt, lb.Mnt, ""),
			Net:    pick(yb.Net, lb.Net, ""),
			Pid:    pick(yb.Pid, lb.Pid, ""),
			User:   pick(yb.User, lb.User, ""),
			Uts:    pick(yb.Uts, lb.Uts, ""),
		},
		Namespace: pick(y.Namespace, l.Namespace, ""),
	}
}
