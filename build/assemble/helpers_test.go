package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/keel-os/keel/build/spec"
)

// ent is one entry of a hand-made layer. Directories end in "/"; link is a symlink's target,
// or with hard set, the entry a hard link points at.
type ent struct {
	name     string
	mode     int64
	uid, gid int
	data     string
	link     string
	hard     bool
}

// layerTar returns an uncompressed tar of the entries, in the order given, with a fixed time.
func layerTar(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: time.Unix(1000, 0), Format: tar.FormatPAX}
		switch {
		case e.name[len(e.name)-1] == '/':
			h.Typeflag = tar.TypeDir
		case e.hard:
			h.Typeflag, h.Linkname = tar.TypeLink, e.link
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testImage returns a linux/amd64 image of one layer holding ents, with the entrypoint and, if
// label is not empty, that org.mobyproject.config label.
func testImage(t *testing.T, entrypoint []string, label string, ents ...ent) v1.Image {
	t.Helper()
	data := layerTar(t, ents...)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = entrypoint
	cf.Config.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if label != "" {
		cf.Config.Labels = map[string]string{spec.LabelKey: label}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// images is a Resolver over images held in memory, for one architecture.
type images struct {
	arch string
	m    map[string]v1.Image
}

func (r images) Resolve(_ context.Context, ref, arch string) (v1.Image, error) {
	if arch != r.arch {
		return nil, fmt.Errorf("asked for arch %q, have only %q", arch, r.arch)
	}
	img, ok := r.m[ref]
	if !ok {
		return nil, fmt.Errorf("no image %q", ref)
	}
	return img, nil
}

// parseYAML parses one image description, failing the test on error.
func parseYAML(t *testing.T, name, text string) *spec.Config {
	t.Helper()
	cfg, err := spec.Parse(spec.Source{Name: name, Data: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
