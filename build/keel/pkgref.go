package main

import (
	"fmt"
	"io"

	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/build/substitute"
	"github.com/keel-os/keel/rootfs/image"
)

// resolvePkgRefs replaces the "@pkg:DIR" image references of cfg by the images `keel pkg
// build DIR` put in the local store for arch (pkg.ResolveRefs); keel does not build them
// itself.
func resolvePkgRefs(cfg *spec.Config, store *image.Store, arch string) error {
	return pkg.ResolveRefs(cfg, arch, func(ref, arch string) error {
		_, err := store.Image(ref, arch)
		return err
	})
}

// substituteRefs replaces LinuxKit's system images in cfg by Keel's packages (build/substitute)
// and says so on w, one line each, prefixed by the command's name.
func substituteRefs(cfg *spec.Config, w io.Writer, cmd string) {
	for _, s := range substitute.Apply(cfg, pkg.DefaultTag) {
		fmt.Fprintf(w, "keel %s: substitute %s\n", cmd, s)
	}
}
