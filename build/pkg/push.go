package pkg

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keel-os/keel/rootfs/image"
)

// Push uploads img to the registry as ref, with credentials from the Docker config
// (~/.docker/config.json and credential helpers). Plain HTTP is used only for registries on
// localhost or a loopback address, and with insecure for ref's registry; requests
// go-containerregistry would send to private-range addresses over HTTP go over HTTPS, as
// pulls' do (image.PlainHTTPAllowed).
func Push(ctx context.Context, ref string, img v1.Image, insecure bool) error {
	r, opts, err := pushTarget(ctx, ref, insecure, remote.DefaultTransport)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// pushTarget parses ref (plain HTTP allowed to its registry when insecure) and gives the
// remote options of a push: ctx, the Docker config's credentials and base as the transport,
// wrapped so that plain HTTP goes only where a pull's may.
func pushTarget(ctx context.Context, ref string, insecure bool, base http.RoundTripper) (name.Reference, []remote.Option, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("push %s: %w", ref, err)
	}
	var plain []string
	if insecure {
		plain = []string{r.Context().RegistryStr()}
	}
	return r, []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(image.HTTPSOnly(base, plain)),
	}, nil
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
	r, opts, err := pushTarget(ctx, ref, insecure, remote.DefaultTransport)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}
