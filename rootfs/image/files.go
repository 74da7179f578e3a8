package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fileSource is an image reference naming files rather than a registry.
type fileSource interface {
	resolve(arch string) (v1.Image, error)
}

// parseFileRef recognises references naming files:
//
//	oci:PATH[:TAG]             OCI layout directory
//	oci-archive:PATH[:TAG]     OCI layout in a tar file
//	docker-archive:PATH[:TAG]  `docker save` tar file
//	PATH                       a directory holding "oci-layout", or a file ending in .tar
//
// ok is false for references that name a registry image.
func parseFileRef(ref string) (src fileSource, ok bool, err error) {
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:"} {
		if !strings.HasPrefix(ref, prefix) {
			continue
		}
		p, tag, err := splitTag(strings.TrimPrefix(ref, prefix), prefix == "oci:")
		if err != nil {
			return nil, true, err
		}
		switch prefix {
		case "oci:":
			return layoutDir{dir: p, tag: tag}, true, nil
		case "oci-archive:":
			return archive{path: p, tag: tag, want: "oci"}, true, nil
		default:
			return archive{path: p, tag: tag, want: "docker"}, true, nil
		}
	}

	fi, statErr := os.Stat(ref)
	looksLikePath := strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") || strings.HasSuffix(ref, ".tar")
	switch {
	case statErr == nil && fi.IsDir():
		if _, err := os.Stat(filepath.Join(ref, "oci-layout")); err == nil {
			return layoutDir{dir: ref}, true, nil
		}
		if looksLikePath {
			return nil, true, fmt.Errorf("directory %s is not an OCI image layout (no oci-layout file)", ref)
		}
	case statErr == nil && strings.HasSuffix(ref, ".tar"):
		return archive{path: ref}, true, nil
	case looksLikePath:
		if statErr == nil {
			return nil, true, fmt.Errorf("%s is neither an OCI layout directory nor a .tar archive", ref)
		}
		return nil, true, statErr
	}
	return nil, false, nil
}

// splitTag splits "PATH[:TAG]": the whole string if it exists as a file (a directory when
// dir), else after the shortest existing PATH.
func splitTag(s string, dir bool) (p, tag string, err error) {
	exists := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.IsDir() == dir
	}
	if exists(s) {
		return s, "", nil
	}
	// The tag may hold colons itself ("oci:dir:example.com:5000/x:v1"): split at the first
	// colon after an existing path.
	for i := 1; i < len(s); i++ {
		if s[i] == ':' && exists(s[:i]) {
			return s[:i], s[i+1:], nil
		}
	}
	what := "file"
	if dir {
		what = "OCI layout directory"
	}
	return "", "", fmt.Errorf("no %s at %s", what, s)
}

// layoutDir is an OCI image layout directory.
type layoutDir struct {
	dir, tag string
}

func (l layoutDir) resolve(arch string) (v1.Image, error) {
	f, err := os.Open(filepath.Join(l.dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %w", err)
	}
	defer f.Close()
	im, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: index.json: %w", l.dir, err)
	}
	return resolveLayout(dirBlobs(l.dir), im, l.tag, arch)
}

// resolveLayout picks the image for tag (any if "") and arch from a layout's index.json.
func resolveLayout(src blobSource, im *v1.IndexManifest, tag, arch string) (v1.Image, error) {
	ms := im.Manifests
	if tag != "" {
		var names []string
		var match []v1.Descriptor
		for _, d := range ms {
			n := d.Annotations[RefNameAnnotation]
			names = append(names, n)
			if refMatches(n, tag) {
				match = append(match, d)
			}
		}
		if len(match) == 0 {
			sort.Strings(names)
			return nil, fmt.Errorf("no image named %q in OCI layout (names: %s): %w", tag, strings.Join(names, ", "), ErrNotFound)
		}
		ms = match
		for _, d := range ms {
			if err := checkPinned(tag, d); err != nil {
				return nil, err
			}
		}
	}
	var d v1.Descriptor
	switch len(ms) {
	case 0:
		return nil, fmt.Errorf("OCI layout holds no images: %w", ErrNotFound)
	case 1:
		d = ms[0]
	default:
		var err error
		if d, err = pickPlatform(ms, arch); err != nil {
			return nil, fmt.Errorf("OCI layout holds %d images: %w; name one with oci:PATH:TAG", len(ms), err)
		}
	}
	return resolveIn(src, d, arch)
}

// refMatches reports whether a layout's ref.name annotation ann matches tag: equal, equal
// once normalized, or ann's tag is tag.
func refMatches(ann, tag string) bool {
	if ann == "" {
		return false
	}
	if ann == tag {
		return true
	}
	if a, err := Normalize(ann); err == nil {
		if t, err := Normalize(tag); err == nil && a == t && strings.ContainsAny(tag, "/:") {
			return true
		}
	}
	if t, err := name.NewTag(ann); err == nil && strings.Contains(ann, ":") && t.TagStr() == tag {
		return true
	}
	return false
}

// archive is an image archive: `docker save` output (manifest.json) or an OCI layout in a
// tar file (oci-layout, index.json); want restricts to "docker" or "oci".
type archive struct {
	path, tag, want string
}

func (a archive) resolve(arch string) (v1.Image, error) {
	tb, err := scanTar(a.path)
	if err != nil {
		return nil, err
	}
	_, hasLayout := tb.entries["oci-layout"]
	_, hasIndex := tb.entries["index.json"]
	_, hasManifest := tb.entries["manifest.json"]
	isOCI := hasLayout && hasIndex
	switch {
	case a.want == "oci" && !isOCI:
		return nil, fmt.Errorf("%s is not an OCI archive (no oci-layout and index.json)", a.path)
	case a.want == "docker" && !hasManifest:
		return nil, fmt.Errorf("%s is not a docker archive (no manifest.json)", a.path)
	case a.want == "" && !isOCI && !hasManifest:
		return nil, fmt.Errorf("%s is neither an OCI archive nor a docker archive (no index.json or manifest.json)", a.path)
	}
	if isOCI && a.want != "docker" {
		rc, err := tb.openName("index.json")
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		im, err := v1.ParseIndexManifest(rc)
		if err != nil {
			return nil, fmt.Errorf("%s: index.json: %w", a.path, err)
		}
		return resolveLayout(tb, im, a.tag, arch)
	}
	var tag *name.Tag
	if a.tag != "" {
		t, err := name.NewTag(a.tag)
		if err != nil {
			return nil, err
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(a.path, tag)
	if err != nil {
		return nil, fmt.Errorf("docker archive %s: %w", a.path, err)
	}
	if err := checkDockerConfig(a.path, img, tag); err != nil {
		return nil, err
	}
	if err := checkArch(img, arch); err != nil {
		return nil, err
	}
	return checkedImage{img}, nil
}

// tarBlobs reads the regular files of an uncompressed tar file in place.
type tarBlobs struct {
	path    string
	entries map[string][2]int64 // cleaned name → offset, size
}

func scanTar(p string) (*tarBlobs, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tb := &tarBlobs{path: p, entries: map[string][2]int64{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tb, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read archive %s: %w", p, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		tb.entries[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = [2]int64{off, h.Size}
	}
}

func (t *tarBlobs) openName(n string) (io.ReadCloser, error) {
	e, ok := t.entries[n]
	if !ok {
		return nil, fmt.Errorf("archive %s: no %s: %w", t.path, n, fs.ErrNotExist)
	}
	f, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, e[0], e[1]), f}, nil
}

func (t *tarBlobs) open(h v1.Hash) (io.ReadCloser, error) {
	if h.Algorithm == "" || h.Hex == "" {
		return nil, errors.New("empty digest")
	}
	return t.openName(path.Join("blobs", h.Algorithm, h.Hex))
}

func (t *tarBlobs) where(h v1.Hash) string {
	return t.path + ":" + path.Join("blobs", h.Algorithm, h.Hex)
}
