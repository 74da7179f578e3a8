package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keel-os/keel/rootfs/tree"
)

// plainImage returns a linux/amd64 image whose one layer, stored uncompressed, holds the
// file "id" with contents id: a blob can then be changed in place, keeping its size.
func plainImage(t *testing.T, id string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "id", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(id))}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, id)
	tw.Close()
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// layerDigest returns the digest of img's only layer.
func layerDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[len(m.Layers)-1].Digest
}

// replaceIn replaces old by new, of the same length, in the file p.
func replaceIn(t *testing.T, p, old, new string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != len(new) || !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s: cannot replace %q", p, old)
	}
	if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantUnpackError resolves ref and unpacks it, and checks the error names each of names.
func wantUnpackError(t *testing.T, r *Resolver, ref string, names ...string) {
	t.Helper()
	img, err := r.Resolve(context.Background(), ref, "amd64")
	if err == nil {
		_, err = tree.Unpack(img)
	}
	if err == nil {
		t.Fatalf("%s: tampered image unpacked without error", ref)
	}
	t.Logf("%s: %v", ref, err)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("%s: err = %v, want ErrCorrupt", ref, err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("%s: err = %v\nwant it to name %s", ref, err, n)
		}
	}
}

func TestTamperedLayerInOCILayoutIsRefused(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := plainImage(t, "honest")
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	l := layerDigest(t, img)
	blob := filepath.Join(dir, "blobs", "sha256", l.Hex)
	replaceIn(t, blob, "honest", "wicked")
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	wantUnpackError(t, r, "oci:"+dir, l.String(), blob)
}

func TestTamperedBlobsInLocalStoreAreRefused(t *testing.T) {
	cache := t.TempDir()
	r := newResolver(t, cache, func(o *Options) { o.Offline = true })
	img := plainImage(t, "honest")
	if err := r.Store().Put("keel/tamper:1", img); err != nil {
		t.Fatal(err)
	}
	l := layerDigest(t, img)
	blob := filepath.Join(cache, "store", "blobs", "sha256", l.Hex)
	replaceIn(t, blob, "honest", "wicked")
	wantUnpackError(t, r, "keel/tamper:1", l.String(), blob)

	// A changed config (here: the architecture, same length) is refused too.
	img = plainImage(t, "config")
	if err := r.Store().Put("keel/tamper:2", img); err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	blob = filepath.Join(cache, "store", "blobs", "sha256", cfg.Hex)
	replaceIn(t, blob, `"amd64"`, `"AMD64"`)
	wantUnpackError(t, r, "keel/tamper:2", cfg.String(), blob)
}

func TestTamperedBlobInRegistryCacheIsRefused(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/tamper:1"
	img := plainImage(t, "honest")
	push(t, ref, img)
	cache := t.TempDir()
	resolve(t, newResolver(t, cache), ref, "amd64")

	l := layerDigest(t, img)
	blob := filepath.Join(cache, "blobs", "sha256", l.Hex)
	replaceIn(t, blob, "honest", "wicked")
	// Online too: the manifest is the registry's, but the cached blob is used.
	wantUnpackError(t, newResolver(t, cache), ref, l.String(), blob)
	wantUnpackError(t, newResolver(t, cache, func(o *Options) { o.Offline = true }), ref, l.String(), blob)
}

func TestTamperedLayerInOCIArchiveIsRefused(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := plainImage(t, "honest")
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(dir, "image.tar")
	tarDir(t, filepath.Join(dir, "layout"), arch)
	replaceIn(t, arch, "honest", "wicked")
	l := layerDigest(t, img)
	wantUnpackError(t, newResolver(t, t.TempDir()), "oci-archive:"+arch, l.String(), arch+":blobs/sha256/"+l.Hex)
}

func TestTamperedLayerInDockerArchiveIsRefused(t *testing.T) {
	arch := filepath.Join(t.TempDir(), "image.tar")
	tag, _ := name.NewTag("keel/app:1")
	img := plainImage(t, "honest")
	if err := tarball.WriteToFile(arch, tag, img); err != nil {
		t.Fatal(err)
	}
	replaceIn(t, arch, "honest", "wicked")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantUnpackError(t, newResolver(t, t.TempDir()), "docker-archive:"+arch, cf.RootFS.DiffIDs[0].String())
}

func TestTamperedConfigInDockerArchiveIsRefused(t *testing.T) {
	arch := filepath.Join(t.TempDir(), "image.tar")
	tag, _ := name.NewTag("keel/app:1")
	img := plainImage(t, "honest")
	if err := tarball.WriteToFile(arch, tag, img); err != nil {
		t.Fatal(err)
	}
	replaceIn(t, arch, `"amd64"`, `"AMD64"`)
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	wantUnpackError(t, newResolver(t, t.TempDir()), "docker-archive:"+arch, arch, cfg.Hex)
}

func TestLayerNotMatchingConfigDiffIDIsRefused(t *testing.T) {
	img := plainImage(t, "honest")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	other, err := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	cf.RootFS.DiffIDs[0] = other
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	wantUnpackError(t, newResolver(t, t.TempDir()), "oci:"+dir, layerDigest(t, img).String(), other.String())
}

func TestDigestPinnedRefNeverResolvesToSwappedManifest(t *testing.T) {
	_, host := testRegistry(t)
	img := plainImage(t, "pinned")
	push(t, host+"/keel/pinned:1", img)
	other := plainImage(t, "swaps!")
	push(t, host+"/keel/pinned:2", other)
	d := digestOf(t, img)
	ref := host + "/keel/pinned@" + d.String()

	cache := t.TempDir()
	resolve(t, newResolver(t, cache), ref, "amd64")
	resolve(t, newResolver(t, cache), host+"/keel/pinned:2", "amd64")
	// The cached manifest is replaced by the other image's, whose blobs are all cached.
	raw, err := other.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(cache, "blobs", "sha256", d.Hex)
	if err := os.WriteFile(blob, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, offline := range []bool{false, true} {
		r := newResolver(t, cache, func(o *Options) { o.Offline = offline })
		wantUnpackError(t, r, ref, d.String(), blob)
	}
}

func TestDigestPinnedRefInStoreMustNameTheStoredManifest(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	want := digestOf(t, plainImage(t, "pinned"))
	ref := "keel/pinned@" + want.String()
	if err := r.Store().Put(ref, plainImage(t, "swaps!")); err != nil {
		t.Fatal(err)
	}
	wantUnpackError(t, r, ref, want.String())
}

func TestBlobCacheStopsReadingPastTheDescriptorSize(t *testing.T) {
	c := &blobCache{dir: t.TempDir()}
	h := digestOf(t, plainImage(t, "x"))
	endless := &countingReader{}
	err := c.put(h, 1000, endless)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "1000 bytes") {
		t.Errorf("err = %v", err)
	}
	if endless.n > 1001 {
		t.Errorf("read %d bytes of a 1000-byte blob", endless.n)
	}
	if c.has(h) {
		t.Error("oversized blob stored")
	}
}

// countingReader yields 1 MiB of zeros (as good as endless here), counting them.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n >= 1<<20 {
		return 0, io.EOF
	}
	p = p[:min(len(p), 1<<20-int(r.n))]
	clear(p)
	r.n += int64(len(p))
	return len(p), nil
}

func TestVerifiedReaderStopsOneBytePastTheDescriptorSize(t *testing.T) {
	h := digestOf(t, plainImage(t, "x"))
	long := &countingReader{}
	rc, err := verified(io.NopCloser(long), h, 1000, -1, "blob "+h.String()+" in f")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "blob "+h.String()+" in f: longer than the 1000 bytes") {
		t.Errorf("err = %v", err)
	}
	if long.n > 1001 {
		t.Errorf("read %d bytes of a 1000-byte blob", long.n)
	}
	rc, _ = verified(io.NopCloser(&countingReader{}), h, -1, 4096, "manifest")
	if _, err := io.Copy(io.Discard, rc); err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
		t.Errorf("unknown size over the bound: err = %v", err)
	}
}
