package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/keel-os/keel/rootfs/atomicfile"
)

// blobCache is the registry cache: blobs content-addressed under DIR/blobs/sha256/HEX (the
// blob layout of an OCI layout), and the descriptor each tag last resolved to under
// DIR/refs/HASH.json. Every file is written to a temporary name and renamed, and blobs are
// verified against their digest first, so concurrent writers and interrupted downloads never
// leave a wrong blob behind.
type blobCache struct {
	dir string
}

func (c *blobCache) src() dirBlobs { return dirBlobs(c.dir) }

func (c *blobCache) has(h v1.Hash) bool {
	fi, err := os.Stat(c.src().path(h))
	return err == nil && fi.Mode().IsRegular()
}

// put stores the blob read from r, which must have digest h (and size, unless size < 0).
func (c *blobCache) put(h v1.Hash, size int64, r io.Reader) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: unsupported digest algorithm", h)
	}
	if c.has(h) {
		return nil
	}
	dir := filepath.Dir(c.src().path(h))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	f, err := atomicfile.Create(c.src().path(h), 0o644)
	if err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	defer f.Close()
	// A registry sending more than the manifest says is cut off there, before it can fill
	// the disk.
	if size >= 0 {
		r = io.LimitReader(r, size+1)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), r)
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	if size >= 0 && n > size {
		return fmt.Errorf("blob %s: longer than the %d bytes the manifest gives: %w", h, size, ErrCorrupt)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("blob %s: %d bytes, the manifest gives %d: %w", h, n, size, ErrCorrupt)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != h.Hex {
		return fmt.Errorf("blob %s: content has digest sha256:%s: %w", h, got, ErrCorrupt)
	}
	return f.Commit()
}

type refRecord struct {
	Ref        string        `json:"ref"`
	Descriptor v1.Descriptor `json:"descriptor"`
}

func (c *blobCache) refPath(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(c.dir, "refs", hex.EncodeToString(sum[:])+".json")
}

// record remembers that the normalized reference ref resolved to d.
func (c *blobCache) record(ref string, d v1.Descriptor) error {
	b, err := json.MarshalIndent(refRecord{Ref: ref, Descriptor: d}, "", "  ")
	if err != nil {
		return err
	}
	p := c.refPath(ref)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("registry cache: %w", err)
	}
	return atomicfile.WriteFile(p, 0o644, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// lookup returns the descriptor recorded for the normalized reference ref.
func (c *blobCache) lookup(ref string) (v1.Descriptor, error) {
	b, err := os.ReadFile(c.refPath(ref))
	if errors.Is(err, os.ErrNotExist) {
		return v1.Descriptor{}, fmt.Errorf("%s: %w in registry cache", ref, ErrNotFound)
	}
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("registry cache: %w", err)
	}
	var rec refRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Ref != ref {
		return v1.Descriptor{}, fmt.Errorf("registry cache: corrupt record %s for %s", c.refPath(ref), ref)
	}
	return rec.Descriptor, nil
}

// image returns the image for arch from the manifest desc, if the cache holds all of it.
func (c *blobCache) image(desc v1.Descriptor, arch string) (v1.Image, error) {
	src := c.src()
	raw, err := readBlob(src, desc)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("manifest %s: %w in registry cache", desc.Digest, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	d, raw, err := pickManifest(desc, raw, arch, func(d v1.Descriptor) ([]byte, error) {
		b, err := readBlob(src, d)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in registry cache", ErrNotFound)
		}
		return b, err
	})
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if !c.has(b.Digest) {
			return nil, fmt.Errorf("blob %s of %s: %w in registry cache", b.Digest, d.Digest, ErrNotFound)
		}
	}
	return loadImage(src, d, raw, arch)
}
