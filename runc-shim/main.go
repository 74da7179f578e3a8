// Command containerd-shim-runc-v2 is the containerd runc shim (v2) that Keel ships: the shim
// containerd starts for every service task, built from containerd's own packages at the version
// go.mod pins.
package main

import (
	"context"

	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task/plugin"
	"github.com/containerd/containerd/v2/pkg/shim"
)

func main() {
	shim.RunShim(context.Background(), manager.NewShimManager("io.containerd.runc.v2"))
}
