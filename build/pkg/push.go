package pkg

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Push uploads img to the registry as ref, with credentials from the Docker config
// (~/.docker/config.json and credential helpers). Registries on localhost, 127.0.0.0/8,
// ::1 and private addresses are spoken to over plain HTTP; insecure allows plain HTTP
// (and unverified TLS fallback) for any other registry.
func Push(ctx context.Context, ref string, img v1.Image, insecure bool) error {
	r, opts, err := pushTarget(ctx, ref, insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// pushTarget parses ref (plain HTTP allowed when insecure) and gives the remote options of a
// push: ctx and the Docker config's credentials.
func pushTarget(ctx context.Context, ref string, insecure bool) (name.Reference, []remote.Option, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("push %s: %w", ref, err)
	}
	return r, []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, nil
}

// Built is a package's image for one arch.
type Built struct {
	Arch  string
	Image v1.Image
}

// PushAll pushes the images of one package to ref: a single image as it is, several as one
// multi-arch index whose entries carry each image's platform.
func PushAll(ctx context.Context, ref string, built []Built, insecure bool) error {
	if len(built) == 1 {
		return Push(ctx, ref, built[0].Image, insecure)
	}
	var adds []mutate.IndexAddendum
	for _, b := range built {
		cf, err := b.Image.ConfigFile()
		if err != nil {
			return fmt.Errorf("push %s: %s image: %w", ref, b.Arch, err)
		}
		p := cf.Platform()
		if p == nil {
			p = &v1.Platform{OS: "linux", Architecture: b.Arch}
		}
		adds = append(adds, mutate.IndexAddendum{Add: b.Image, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	r, opts, err := pushTarget(ctx, ref, insecure)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}
