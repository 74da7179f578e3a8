package image

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PruneResult is what Prune removed.
type PruneResult struct {
	Blobs int   // blobs removed
	Bytes int64 // their size
}

// Prune removes the store's blobs that no stored image refers to any more: the layers,
// configs and manifests of images that a later `keel pkg build` replaced under their tag.
//
// It holds the store's lock, and Put and PutPlatform write an image's blobs once more under
// that lock before they record it, so a prune between a build's first write and its record
// costs that build a rewrite, never a blob. Files whose names are not digests (a write in
// progress) are left alone.
func (s *Store) Prune() (PruneResult, error) {
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
	for _, d := range im.Manifests {
		if err := markReachable(dirBlobs(s.dir), d, keep); err != nil {
			return res, fmt.Errorf("prune %s: %w", s.dir, err)
		}
	}
	root := filepath.Join(s.dir, "blobs")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // an empty store has no blobs yet
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		alg, hex := filepath.Split(path[len(root)+1:])
		h, err := v1.NewHash(filepath.Clean(alg) + ":" + hex)
		if err != nil || keep[h] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
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
// config and layers) to keep. A descriptor with a media type that is neither a manifest nor
// an index is kept but not read.
func markReachable(blobs dirBlobs, d v1.Descriptor, keep map[v1.Hash]bool) error {
	if keep[d.Digest] {
		return nil
	}
	keep[d.Digest] = true
	if mt := d.MediaType; mt != "" && !mt.IsIndex() && !mt.IsImage() {
		return nil
	}
	raw, err := readBlob(blobs, d)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if isIndex(d.MediaType, raw) {
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("parse index %s: %w", d.Digest, err)
		}
		for _, m := range im.Manifests {
			if err := markReachable(blobs, m, keep); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parse manifest %s: %w", d.Digest, err)
	}
	keep[m.Config.Digest] = true
	for _, l := range m.Layers {
		keep[l.Digest] = true
	}
	return nil
}
