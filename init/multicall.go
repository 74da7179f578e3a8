package main

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/cmd/containerd/command"
	"github.com/containerd/containerd/v2/cmd/ctr/app"
	runcshim "github.com/keel-os/keel/runc-shim"
	"github.com/urfave/cli/v3"
)

// The init binary is also containerd, its runc shim and ctr, installed as hard links: one
// copy of the Go runtime and of containerd's packages instead of four. Each is chosen by the
// name the binary was run as.
var multiCall = map[string]func(){
	"containerd":              containerdMain,
	"containerd-shim-runc-v2": runcshim.Main,
	"ctr":                     ctrMain,
}

func containerdMain() {
	runcshim.DropShimPlugins()
	if err := command.App().Run(context.Background(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "containerd:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func ctrMain() {
	if err := ctrApp().Run(context.Background(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "ctr:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ctrApp is containerd's ctr with Keel's containerd socket as its default address
// (CONTAINERD_ADDRESS and --address still choose another).
func ctrApp() *cli.Command {
	a := app.New()
	for _, f := range a.Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "address" {
			sf.Value = containerdSocket
		}
	}
	return a
}
