package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// containerdPaths are the host paths containerd reads or writes when it starts with the
// built-in configuration: its root, its state, its configuration directory and its log.
var containerdPaths = []string{containerdRoot, "/run/containerd", "/etc/containerd", "/var/log"}

// containerdWaitsFor reports why containerd must wait for the onboot containers: the first
// one that could change what containerd finds when it starts (a disk mounted on its root, its
// log directory or its configuration), or "" when none could, and containerd can start while
// the devices' drivers load and the onboot containers run. An onboot container could when its
// runtime.json mounts, creates or binds a namespace at or above one of containerdPaths (or
// below it), when config.json binds such a host path into the container (it can write there,
// or mount there through shared propagation), or when it has no mount namespace of its own.
func containerdWaitsFor(onboot []*bundle.Bundle) string {
	for _, b := range onboot {
		if why := touchesContainerd(b); why != "" {
			return fmt.Sprintf("onboot %s %s", b.Name, why)
		}
	}
	return ""
}

// touchesContainerd says how bundle b could touch containerd's paths, or "".
func touchesContainerd(b *bundle.Bundle) string {
	r := b.Runtime
	for _, m := range r.Mounts {
		if overlapping(m.Destination) != "" {
			return "mounts " + m.Destination
		}
	}
	for _, d := range r.Mkdir {
		if overlapping(d) != "" {
			return "creates " + d
		}
	}
	for _, p := range []string{r.BindNS.Cgroup, r.BindNS.Ipc, r.BindNS.Mnt, r.BindNS.Net, r.BindNS.Pid, r.BindNS.User, r.BindNS.Uts} {
		if p != "" && overlapping(p) != "" {
			return "binds a namespace at " + p
		}
	}
	if b.Spec == nil {
		return ""
	}
	for _, m := range b.Spec.Mounts {
		if isBind(m) && overlapping(m.Source) != "" {
			return "binds " + m.Source
		}
	}
	if b.Spec.Linux == nil || !slices.ContainsFunc(b.Spec.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
		return ns.Type == specs.MountNamespace && ns.Path == ""
	}) {
		return "shares the host's mount namespace"
	}
	return ""
}

// isBind reports whether m is a bind mount, which makes its source a host path.
func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// overlapping returns the first of containerdPaths that path equals, lies under or holds, or "".
func overlapping(path string) string {
	if !filepath.IsAbs(path) {
		return ""
	}
	path = filepath.Clean(path)
	for _, c := range containerdPaths {
		if path == c || within(path, c) || within(c, path) {
			return c
		}
	}
	return ""
}

// within reports whether path lies below dir.
func within(path, dir string) bool {
	return strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
