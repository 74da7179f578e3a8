package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestResolvePicksArchFromRegistryIndexThenResolvesFromCacheWhenRegistryStops(t *testing.T) {
	srv, host := testRegistry(t)
	ref := host + "/keel/multi:1.0"
	push(t, ref, testIndex(t, "amd64", "arm64"))

	cache := t.TempDir()
	r := newResolver(t, cache)
	arm := resolve(t, r, ref, "arm64")
	if got := idOf(t, arm); got != "arm64" {
		t.Errorf("arm64 image has id %q", got)
	}
	amd := resolve(t, r, ref, "x86_64")
	if got := idOf(t, amd); got != "amd64" {
		t.Errorf("amd64 image has id %q", got)
	}

	srv.Close()
	var l logs
	r2 := newResolver(t, cache, func(o *Options) { o.Logf = l.logf })
	again := resolve(t, r2, ref, "arm64")
	if digestOf(t, again) != digestOf(t, arm) {
		t.Errorf("cached digest %s, want %s", digestOf(t, again), digestOf(t, arm))
	}
	if got := idOf(t, again); got != "arm64" {
		t.Errorf("cached image has id %q", got)
	}
	if !strings.Contains(l.String(), "using cached") {
		t.Errorf("no warning about the fallback, logs: %q", l.String())
	}
	// The other architecture was pulled too, so it is cached as well.
	if got := idOf(t, resolve(t, r2, ref, "amd64")); got != "amd64" {
		t.Errorf("cached amd64 image has id %q", got)
	}
	// An architecture never pulled cannot come from the cache.
	if _, err := r2.Resolve(context.Background(), ref, "s390x"); err == nil {
		t.Error("s390x resolved from a cache that only has amd64 and arm64")
	}
}

func TestResolveCachesBlobsContentAddressed(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/app:1"
	img := testImage(t, "amd64", "app")
	push(t, ref, img)
	cache := t.TempDir()
	resolve(t, newResolver(t, cache), ref, "amd64")

	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append(m.Layers, m.Config) {
		if _, err := os.Stat(filepath.Join(cache, "blobs", "sha256", d.Digest.Hex)); err != nil {
			t.Errorf("blob %s not cached: %v", d.Digest, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "blobs", "sha256", digestOf(t, img).Hex)); err != nil {
		t.Errorf("manifest not cached: %v", err)
	}
}

func TestResolveByDigestNeedsNoRegistryOnceCached(t *testing.T) {
	srv, host := testRegistry(t)
	img := testImage(t, "amd64", "pinned")
	push(t, host+"/keel/pinned:1", img)
	ref := host + "/keel/pinned@" + digestOf(t, img).String()

	cache := t.TempDir()
	resolve(t, newResolver(t, cache), ref, "amd64")
	srv.Close()
	if got := idOf(t, resolve(t, newResolver(t, cache), ref, "amd64")); got != "pinned" {
		t.Errorf("id %q", got)
	}
}

func TestResolveFollowsMovedTagWhileRegistryIsReachable(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/moving:latest"
	r := newResolver(t, t.TempDir())
	push(t, ref, testImage(t, "amd64", "first"))
	if got := idOf(t, resolve(t, r, ref, "amd64")); got != "first" {
		t.Fatalf("id %q", got)
	}
	push(t, ref, testImage(t, "amd64", "second"))
	if got := idOf(t, resolve(t, r, ref, "amd64")); got != "second" {
		t.Errorf("after the tag moved, id %q", got)
	}
}

func TestResolveOfflineUsesOnlyTheCache(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/off:1"
	push(t, ref, testImage(t, "amd64", "cached"))
	cache := t.TempDir()
	resolve(t, newResolver(t, cache), ref, "amd64")

	push(t, ref, testImage(t, "amd64", "newer"))
	off := newResolver(t, cache, func(o *Options) { o.Offline = true })
	if got := idOf(t, resolve(t, off, ref, "amd64")); got != "cached" {
		t.Errorf("offline resolve gave %q", got)
	}
	_, err := off.Resolve(context.Background(), host+"/keel/never:1", "amd64")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "offline") {
		t.Errorf("offline miss: %v", err)
	}
}

func TestResolveUnknownImageErrorNamesRefAndRegistry(t *testing.T) {
	srv, host := testRegistry(t)
	r := newResolver(t, t.TempDir())
	ref := host + "/keel/nope:1"
	_, err := r.Resolve(context.Background(), ref, "amd64")
	want := `image "` + ref + `" not found in local store or registry ` + host + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "_UNKNOWN") {
		t.Errorf("err = %v\nwant prefix %q and the registry's cause", err, want)
	}

	srv.Close()
	_, err = r.Resolve(context.Background(), ref, "amd64")
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("registry down, nothing cached: err = %v", err)
	}
}

func TestResolveRejectsSingleArchImageOfAnotherArch(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/armonly:1"
	push(t, ref, testImage(t, "arm64", "arm"))
	_, err := newResolver(t, t.TempDir()).Resolve(context.Background(), ref, "amd64")
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("err = %v, want both architectures named", err)
	}
}

func TestResolveIndexWithoutTheArchListsItsPlatforms(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/multi:2"
	push(t, ref, testIndex(t, "amd64", "arm64"))
	_, err := newResolver(t, t.TempDir()).Resolve(context.Background(), ref, "s390x")
	if err == nil || !strings.Contains(err.Error(), "no linux/s390x image") || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("err = %v", err)
	}
}

func TestResolveReportsDownloadProgress(t *testing.T) {
	_, host := testRegistry(t)
	ref := host + "/keel/progress:1"
	img := testImage(t, "amd64", "p")
	push(t, ref, img)

	var mu sync.Mutex
	done := map[string]bool{}
	r := newResolver(t, t.TempDir(), func(o *Options) {
		o.Progress = func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			if p.Ref != host+"/keel/progress:1" || p.Complete > p.Total {
				t.Errorf("bad progress %+v", p)
			}
			if p.Complete == p.Total {
				done[p.Digest.String()] = true
			}
		}
	})
	resolve(t, r, ref, "amd64")
	m, _ := img.Manifest()
	for _, d := range append(m.Layers, m.Config) {
		if !done[d.Digest.String()] {
			t.Errorf("no completed progress for %s", d.Digest)
		}
	}
	// Nothing is downloaded, so nothing reported, the second time.
	done = map[string]bool{}
	resolve(t, r, ref, "amd64")
	if len(done) != 0 {
		t.Errorf("progress reported for cached blobs: %v", done)
	}
}

func TestResolveConcurrentPullsShareTheCache(t *testing.T) {
	srv, host := testRegistry(t)
	ref := host + "/keel/concurrent:1"
	push(t, ref, testIndex(t, "amd64", "arm64"))
	cache := t.TempDir()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			arch := []string{"amd64", "arm64"}[i%2]
			r, err := NewResolver(Options{CacheDir: cache, Keychain: authn.NewMultiKeychain()})
			if err != nil {
				t.Error(err)
				return
			}
			img, err := r.Resolve(context.Background(), ref, arch)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := img.Layers(); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	srv.Close()
	if got := idOf(t, resolve(t, newResolver(t, cache), ref, "arm64")); got != "arm64" {
		t.Errorf("id %q", got)
	}
}

func TestInsecureRegistriesAreSpokenToOverHTTP(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.InsecureRegistries = []string{"registry.lan:5000"} })
	for ref, scheme := range map[string]string{
		"registry.lan:5000/keel/x:1": "http",
		"registry.lan/keel/x:1":      "https",
		"ghcr.io/keel/x:1":           "https",
		"localhost:5000/keel/x:1":    "http",
		"127.0.0.1:5000/keel/x:1":    "http",
	} {
		n, err := r.parse(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Context().Scheme(); got != scheme {
			t.Errorf("%s: scheme %s, want %s", ref, got, scheme)
		}
	}
}

func TestBlobCacheRefusesContentNotMatchingItsDigest(t *testing.T) {
	c := &blobCache{dir: t.TempDir()}
	img := testImage(t, "amd64", "x")
	h := digestOf(t, img)
	err := c.put(h, -1, strings.NewReader("not the manifest"))
	if err == nil || !strings.Contains(err.Error(), h.String()) {
		t.Errorf("err = %v", err)
	}
	if c.has(h) {
		t.Error("corrupt blob stored")
	}
	entries, _ := os.ReadDir(filepath.Join(c.dir, "blobs", "sha256"))
	if len(entries) != 0 {
		t.Errorf("leftover files: %v", entries)
	}
}
