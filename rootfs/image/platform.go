package image

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PutPlatform stores img under ref beside the images of other platforms stored there:
// ref then names an index with one image per platform, img replacing any image of its own
// platform. Building a package for amd64, arm64 and s390x thus leaves one multi-arch tag.
func (s *Store) PutPlatform(ref string, img v1.Image) error {
	n, err := Normalize(ref)
	if err != nil {
		return fmt.Errorf("store %s: %w", ref, err)
	}
	plat, err := imagePlatform(img)
	if err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	p := layout.Path(s.dir)
	if err := p.WriteImage(img); err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	unlock, err := s.lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	adds, err := s.otherPlatforms(p, n, plat)
	if err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := p.WriteIndex(idx); err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	opt := layout.WithAnnotations(map[string]string{RefNameAnnotation: n})
	if err := p.ReplaceIndex(idx, matchRef(n), opt); err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	return nil
}

// otherPlatforms returns the images stored under the normalized ref n whose platform is not
// plat, as index addenda; none if n is not stored. The caller holds the lock.
func (s *Store) otherPlatforms(p layout.Path, n string, plat v1.Platform) ([]mutate.IndexAddendum, error) {
	im, err := s.indexLocked()
	if err != nil {
		return nil, err
	}
	match := matchRef(n)
	var adds []mutate.IndexAddendum
	keep := func(img v1.Image, have *v1.Platform) error {
		if have == nil {
			got, err := imagePlatform(img)
			if err != nil {
				return err
			}
			have = &got
		}
		if samePlatform(*have, plat) {
			return nil
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: have}})
		return nil
	}
	for _, d := range im.Manifests {
		if !match(d) {
			continue
		}
		if !d.MediaType.IsIndex() {
			img, err := p.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			if err := keep(img, d.Platform); err != nil {
				return nil, err
			}
			continue
		}
		root, err := p.ImageIndex()
		if err != nil {
			return nil, err
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		children, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, c := range children.Manifests {
			if !c.MediaType.IsImage() {
				continue // nested indexes are not written by PutPlatform
			}
			img, err := idx.Image(c.Digest)
			if err != nil {
				return nil, err
			}
			if err := keep(img, c.Platform); err != nil {
				return nil, err
			}
		}
	}
	return adds, nil
}

func imagePlatform(img v1.Image) (v1.Platform, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Platform{}, fmt.Errorf("image config: %w", err)
	}
	if cf.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("image config names no architecture")
	}
	os := cf.OS
	if os == "" {
		os = "linux"
	}
	return v1.Platform{OS: os, Architecture: cf.Architecture, Variant: cf.Variant}, nil
}

func samePlatform(a, b v1.Platform) bool {
	return a.OS == b.OS && NormalizeArch(a.Architecture) == NormalizeArch(b.Architecture) && a.Variant == b.Variant
}
