package assemble

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/image"
	"github.com/keel-os/keel/rootfs/tree"
)

// ociVolume writes the volume's image into dir as an OCI image layout (oci-layout,
// index.json, blobs/sha256/...): one manifest per platform of v.Platforms, or for the
// target architecture when none is given, each annotated with the image reference.
// go-containerregistry's layout package writes to a host directory, so the layout is made
// in a temporary one and copied into the tree.
func (a *assembler) ociVolume(ctx context.Context, root *tree.Tree, dir string, v spec.Volume) error {
	tmp, err := os.MkdirTemp("", "keel-volume-")
	if err != nil {
		return fmt.Errorf("volume %q: %w", v.Name, err)
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return v.Pos.Errorf("volume %q: %v", v.Name, err)
	}
	platforms := v.Platforms
	if len(platforms) == 0 {
		platforms = []string{"linux/" + image.NormalizeArch(a.opts.Arch)}
	}
	for _, plat := range platforms {
		parts := strings.Split(plat, "/")
		if len(parts) < 2 || parts[0] != "linux" {
			return v.Pos.Errorf("volume %q: platform %q: only linux/ARCH[/VARIANT] images can be resolved", v.Name, plat)
		}
		a.logf("writing %s (%s) as an OCI layout", v.Image, plat)
		img, err := a.opts.Resolver.Resolve(ctx, v.Image, image.NormalizeArch(parts[1]))
		if err != nil {
			return v.Pos.Errorf("volume %q: image %q for %s: %v", v.Name, v.Image, plat, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return v.Pos.Errorf("volume %q: image %q: config: %v", v.Name, v.Image, err)
		}
		opts := []layout.Option{layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": v.Image,
		})}
		if pl := cf.Platform(); pl != nil {
			opts = append(opts, layout.WithPlatform(*pl))
		} else {
			opts = append(opts, layout.WithPlatform(v1.Platform{OS: parts[0], Architecture: parts[1]}))
		}
		if err := p.AppendImage(img, opts...); err != nil {
			return v.Pos.Errorf("volume %q: image %q for %s: %v", v.Name, v.Image, plat, err)
		}
	}
	err = tree.ReadHost(tmp, func(rel string, n *tree.Node) error {
		if rel == "." {
			return nil
		}
		n.ModTime = a.opts.Epoch
		if n.IsDir() {
			n.Mode = n.Type() | 0o755
		} else {
			n.Mode = n.Type() | 0o644
		}
		return root.Add(path.Join(dir, rel), n)
	})
	if err != nil {
		return v.Pos.Errorf("volume %q: copy the OCI layout: %v", v.Name, err)
	}
	return nil
}
