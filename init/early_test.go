package main

import (
	"strings"
	"testing"

	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// onbootBundle is an onboot bundle with its own mount namespace and the given mounts.
func onbootBundle(name string, mounts []specs.Mount, rt bundle.Runtime) *bundle.Bundle {
	return &bundle.Bundle{Name: name, Dir: "/containers/onboot/" + name, Runtime: rt, Spec: &specs.Spec{
		Mounts: mounts,
		Linux:  &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}},
	}}
}

func TestContainerdWaitsOnlyForOnbootContainersThatCouldChangeWhatItFinds(t *testing.T) {
	proc := specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}
	bind := func(src string) specs.Mount {
		return specs.Mount{Destination: "/x", Type: "bind", Source: src, Options: []string{"rbind", "rw"}}
	}
	for _, tc := range []struct {
		name string
		b    *bundle.Bundle
		want string // "" when containerd may start at once; else a part of the reason
	}{
		{"sysctl, binding /etc/sysctl.d", onbootBundle("000-sysctl", []specs.Mount{proc, bind("/etc/sysctl.d")}, bundle.Runtime{}), ""},
		{"a disk mounted beside containerd's root", onbootBundle("001-disk", []specs.Mount{bind("/var/lib/data")},
			bundle.Runtime{Mounts: []specs.Mount{{Type: "ext4", Source: "/dev/vda", Destination: "/var/lib/data"}}}), ""},
		{"a network namespace bound under /run", onbootBundle("002-net", nil, bundle.Runtime{BindNS: bundle.Namespaces{Net: "/run/netns/onboot"}}), ""},
		{"the devices bound in", onbootBundle("003-dev", []specs.Mount{bind("/dev")}, bundle.Runtime{}), ""},
		{"a disk mounted in the container's own rootfs (a relative destination)", onbootBundle("003-rel", nil,
			bundle.Runtime{Mounts: []specs.Mount{{Type: "tmpfs", Source: "tmpfs", Destination: "var/log"}}, Mkdir: []string{"var/lib/containerd"}}), ""},
		{"a cgroup named like containerd's log directory", onbootBundle("003-cg", nil, bundle.Runtime{Cgroups: []string{"var/log"}}), ""},
		{"a disk mounted on containerd's root", onbootBundle("004-root", nil,
			bundle.Runtime{Mounts: []specs.Mount{{Type: "ext4", Source: "/dev/vdb", Destination: "/var/lib/containerd"}}}), "004-root mounts /var/lib/containerd"},
		{"a disk mounted on /var/log", onbootBundle("005-log", nil,
			bundle.Runtime{Mounts: []specs.Mount{{Type: "ext4", Source: "/dev/vda", Destination: "/var/log/"}}}), "mounts /var/log"},
		{"a disk mounted on /var, above containerd's root", onbootBundle("006-var", nil,
			bundle.Runtime{Mounts: []specs.Mount{{Type: "ext4", Source: "/dev/vda", Destination: "/var"}}}), "mounts /var"},
		{"a directory made in containerd's root", onbootBundle("007-mkdir", nil, bundle.Runtime{Mkdir: []string{"/var/lib/containerd/x"}}), "creates /var/lib/containerd/x"},
		{"/var bound in (a format-and-mount container)", onbootBundle("008-mount", []specs.Mount{bind("/var")}, bundle.Runtime{}), "binds /var"},
		{"containerd's configuration directory bound in", onbootBundle("009-conf", []specs.Mount{{Destination: "/c", Source: "/etc/containerd", Options: []string{"bind"}}}, bundle.Runtime{}), "binds /etc/containerd"},
		{"the host's root bound in", onbootBundle("010-root", []specs.Mount{bind("/")}, bundle.Runtime{}), "binds /"},
		{"a namespace bound in containerd's state", onbootBundle("011-ns", nil, bundle.Runtime{BindNS: bundle.Namespaces{Mnt: "/system/containerd/ns"}}), "binds a namespace at /system/containerd/ns"},
		{"no mount namespace", &bundle.Bundle{Name: "012-host", Spec: &specs.Spec{Linux: &specs.Linux{}}}, "012-host shares the host's mount namespace"},
		{"the host's mount namespace joined", &bundle.Bundle{Name: "013-join", Spec: &specs.Spec{Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace, Path: "/proc/1/ns/mnt"}}}}}, "shares the host's mount namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := containerdWaitsFor([]*bundle.Bundle{tc.b})
			if tc.want == "" && got != "" {
				t.Fatalf("containerd waits: %q", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("containerd waits for %q, want a reason with %q", got, tc.want)
			}
		})
	}
}

func TestContainerdWaitsForTheFirstOnbootContainerThatTouchesItsPaths(t *testing.T) {
	sysctl := onbootBundle("000-sysctl", nil, bundle.Runtime{})
	logs := onbootBundle("001-varlog", nil, bundle.Runtime{Mounts: []specs.Mount{{Type: "ext4", Source: "/dev/vda", Destination: "/var/log"}}})
	root := onbootBundle("002-root", nil, bundle.Runtime{Mounts: []specs.Mount{{Type: "ext4", Source: "/dev/vdb", Destination: "/var/lib/containerd"}}})
	if got := containerdWaitsFor([]*bundle.Bundle{sysctl, logs, root}); got != "onboot 001-varlog mounts /var/log" {
		t.Fatalf("got %q", got)
	}
	if got := containerdWaitsFor(nil); got != "" {
		t.Fatalf("no onboot containers: containerd waits: %q", got)
	}
}
