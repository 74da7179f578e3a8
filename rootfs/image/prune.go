package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PruneResult is what Prune removed.
type PruneResult struct {
	Blobs int   // blobs removed
	Bytes int64 // their size
}

// Prune removes the store's blobs that no stored image refers to any more: the layers,
// configs and manifests of images that a later `keel pkg build` replaced under their tag.
// Blobs written within grace are kept, since Put writes an image's blobs before it records
// the image in index.json. A blob whose name is not a digest (a temporary file) is kept too.
func (s *Store) Prune(grace time.Duration) (PruneResult, error) {
	var res PruneResult
	unlock, err := s.lock(true)
	if err != nil {
		return res, err
	}
	defer unlock()
	im, err := s.indexLocked()
	if err != nil {
		return res, err
	}
	keep := map[v1.Hash]bool{}
	blobs := dirBlobs(s.dir)
	for _, d := range im.Manifests {
		if err := markReachable(blobs, d, keep); err != nil {
			return res, fmt.Errorf("prune %s: %w", s.dir, err)
		}
	}
	root := filepath.Join(s.dir, "blobs")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return res, nil // an empty store has no blobs yet
	}
	cutoff := time.Now().Add(-grace)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		alg, hex := filepath.Split(rel)
		h, err := v1.NewHash(filepath.Clean(alg) + ":" + hex)
		if err != nil || keep[h] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		res.Blobs++
		res.Bytes += info.Size()
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("prune %s: %w", s.dir, err)
	}
	return res, nil
}

// markReachable adds d and every blob it refers to (an index's manifests, a manifest's
// config and layers) to keep. A blob of another media type is kept but not read.
func markReachable(blobs dirBlobs, d v1.Descriptor, keep map[v1.Hash]bool) error {
	if keep[d.Digest] {
		return nil
	}
	keep[d.Digest] = true
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
		return nil
	}
	data, err := readBlob(blobs, d.Digest)
	if err != nil {
		return err
	}
	if d.MediaType.IsIndex() {
		var idx v1.IndexManifest
		if err := json.Unmarshal(data, &idx); err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
		for _, m := range idx.Manifests {
			if err := markReachable(blobs, m, keep); err != nil {
				return err
			}
		}
		return nil
	}
	var m v1.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	keep[m.Config.Digest] = true
	for _, l := range m.Layers {
		keep[l.Digest] = true
	}
	return nil
}
