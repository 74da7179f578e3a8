package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keel-os/keel/rootfs/tree"
)

// testImage returns a linux/arch image with a random layer and a layer holding the file
// "id" with contents id.
func testImage(t *testing.T, arch, id string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "id", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(id))}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, id)
	tw.Close()
	layer, err := layerFromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rnd, err := random.Layer(2048, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, rnd, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// layerFromBytes returns an image layer holding the uncompressed tar b.
func layerFromBytes(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// testIndex returns a multi-platform index with an image per arch (each with id "ARCH"),
// plus an attestation-like manifest for unknown/unknown.
func testIndex(t *testing.T, archs ...string) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, a := range archs {
		adds = append(adds, mutate.IndexAddendum{
			Add:        testImage(t, a, a),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: a}},
		})
	}
	adds = append(adds, mutate.IndexAddendum{
		Add:        testImage(t, "", "attestation"),
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}},
	})
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// idOf unpacks img and returns the contents of its "id" file.
func idOf(t *testing.T, img v1.Image) string {
	t.Helper()
	tr, err := tree.Unpack(img)
	if err != nil {
		t.Fatal(err)
	}
	n, err := tr.Lookup("id")
	if err != nil {
		t.Fatal(err)
	}
	return string(n.Data)
}

func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// testRegistry serves an in-process registry on 127.0.0.1 and returns its host:port.
func testRegistry(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "http://")
}

func push(t *testing.T, ref string, img any) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	switch img := img.(type) {
	case v1.Image:
		err = remote.Write(r, img)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// logs collects Logf output.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newResolver(t *testing.T, cache string, mod ...func(*Options)) *Resolver {
	t.Helper()
	opts := Options{CacheDir: cache, Keychain: authn.NewMultiKeychain()}
	for _, m := range mod {
		m(&opts)
	}
	r, err := NewResolver(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func resolve(t *testing.T, r *Resolver, ref, arch string) v1.Image {
	t.Helper()
	img, err := r.Resolve(context.Background(), ref, arch)
	if err != nil {
		t.Fatalf("Resolve(%q, %q): %v", ref, arch, err)
	}
	return img
}
