package pkg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ConfigLabel is the image label holding the package's LinuxKit runtime config as JSON.
const ConfigLabel = "org.mobyproject.config"

// configJSON is the value of ConfigLabel: config: encoded as JSON, "{}" when absent.
func (p *Package) configJSON() (string, error) {
	cfg := p.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("%s:%d: config: %w", p.File, p.KeyPos["config"].Line, err)
	}
	return string(b), nil
}

// image assembles the OCI image: one layer made of layerTar (an uncompressed tar) and a
// config for linux/arch created at epoch, labelled with the Debian packages debs if any.
func (p *Package) image(layerTar []byte, arch string, epoch time.Time, debs map[string]*Deb) (v1.Image, error) {
	label, err := p.configJSON()
	if err != nil {
		return nil, err
	}
	labels := map[string]string{ConfigLabel: label}
	if len(debs) > 0 {
		if labels[DebsLabel], err = debsLabel(debs); err != nil {
			return nil, fmt.Errorf("image %s: %w", p.Image, err)
		}
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image %s: layer: %w", p.Image, err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "keel pkg build"},
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: append layer: %w", p.Image, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", p.Image, err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = arch
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = p.Entrypoint
	cf.Config.Cmd = p.Cmd
	cf.Config.Env = p.Env
	cf.Config.WorkingDir = p.WorkingDir
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", p.Image, err)
	}
	return img, nil
}
