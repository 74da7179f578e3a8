package image

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxFuzzRead bounds what the fuzz target reads of a layer: compressed layers expand.
const maxFuzzRead = 1 << 20

// fuzzArchives returns a docker save archive and an OCI archive of a small amd64 image.
func fuzzArchives(f *testing.F) (docker, oci []byte) {
	rnd, err := random.Layer(256, types.DockerLayer)
	if err != nil {
		f.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, rnd)
	if err != nil {
		f.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		f.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		f.Fatal(err)
	}
	tag, _ := name.NewTag("keel/fuzz:1")
	var buf bytes.Buffer
	if err := tarball.Write(tag, img, &buf); err != nil {
		f.Fatal(err)
	}
	docker = bytes.Clone(buf.Bytes())

	dir := f.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		f.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		f.Fatal(err)
	}
	buf.Reset()
	tw := tar.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil || tw.Close() != nil {
		f.Fatal(err)
	}
	return docker, buf.Bytes()
}

// FuzzResolveArchive resolves a fuzzed `docker save` or OCI archive file as an image
// reference would for linux/amd64, and reads what it gives: an image it resolves has a
// linux/amd64 config, and its layers read (a bounded amount) without panicking.
func FuzzResolveArchive(f *testing.F) {
	docker, oci := fuzzArchives(f)
	f.Add(docker, false)
	f.Add(oci, true)
	f.Add(oci, false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, asOCI bool) {
		p := filepath.Join(t.TempDir(), "image.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ref := "docker-archive:" + p
		if asOCI {
			ref = "oci-archive:" + p
		}
		src, ok, err := parseFileRef(ref)
		if err != nil || !ok {
			t.Fatalf("parseFileRef(%q) = %v, %v", ref, ok, err)
		}
		img, err := src.resolve("amd64")
		if err != nil {
			return
		}
		if _, err := img.Manifest(); err != nil {
			return
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatalf("resolved image has no config: %v", err)
		}
		if (cf.OS != "" && cf.OS != "linux") || (cf.Architecture != "" && NormalizeArch(cf.Architecture) != "amd64") {
			t.Fatalf("resolved an image for %s/%s, want linux/amd64", cf.OS, cf.Architecture)
		}
		layers, err := img.Layers()
		if err != nil {
			return
		}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				continue
			}
			io.CopyN(io.Discard, rc, maxFuzzRead)
			rc.Close()
		}
	})
}
