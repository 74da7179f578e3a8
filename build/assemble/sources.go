package assemble

import (
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/keel-os/keel/rootfs/tree"
)

// Source is an image the machine was made from: what an SBOM lists.
type Source struct {
	Ref   string     // as the YAML names it
	Image v1.Image   // resolved for the target arch
	Tree  *tree.Tree // its unpacked files; shared, do not modify
}

// sources lists the resolved images by reference, each with its unpacked tree.
func (a *assembler) sources() ([]Source, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Source, 0, len(a.images))
	for ref, img := range a.images {
		d, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		t, ok := a.trees[d]
		if !ok {
			return nil, fmt.Errorf("image %q: not unpacked", ref)
		}
		out = append(out, Source{Ref: ref, Image: img, Tree: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}
