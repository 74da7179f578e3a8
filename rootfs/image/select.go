package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobSource opens blobs by digest, unverified: see openVerified and readBlob.
type blobSource interface {
	open(h v1.Hash) (io.ReadCloser, error)
	// where names the file holding h, for errors.
	where(h v1.Hash) string
}

// kind classifies a manifest by its descriptor's media type or, failing that, its contents.
func isIndex(mt types.MediaType, raw []byte) bool {
	if mt != "" {
		return mt.IsIndex()
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return false
	}
	if probe.MediaType != "" {
		return probe.MediaType.IsIndex()
	}
	return probe.Manifests != nil
}

// fetchFunc returns the raw manifest a descriptor points to.
type fetchFunc func(v1.Descriptor) ([]byte, error)

// pickManifest follows desc (whose manifest is raw) down indexes to the image manifest for
// linux/arch, returning its descriptor and contents.
func pickManifest(desc v1.Descriptor, raw []byte, arch string, fetch fetchFunc) (v1.Descriptor, []byte, error) {
	for depth := 0; isIndex(desc.MediaType, raw); depth++ {
		if depth == 4 {
			return v1.Descriptor{}, nil, fmt.Errorf("indexes nested too deeply")
		}
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("parse index %s: %w", desc.Digest, err)
		}
		child, err := pickPlatform(im.Manifests, arch)
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		if raw, err = fetch(child); err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("manifest %s: %w", child.Digest, err)
		}
		desc = child
	}
	if desc.MediaType == "" {
		var probe struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		_ = json.Unmarshal(raw, &probe)
		desc.MediaType = probe.MediaType
		if desc.MediaType == "" {
			desc.MediaType = types.OCIManifestSchema1
		}
	}
	if !desc.MediaType.IsImage() {
		return v1.Descriptor{}, nil, fmt.Errorf("manifest %s has unsupported media type %q", desc.Digest, desc.MediaType)
	}
	return desc, raw, nil
}

// pickPlatform chooses the manifest for linux/arch among ms. A list whose only entry has no
// platform yields that entry (its config is checked later).
func pickPlatform(ms []v1.Descriptor, arch string) (v1.Descriptor, error) {
	var best *v1.Descriptor
	var have []string
	for i := range ms {
		d := &ms[i]
		p := d.Platform
		if p == nil {
			continue
		}
		have = append(have, platformString(p))
		if (p.OS != "linux" && p.OS != "") || NormalizeArch(p.Architecture) != arch {
			continue
		}
		// Prefer arm64/v8 or no variant over anything more exotic.
		if best == nil || (best.Platform.Variant != "" && best.Platform.Variant != "v8") {
			best = d
		}
	}
	if best != nil {
		return *best, nil
	}
	if len(ms) == 1 && ms[0].Platform == nil {
		return ms[0], nil
	}
	if len(have) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%d manifests without platforms, none can be chosen for linux/%s", len(ms), arch)
	}
	sort.Strings(have)
	return v1.Descriptor{}, fmt.Errorf("no linux/%s image (platforms: %s)", arch, strings.Join(have, ", "))
}

func platformString(p *v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// checkArch returns an error if img's config names an OS or architecture other than
// linux/arch. A config naming none is accepted.
func checkArch(img v1.Image, arch string) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if (cf.OS != "" && cf.OS != "linux") || (cf.Architecture != "" && NormalizeArch(cf.Architecture) != arch) {
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		return fmt.Errorf("image is for %s, not linux/%s", platformString(&p), arch)
	}
	return nil
}

// loadImage returns the image whose manifest raw (described by desc) and blobs are in src,
// after checking its architecture.
func loadImage(src blobSource, desc v1.Descriptor, raw []byte, arch string) (v1.Image, error) {
	img, err := partial.CompressedToImage(&blobImage{src: src, desc: desc, raw: raw})
	if err != nil {
		return nil, err
	}
	if err := checkArch(img, arch); err != nil {
		return nil, err
	}
	return checkedImage{img}, nil
}

// resolveIn resolves the image for arch starting from desc in a blob source holding all of
// it (a layout, an archive, the registry cache).
func resolveIn(src blobSource, desc v1.Descriptor, arch string) (v1.Image, error) {
	raw, err := readBlob(src, desc)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	d, raw, err := pickManifest(desc, raw, arch, func(d v1.Descriptor) ([]byte, error) {
		return readBlob(src, d)
	})
	if err != nil {
		return nil, err
	}
	return loadImage(src, d, raw, arch)
}

// blobImage is an image read from a blobSource, for partial.CompressedToImage.
type blobImage struct {
	src  blobSource
	desc v1.Descriptor
	raw  []byte
}

var _ partial.CompressedImageCore = (*blobImage)(nil)

func (i *blobImage) MediaType() (types.MediaType, error) { return i.desc.MediaType, nil }
func (i *blobImage) RawManifest() ([]byte, error)        { return i.raw, nil }

func (i *blobImage) RawConfigFile() ([]byte, error) {
	m, err := partial.Manifest(i)
	if err != nil {
		return nil, err
	}
	return readBlob(i.src, m.Config)
}

func (i *blobImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := partial.Manifest(i)
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return &blobLayer{src: i.src, desc: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &blobLayer{src: i.src, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s not in image", h)
}

type blobLayer struct {
	src  blobSource
	desc v1.Descriptor
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) Descriptor() (*v1.Descriptor, error) { d := l.desc; return &d, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return openVerified(l.src, l.desc) }
