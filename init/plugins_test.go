package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
	runcshim "github.com/keel-os/keel/runc-shim"
)

// registered lists the containerd plugins this binary registers, as TYPE.ID.
func registered() map[string]bool {
	got := map[string]bool{}
	for _, r := range registry.Graph(func(*plugin.Registration) bool { return false }) {
		got[r.URI()] = true
	}
	return got
}

func TestContainerdPluginsAreTheOnesKeelNeeds(t *testing.T) {
	runcshim.DropShimPlugins() // as containerdMain does
	got := registered()
	// What PID 1's services and a user's ctr (run, pull, images, snapshots, tasks) need.
	for _, want := range []string{
		"io.containerd.content.v1.content",
		"io.containerd.metadata.v1.bolt",
		"io.containerd.snapshotter.v1.overlayfs",
		"io.containerd.snapshotter.v1.native",
		"io.containerd.differ.v1.walking",
		"io.containerd.runtime.v2.task",
		"io.containerd.shim.v1.manager",
		"io.containerd.gc.v1.scheduler",
		"io.containerd.lease.v1.manager",
		"io.containerd.event.v1.exchange",
		"io.containerd.mount-manager.v1.bolt",
		"io.containerd.transfer.v1.local",
		"io.containerd.streaming.v1.manager",
		"io.containerd.grpc.v1.containers",
		"io.containerd.grpc.v1.content",
		"io.containerd.grpc.v1.diff",
		"io.containerd.grpc.v1.events",
		"io.containerd.grpc.v1.images",
		"io.containerd.grpc.v1.introspection",
		"io.containerd.grpc.v1.leases",
		"io.containerd.grpc.v1.namespaces",
		"io.containerd.grpc.v1.snapshots",
		"io.containerd.grpc.v1.streaming",
		"io.containerd.grpc.v1.tasks",
		"io.containerd.grpc.v1.transfer",
		"io.containerd.grpc.v1.version",
		"io.containerd.server.v1.grpc",
		"io.containerd.server.v1.ttrpc",
	} {
		if !got[want] {
			t.Errorf("plugin %s is not registered", want)
		}
	}
	// What Keel leaves out to keep the initramfs small.
	for _, prefix := range []string{
		"io.containerd.grpc.v1.cri", "io.containerd.cri.", "io.containerd.nri.",
		"io.containerd.snapshotter.v1.erofs", "io.containerd.snapshotter.v1.blockfile",
		"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.differ.v1.erofs",
		"io.containerd.monitor.container.v1.restart", "io.containerd.server.v1.debug",
		"io.containerd.server.v1.metrics", "io.containerd.monitor.task.v1.cgroups",
		"io.containerd.tracing.", "io.containerd.sandbox.",
		"io.containerd.ttrpc.v1.task", // the runc shim's task service, loaded only in the shim
	} {
		for uri := range got {
			if strings.HasPrefix(uri, prefix) {
				t.Errorf("plugin %s is registered; Keel leaves it out", uri)
			}
		}
	}
	if t.Failed() {
		var all []string
		for uri := range got {
			all = append(all, uri)
		}
		sort.Strings(all)
		t.Logf("registered: %s", strings.Join(all, " "))
	}
}
