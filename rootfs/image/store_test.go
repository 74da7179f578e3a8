package image

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func TestStorePutRecordsNormalizedRefInOCILayout(t *testing.T) {
	cache := t.TempDir()
	r := newResolver(t, cache)
	img := testImage(t, "amd64", "init")
	if err := r.Store().Put("keel/init:dev", img); err != nil {
		t.Fatal(err)
	}
	// The store is a plain OCI layout that other tools can read.
	p, err := layout.FromPath(filepath.Join(cache, "store"))
	if err != nil {
		t.Fatal(err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("%d manifests", len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.Annotations[RefNameAnnotation] != "index.docker.io/keel/init:dev" || d.Digest != digestOf(t, img) {
		t.Errorf("descriptor %+v", d)
	}
	if _, err := p.Image(d.Digest); err != nil {
		t.Errorf("layout image: %v", err)
	}
}

func TestResolveFindsStoredImageUnderAnySpellingWithoutRegistry(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	img := testImage(t, "amd64", "init")
	if err := r.Store().Put("docker.io/keel/init:dev", img); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"keel/init:dev", "docker.io/keel/init:dev", "index.docker.io/keel/init:dev"} {
		if got := digestOf(t, resolve(t, r, ref, "amd64")); got != digestOf(t, img) {
			t.Errorf("%s: digest %s", ref, got)
		}
	}
	if _, err := r.Resolve(context.Background(), "keel/init:other", "amd64"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tag: %v", err)
	}
}

func TestStorePutReplacesPreviousImageOfRef(t *testing.T) {
	r := newResolver(t, t.TempDir())
	s := r.Store()
	if err := s.Put("keel/app:dev", testImage(t, "amd64", "old")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("keel/other:dev", testImage(t, "amd64", "other")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("index.docker.io/keel/app:dev", testImage(t, "amd64", "new")); err != nil {
		t.Fatal(err)
	}
	entries, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, e := range entries {
		refs = append(refs, e.Ref)
	}
	if strings.Join(refs, " ") != "index.docker.io/keel/app:dev index.docker.io/keel/other:dev" {
		t.Errorf("refs %q", refs)
	}
	if got := idOf(t, resolve(t, r, "keel/app:dev", "amd64")); got != "new" {
		t.Errorf("id %q", got)
	}
}

func TestStoreHoldsMultiArchIndexes(t *testing.T) {
	r := newResolver(t, t.TempDir())
	if err := r.Store().Put("keel/multi:dev", testIndex(t, "amd64", "arm64", "s390x")); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"amd64", "arm64", "s390x"} {
		if got := idOf(t, resolve(t, r, "keel/multi:dev", a)); got != a {
			t.Errorf("%s: id %q", a, got)
		}
	}
	_, err := r.Resolve(context.Background(), "keel/multi:dev", "riscv64")
	if err == nil || !strings.Contains(err.Error(), "local store") || !strings.Contains(err.Error(), "riscv64") {
		t.Errorf("riscv64: %v", err)
	}
}

func TestStoreRejectsStoredImageOfAnotherArch(t *testing.T) {
	r := newResolver(t, t.TempDir())
	if err := r.Store().Put("keel/armonly:dev", testImage(t, "arm64", "a")); err != nil {
		t.Fatal(err)
	}
	_, err := r.Resolve(context.Background(), "keel/armonly:dev", "amd64")
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("err = %v", err)
	}
}

func TestStoreTakesPrecedenceOverRegistry(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/both:1"
	push(t, ref, testImage(t, "amd64", "registry"))
	r := newResolver(t, t.TempDir())
	if err := r.Store().Put(ref, testImage(t, "amd64", "local")); err != nil {
		t.Fatal(err)
	}
	if got := idOf(t, resolve(t, r, ref, "amd64")); got != "local" {
		t.Errorf("id %q, want the stored image", got)
	}
}

func TestStorePutRejectsNonImages(t *testing.T) {
	r := newResolver(t, t.TempDir())
	if err := r.Store().Put("keel/x:1", testImage(t, "amd64", "x")); err != nil {
		t.Fatal(err)
	}
	layer, _ := testImage(t, "amd64", "x").Layers()
	if err := r.Store().Put("keel/x:1", layer[0]); err == nil {
		t.Error("a layer was stored as an image")
	}
	if err := r.Store().Put("Not A Ref", testImage(t, "amd64", "x")); err == nil {
		t.Error("an invalid reference was accepted")
	}
}

func TestOpenStoreKeepsExistingImages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("keel/a:1", testImage(t, "amd64", "a")); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Get("keel/a:1"); err != nil {
		t.Error(err)
	}
	img, err := s2.Image("keel/a:1", "amd64")
	if err != nil || idOf(t, img) != "a" {
		t.Errorf("Image: %v", err)
	}
}

func TestDefaultCacheDirHonoursKEEL_CACHE(t *testing.T) {
	t.Setenv("KEEL_CACHE", "/some/where")
	if d, err := DefaultCacheDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultCacheDir = %q, %v", d, err)
	}
	t.Setenv("KEEL_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, err := DefaultCacheDir(); err != nil || d != "/xdg/keel" {
		t.Errorf("DefaultCacheDir = %q, %v", d, err)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"alpine":                   "index.docker.io/library/alpine:latest",
		"keel/init:dev":            "index.docker.io/keel/init:dev",
		"docker.io/keel/init:dev":  "index.docker.io/keel/init:dev",
		"ghcr.io/keel-os/init:1.0": "ghcr.io/keel-os/init:1.0",
		"localhost:5000/x/y@sha256:" + strings.Repeat("a", 64): "localhost:5000/x/y@sha256:" + strings.Repeat("a", 64),
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"": "amd64", "x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x"} {
		if in == "" {
			continue // host dependent
		}
		if got := NormalizeArch(in); got != want {
			t.Errorf("NormalizeArch(%q) = %q", in, got)
		}
	}
}

func TestRefRecordIsReadableJSON(t *testing.T) {
	c := &blobCache{dir: t.TempDir()}
	d := v1.Descriptor{MediaType: "application/vnd.oci.image.index.v1+json", Size: 1, Digest: digestOf(t, testImage(t, "amd64", "x"))}
	if err := c.record("index.docker.io/keel/x:1", d); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.refPath("index.docker.io/keel/x:1"))
	if err != nil {
		t.Fatal(err)
	}
	var rec refRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Ref != "index.docker.io/keel/x:1" || rec.Descriptor.Digest != d.Digest {
		t.Errorf("record %s: %v", b, err)
	}
	if got, err := c.lookup("index.docker.io/keel/x:1"); err != nil || got.Digest != d.Digest {
		t.Errorf("lookup = %v, %v", got, err)
	}
}

func TestStorePutPlatformKeepsOneImagePerArchitectureUnderATag(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	s := r.Store()
	amd64, arm64 := testImage(t, "amd64", "a1"), testImage(t, "arm64", "b1")
	for _, img := range []v1.Image{amd64, arm64} {
		if err := s.PutPlatform("keel/init:dev", img); err != nil {
			t.Fatal(err)
		}
	}
	// A rebuild for amd64 replaces the amd64 image only.
	amd64b := testImage(t, "amd64", "a2")
	if err := s.PutPlatform("keel/init:dev", amd64b); err != nil {
		t.Fatal(err)
	}
	for arch, want := range map[string]v1.Image{"amd64": amd64b, "arm64": arm64} {
		if got := digestOf(t, resolve(t, r, "keel/init:dev", arch)); got != digestOf(t, want) {
			t.Errorf("%s: digest %s, want %s", arch, got, digestOf(t, want))
		}
	}
	if _, err := r.Resolve(context.Background(), "keel/init:dev", "s390x"); err == nil || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("s390x: %v, want an error listing the stored platforms", err)
	}
	entries, err := s.List()
	if err != nil || len(entries) != 1 {
		t.Fatalf("list: %v %v", entries, err)
	}
}

func TestStorePutPlatformTurnsAnImageStoredByPutIntoAnIndex(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	s := r.Store()
	old, arm := testImage(t, "amd64", "a1"), testImage(t, "arm64", "b1")
	if err := s.Put("keel/init:dev", old); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPlatform("keel/init:dev", arm); err != nil {
		t.Fatal(err)
	}
	if got := digestOf(t, resolve(t, r, "keel/init:dev", "amd64")); got != digestOf(t, old) {
		t.Errorf("amd64 image lost: %s", got)
	}
	if got := digestOf(t, resolve(t, r, "keel/init:dev", "arm64")); got != digestOf(t, arm) {
		t.Errorf("arm64: %s", got)
	}
}
