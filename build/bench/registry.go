package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/keel-os/keel/rootfs/image"
)

// localRegistry is an in-memory OCI registry on 127.0.0.1, so that a cold build pulls its
// images over HTTP as from a real registry, without the network.
type localRegistry struct {
	Host string // 127.0.0.1:PORT
	srv  *http.Server
	done chan error
}

// startRegistry starts a registry on a free loopback port.
func startRegistry() (*localRegistry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local registry: %w", err)
	}
	r := &localRegistry{
		Host: l.Addr().String(),
		srv: &http.Server{
			Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { r.done <- r.srv.Serve(l) }()
	return r, nil
}

// Close stops the registry.
func (r *localRegistry) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("local registry: %w", err)
	}
	if err := <-r.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("local registry: %w", err)
	}
	return nil
}

// mirror copies the image ref names for arch, found in the local store or the registry cache
// under cacheDir (never the network), into r, and returns its reference there:
// "keel/init:dev" becomes "127.0.0.1:PORT/keel/init:dev". References to files (OCI layouts,
// archives) are returned unchanged.
func (r *localRegistry) mirror(ctx context.Context, src *image.Resolver, ref, arch string) (string, error) {
	if isFileRef(ref) {
		return ref, nil
	}
	n, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	img, err := src.Resolve(ctx, ref, arch)
	if err != nil {
		return "", fmt.Errorf("mirror into the local registry: %w", err)
	}
	sep := ":"
	if _, ok := n.(name.Digest); ok {
		sep = "@"
	}
	to := r.Host + "/" + n.Context().RepositoryStr() + sep + n.Identifier()
	dst, err := name.ParseReference(to, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", to, err)
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s: %w", to, err)
	}
	return to, nil
}

// isFileRef reports whether ref names files rather than a registry image (see rootfs/image).
func isFileRef(ref string) bool {
	for _, p := range []string{"oci:", "docker-archive:", "oci-archive:", "/", "./", "../"} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	if strings.HasSuffix(ref, ".tar") {
		return true
	}
	_, err := os.Stat(ref)
	return err == nil
}
