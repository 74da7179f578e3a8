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
var containerdPaths = []string{containerdRoot, containerdRun, "/etc/containerd", "/var/log"}

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

// touchesContainerd says how bundle b could touch containerd's paths, or "". The host paths
// its runtime.json acts on are the ones the runtime.json plans apply.
func touchesContainerd(b *bundle.Bundle) string {
	verbs := map[string]string{"mount": "mounts", "mkdir": "creates", "bindns": "binds a namespace at"}
	for _, a := range append(preStartPlan(b.Runtime, b.Rootfs()), postCreatePlan(b.Runtime)...) {
		if verb, ok := verbs[a.op]; ok && overlapping(a.path) != "" {
			return verb + " " + a.path
		}
	}
	if b.Spec == nil {
		return ""
	}
	for _, m := range b.Spec.Mounts {
		if bundle.IsBind(m) && overlapping(m.Source) != "" {
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
