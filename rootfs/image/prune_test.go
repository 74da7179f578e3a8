package image

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func blobExists(t *testing.T, s *Store, h v1.Hash) bool {
	t.Helper()
	_, err := os.Stat(dirBlobs(s.Dir()).path(h))
	return err == nil
}

func TestPruneRemovesOnlyTheBlobsOfReplacedImages(t *testing.T) {
	r := newResolver(t, t.TempDir())
	s := r.Store()
	old := testImage(t, "amd64", "old")
	if err := s.PutPlatform("keel/app:dev", old); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPlatform("keel/app:dev", testImage(t, "arm64", "arm")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("keel/other:dev", testIndex(t, "amd64", "s390x")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPlatform("keel/app:dev", testImage(t, "amd64", "new")); err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	// The old amd64 image (manifest, config, two layers) and the two indexes that held it.
	if res.Blobs != 6 || res.Bytes == 0 {
		t.Errorf("pruned %d blobs, %d bytes; want the old image's 4 and the 2 indexes before the last", res.Blobs, res.Bytes)
	}
	layers, err := old.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if blobExists(t, s, digestOf(t, l)) {
			t.Errorf("the replaced image's layer %s is still there", digestOf(t, l))
		}
	}
	for _, c := range []struct{ ref, arch, id string }{
		{"keel/app:dev", "amd64", "new"}, {"keel/app:dev", "arm64", "arm"},
		{"keel/other:dev", "amd64", "amd64"}, {"keel/other:dev", "s390x", "s390x"},
	} {
		if got := idOf(t, resolve(t, r, c.ref, c.arch)); got != c.id {
			t.Errorf("%s %s after prune: id %q, want %q", c.ref, c.arch, got, c.id)
		}
	}
	if res, err := s.Prune(); err != nil || res.Blobs != 0 {
		t.Errorf("second prune: %+v, %v; want nothing to remove", res, err)
	}
}

func TestAPruneBetweenAPutsBlobWritesAndItsRecordLosesNothing(t *testing.T) {
	r := newResolver(t, t.TempDir())
	s := r.Store()
	img := testImage(t, "amd64", "app")
	// Put writes the blobs without the lock first; a prune that runs then sees them
	// unreferenced and removes them.
	if err := layout.Path(s.Dir()).WriteImage(img); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(s.Dir(), "blobs", "sha256", "upload-123")
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Prune(); err != nil || res.Blobs != 4 {
		t.Fatalf("prune: %+v, %v; want the unrecorded image's 4 blobs removed", res, err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("a file whose name is no digest was removed: %v", err)
	}
	if err := s.Put("keel/app:dev", img); err != nil {
		t.Fatal(err)
	}
	if got := idOf(t, resolve(t, r, "keel/app:dev", "amd64")); got != "app" {
		t.Errorf("id %q after the prune", got)
	}
	if res, err := s.Prune(); err != nil || res.Blobs != 0 {
		t.Errorf("prune after the put: %+v, %v; want nothing removed", res, err)
	}
}
