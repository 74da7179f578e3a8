// Package image resolves image references to images for one architecture, and caches them.
//
// A Resolver looks a reference up, in order, in
//
//   - the local image store, an OCI image layout at <cache>/store into which `keel pkg build`
//     puts the images it builds (Store.Put);
//   - the registry, through go-containerregistry with credentials from the Docker config.
//     Manifests, configs and layers fetched are kept content-addressed under <cache>/blobs,
//     and the digest each tag had under <cache>/refs, so an image resolved once resolves
//     again when the registry is unreachable.
//
// A reference may also name files: "oci:PATH[:TAG]" or a directory holding an "oci-layout"
// file is an OCI image layout; "PATH.tar" (or "docker-archive:PATH", "oci-archive:PATH[:TAG]")
// is an archive written by `docker save` or an OCI layout in a tar file.
//
// Image indexes (multi-platform images) resolve to their linux image for the architecture
// asked for; an image whose config names another architecture is an error.
//
// Store references are normalized the go-containerregistry way: "keel/init:dev" is recorded
// and found as "index.docker.io/keel/init:dev" (see Normalize).
package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keel-os/keel/arch"
)

// ErrNotFound is returned (wrapped) when an image is not where it was looked for.
var ErrNotFound = errors.New("image not found")

// DefaultCacheDir returns $KEEL_CACHE, or "keel" in the user's cache directory
// (~/.cache/keel on Linux).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("KEEL_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w (set KEEL_CACHE)", err)
	}
	return filepath.Join(d, "keel"), nil
}

// Options configure a Resolver.
type Options struct {
	// CacheDir holds the local store and the registry cache; "" is DefaultCacheDir().
	CacheDir string
	// InsecureRegistries are registry hosts ("host" or "host:port") spoken to over plain
	// HTTP. Loopback addresses and localhost always are; no other host is, private-range
	// addresses included.
	InsecureRegistries []string
	// Offline makes the resolver use only the store, files and the registry cache.
	Offline bool
	// Keychain provides registry credentials; nil is authn.DefaultKeychain (the Docker
	// config).
	Keychain authn.Keychain
	// Progress, if not nil, is called as blobs are downloaded.
	Progress func(Progress)
	// Logf, if not nil, receives warnings, such as falling back to a cached digest.
	Logf func(format string, args ...any)
	// RemoteOptions are passed to go-containerregistry's remote package after Keel's own
	// (context, keychain, user agent, a transport using HTTPS for every host but those
	// above): a transport given here replaces Keel's and must enforce that itself.
	RemoteOptions []remote.Option
}

// Resolver resolves image references. It is safe for concurrent use, and several processes
// may share a cache directory.
type Resolver struct {
	opts  Options
	store *Store
	cache *blobCache
}

// NewResolver returns a Resolver using the cache directory in opts, creating it if needed.
func NewResolver(opts Options) (*Resolver, error) {
	if opts.CacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		opts.CacheDir = d
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	s, err := OpenStore(filepath.Join(opts.CacheDir, "store"))
	if err != nil {
		return nil, err
	}
	return &Resolver{opts: opts, store: s, cache: &blobCache{dir: opts.CacheDir}}, nil
}

// Store returns the local image store, <cache>/store.
func (r *Resolver) Store() *Store { return r.store }

// Resolve returns the image ref names for linux/arch (amd64, arm64, s390x, ...; "" is the
// host's architecture). See the package documentation for the places looked in.
func (r *Resolver) Resolve(ctx context.Context, ref, arch string) (v1.Image, error) {
	arch = NormalizeArch(arch)
	if src, ok, err := parseFileRef(ref); ok || err != nil {
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		img, err := src.resolve(arch)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		return img, nil
	}

	n, err := r.parse(ref)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	img, err := r.store.image(n.Name(), arch)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("image %q: local store: %w", ref, err)
	}
	img, err = r.pull(ctx, n, arch)
	if errors.Is(err, ErrCorrupt) {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	if err != nil {
		where := "registry " + n.Context().RegistryStr()
		if r.opts.Offline {
			where = "registry cache (offline)"
		}
		return nil, fmt.Errorf("image %q not found in local store or %s: %w", ref, where, err)
	}
	return img, nil
}

// parse parses a registry reference, marking it insecure if its registry is listed so.
func (r *Resolver) parse(ref string) (name.Reference, error) {
	n, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if slices.Contains(r.opts.InsecureRegistries, n.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return n, nil
}

func (r *Resolver) logf(format string, args ...any) {
	if r.opts.Logf != nil {
		r.opts.Logf(format, args...)
	}
}

// Normalize returns the canonical form of a registry reference, as recorded in the store:
// registry, repository and tag (latest if none) or digest, e.g.
// "index.docker.io/library/alpine:3.20" for "alpine:3.20".
func Normalize(ref string) (string, error) {
	n, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return n.Name(), nil
}

// NormalizeArch maps architecture names to Go's (x86_64 → amd64, aarch64 → arm64: the
// aliases of package arch); "" is the host's.
func NormalizeArch(a string) string {
	if a == "" {
		return runtime.GOARCH
	}
	return arch.Canonical(a)
}
