package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// RefNameAnnotation is the index.json annotation recording an image's reference.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Store is the local image store: an OCI image layout whose index.json records each image
// under its normalized reference. Writers and readers in several processes are serialized
// with a lock file next to index.json.
type Store struct {
	dir string
}

// OpenStore opens the store in dir, creating an empty layout if there is none.
func OpenStore(dir string) (*Store, error) {
	s := &Store{dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	unlock, err := s.lock(true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "index.json")); errors.Is(err, fs.ErrNotExist) {
		if _, err := layout.Write(dir, empty.Index); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return s, nil
}

// Dir returns the layout directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) lock(exclusive bool) (func(), error) {
	unlock, err := lockFile(filepath.Join(s.dir, "index.json.lock"), exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock image store: %w", err)
	}
	return unlock, nil
}

// Put stores img, a v1.Image or a v1.ImageIndex, under ref, replacing any image previously
// stored under it.
func (s *Store) Put(ref string, img mutate.Appendable) error {
	n, err := Normalize(ref)
	if err != nil {
		return fmt.Errorf("store %s: %w", ref, err)
	}
	p := layout.Path(s.dir)
	opt := layout.WithAnnotations(map[string]string{RefNameAnnotation: n})
	// Blobs are content-addressed and can be written without the lock; the Replace* calls
	// below write them again under the lock (finding them present, or rewriting one that a
	// Prune removed meanwhile) and then index.json.
	var write, replace func() error
	switch img := img.(type) {
	case v1.Image:
		write = func() error { return p.WriteImage(img) }
		replace = func() error { return p.ReplaceImage(img, matchRef(n), opt) }
	case v1.ImageIndex:
		write = func() error { return p.WriteIndex(img) }
		replace = func() error { return p.ReplaceIndex(img, matchRef(n), opt) }
	default:
		return fmt.Errorf("store %s: %T is neither an image nor an index", n, img)
	}
	if err := write(); err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	unlock, err := s.lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	if err := replace(); err != nil {
		return fmt.Errorf("store %s: %w", n, err)
	}
	return nil
}

func matchRef(n string) func(v1.Descriptor) bool {
	return func(d v1.Descriptor) bool {
		m, err := Normalize(d.Annotations[RefNameAnnotation])
		return err == nil && m == n
	}
}

// Entry is one image in the store.
type Entry struct {
	Ref        string // normalized reference
	Descriptor v1.Descriptor
}

// List returns the store's images, sorted by reference.
func (s *Store) List() ([]Entry, error) {
	im, err := s.index()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range im.Manifests {
		if n, err := Normalize(d.Annotations[RefNameAnnotation]); err == nil {
			out = append(out, Entry{Ref: n, Descriptor: d})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// Get returns the descriptor stored under ref; the error wraps ErrNotFound if there is none.
func (s *Store) Get(ref string) (v1.Descriptor, error) {
	n, err := Normalize(ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	im, err := s.index()
	if err != nil {
		return v1.Descriptor{}, err
	}
	match := matchRef(n)
	for _, d := range im.Manifests {
		if match(d) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%s: %w in local store", n, ErrNotFound)
}

// Image returns the image stored under ref for linux/arch.
func (s *Store) Image(ref, arch string) (v1.Image, error) {
	n, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	return s.image(n, NormalizeArch(arch))
}

func (s *Store) image(normalized, arch string) (v1.Image, error) {
	d, err := s.Get(normalized)
	if err != nil {
		return nil, err
	}
	if err := checkPinned(normalized, d); err != nil {
		return nil, err
	}
	return resolveIn(dirBlobs(s.dir), d, arch)
}

func (s *Store) index() (*v1.IndexManifest, error) {
	unlock, err := s.lock(false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.indexLocked()
}

// indexLocked reads index.json; the caller holds the lock.
func (s *Store) indexLocked() (*v1.IndexManifest, error) {
	f, err := os.Open(filepath.Join(s.dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	defer f.Close()
	im, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("image store %s: index.json: %w", s.dir, err)
	}
	return im, nil
}

// dirBlobs reads blobs from DIR/blobs/ALG/HEX: an OCI layout, or the registry cache.
type dirBlobs string

func (d dirBlobs) path(h v1.Hash) string {
	return filepath.Join(string(d), "blobs", h.Algorithm, h.Hex)
}

func (d dirBlobs) open(h v1.Hash) (io.ReadCloser, error) {
	if h.Algorithm == "" || h.Hex == "" || filepath.Base(h.Hex) != h.Hex || filepath.Base(h.Algorithm) != h.Algorithm {
		return nil, fmt.Errorf("invalid digest %q", h)
	}
	return os.Open(d.path(h))
}

func (d dirBlobs) where(h v1.Hash) string { return d.path(h) }
