package runcshim

import (
	"testing"

	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
)

func TestKeepOnlyLeavesTheShimsPluginsWhenDaemonPluginsAreRegisteredToo(t *testing.T) {
	registry.Register(&plugin.Registration{Type: plugins.SnapshotPlugin, ID: "daemon-snapshotter", InitFn: func(*plugin.InitContext) (any, error) { return nil, nil }})
	KeepOnly(plugins.TTRPCPlugin)
	got := registry.Graph(func(*plugin.Registration) bool { return false })
	if len(got) == 0 {
		t.Fatal("the shim's task plugin was dropped")
	}
	for _, r := range got {
		if r.Type != plugins.TTRPCPlugin {
			t.Errorf("plugin %s/%s kept", r.Type, r.ID)
		}
	}
}

func TestDropShimPluginsLeavesTheDaemonsPlugins(t *testing.T) {
	registry.Register(&plugin.Registration{Type: plugins.SnapshotPlugin, ID: "daemon-snapshotter", InitFn: func(*plugin.InitContext) (any, error) { return nil, nil }})
	DropShimPlugins()
	var kept bool
	for _, r := range registry.Graph(func(*plugin.Registration) bool { return false }) {
		if r.Type == plugins.TTRPCPlugin && r.ID == "task" {
			t.Errorf("the shim's task plugin was kept")
		}
		kept = kept || r.ID == "daemon-snapshotter"
	}
	if !kept {
		t.Error("a daemon plugin was dropped")
	}
}
