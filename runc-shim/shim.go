// Package runcshim is the containerd runc shim (v2) that Keel ships, built from containerd's
// own packages at the version go.mod pins. Main runs it; Keel's init binary calls Main when it
// is invoked as containerd-shim-runc-v2, so init, containerd and the shim share one binary.
package runcshim

import (
	"context"

	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task/plugin"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
)

// RuntimeName is the containerd runtime this shim implements.
const RuntimeName = "io.containerd.runc.v2"

// Main runs the shim. It does not return.
func Main() {
	// The shim initialises every registered plugin. In a binary that also holds the
	// containerd daemon, the daemon's plugins are registered too: keep only the shim's own
	// (its TTRPC services; the shim registers its internal and event plugins itself).
	KeepOnly(plugins.TTRPCPlugin)
	WrapTaskService()
	shim.RunShim(context.Background(), manager.NewShimManager(RuntimeName))
}

// KeepOnly drops every plugin registration whose type is not one of types.
func KeepOnly(types ...plugin.Type) {
	filter(func(r *plugin.Registration) bool {
		for _, t := range types {
			if r.Type == t {
				return true
			}
		}
		return false
	})
}

// DropShimPlugins drops the shim's own task service, registered in any binary that links
// this package: the containerd daemon in the same binary cannot load it (it needs the
// shim's event publisher) and would list it as a failed plugin.
func DropShimPlugins() {
	filter(func(r *plugin.Registration) bool { return !(r.Type == plugins.TTRPCPlugin && r.ID == "task") })
}

// filter keeps the plugin registrations for which keep is true.
func filter(keep func(*plugin.Registration) bool) {
	all := registry.Graph(func(*plugin.Registration) bool { return false })
	registry.Reset()
	for i := range all {
		if r := all[i]; keep(&r) {
			registry.Register(&r)
		}
	}
}
