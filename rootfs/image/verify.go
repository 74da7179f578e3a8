package image

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// maxManifestSize bounds the manifests and configs read into memory.
const maxManifestSize = 16 << 20

// ErrCorrupt is returned (wrapped) when a blob's contents do not match its digest or size,
// or a layer's uncompressed contents do not match the config's diff_id.
var ErrCorrupt = errors.New("corrupt or tampered content")

// verifier checks what its reader yields against a digest and a size once it is exhausted:
// go-containerregistry's own verifying reader is internal to it.
type verifier struct {
	r    io.Reader // limited to one byte more than allowed
	c    io.Closer
	h    hash.Hash
	want v1.Hash
	size int64 // exact size; < 0: any size up to most
	most int64 // < 0: unbounded
	n    int64
	what string
	err  error
}

// verified wraps rc so that reading it to the end fails, naming what, unless it yielded
// exactly size bytes (when size >= 0; else at most most bytes, most < 0 being no limit) with
// digest want. Reading stops one byte past the allowed size.
func verified(rc io.ReadCloser, want v1.Hash, size, most int64, what string) (io.ReadCloser, error) {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	limit := most
	if size >= 0 {
		limit = size
	}
	var r io.Reader = rc
	if limit >= 0 {
		r = io.LimitReader(rc, limit+1)
	}
	return &verifier{r: r, c: rc, h: h, want: want, size: size, most: most, what: what}, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	switch {
	case v.size >= 0 && v.n > v.size:
		v.err = fmt.Errorf("%s: longer than the %d bytes its descriptor gives: %w", v.what, v.size, ErrCorrupt)
	case v.size < 0 && v.most >= 0 && v.n > v.most:
		v.err = fmt.Errorf("%s: longer than %d bytes", v.what, v.most)
	case err == io.EOF && v.size >= 0 && v.n != v.size:
		v.err = fmt.Errorf("%s: %d bytes, its descriptor gives %d: %w", v.what, v.n, v.size, ErrCorrupt)
	}
	if v.err != nil {
		return 0, v.err
	}
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			v.err = fmt.Errorf("%s: content has digest %s:%s: %w", v.what, v.want.Algorithm, got, ErrCorrupt)
			return n, v.err
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.c.Close() }

// openVerified opens the blob d describes, verified against its digest and exact size.
func openVerified(src blobSource, d v1.Descriptor) (io.ReadCloser, error) {
	what := fmt.Sprintf("blob %s in %s", d.Digest, src.where(d.Digest))
	rc, err := src.open(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	v, err := verified(rc, d.Digest, d.Size, -1, what)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return v, nil
}

// readBlob reads the manifest or config d describes, verified against its digest and, when
// d.Size > 0, its size (a descriptor made from a digest alone has none).
func readBlob(src blobSource, d v1.Descriptor) ([]byte, error) {
	what := fmt.Sprintf("blob %s in %s", d.Digest, src.where(d.Digest))
	if d.Size > maxManifestSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a manifest or config may have", what, d.Size, maxManifestSize)
	}
	size := d.Size
	if size <= 0 {
		size = -1
	}
	rc, err := src.open(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rc.Close()
	v, err := verified(rc, d.Digest, size, maxManifestSize, what)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(v)
}

// checkPinned returns an error if ref pins a digest ("name@sha256:...") other than d's: a
// digest reference must never resolve to other content.
func checkPinned(ref string, d v1.Descriptor) error {
	dg, err := name.NewDigest(ref)
	if err != nil {
		return nil
	}
	if d.Digest.String() != dg.DigestStr() {
		return fmt.Errorf("%s is recorded as manifest %s: %w", ref, d.Digest, ErrCorrupt)
	}
	return nil
}

// checkedImage checks, as each layer is read, its uncompressed contents against the diff_id
// the config gives for it: the one check every source allows, docker archives included.
type checkedImage struct {
	v1.Image
}

func (i checkedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := i.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	ids := cf.RootFS.DiffIDs
	if len(ids) != len(ls) {
		return nil, fmt.Errorf("config lists %d rootfs.diff_ids for %d layers: %w", len(ids), len(ls), ErrCorrupt)
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = checkedLayer{Layer: l, diffID: ids[n]}
	}
	return out, nil
}

func (i checkedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	return i.layer(func(l v1.Layer) (v1.Hash, error) { return l.Digest() }, h)
}

func (i checkedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	return i.layer(func(l v1.Layer) (v1.Hash, error) { return l.DiffID() }, h)
}

func (i checkedImage) layer(key func(v1.Layer) (v1.Hash, error), h v1.Hash) (v1.Layer, error) {
	ls, err := i.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if k, err := key(l); err == nil && k == h {
			return l, nil
		}
	}
	// The config layer and layers looked up by what the manifest does not list.
	if h == i.configName() {
		return i.Image.LayerByDigest(h)
	}
	return nil, fmt.Errorf("layer %s not in image", h)
}

func (i checkedImage) configName() v1.Hash {
	h, _ := i.ConfigName()
	return h
}

type checkedLayer struct {
	v1.Layer
	diffID v1.Hash
}

// DiffID returns the config's diff_id, which Uncompressed checks.
func (l checkedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

func (l checkedLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	v, err := verified(rc, l.diffID, -1, -1, fmt.Sprintf("uncompressed layer (config's diff_id %s)", l.diffID))
	if err != nil {
		rc.Close()
		return nil, err
	}
	return v, nil
}

var _ partial.WithDiffID = checkedLayer{}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkDockerConfig checks the config of a docker archive's image (the one tag names, or
// the only one) against the digest its file is named after: "HEX.json", "blobs/sha256/HEX" or
// "sha256:HEX".
func checkDockerConfig(archive string, img v1.Image, tag *name.Tag) error {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil {
		return fmt.Errorf("docker archive %s: %w", archive, err)
	}
	var cfg string
	for _, d := range m {
		for _, t := range d.RepoTags {
			if n, err := name.NewTag(t); err == nil && tag != nil && n.Name() == tag.Name() {
				cfg = d.Config
			}
		}
	}
	if tag == nil && len(m) == 1 {
		cfg = m[0].Config
	}
	hx := strings.TrimSuffix(strings.TrimPrefix(path.Base(cfg), "sha256:"), ".json")
	if !hexDigest.MatchString(hx) {
		return nil
	}
	got, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("docker archive %s: config %s: %w", archive, cfg, err)
	}
	if got.Hex != hx {
		return fmt.Errorf("docker archive %s: config %s: content has digest %s: %w", archive, cfg, got, ErrCorrupt)
	}
	return nil
}
