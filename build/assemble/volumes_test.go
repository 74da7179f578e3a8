package assemble

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/rootfs/tree"
)

// archImages is a Resolver over images held in memory for several architectures.
type archImages map[string]map[string]v1.Image // arch → ref → image

func (r archImages) Resolve(_ context.Context, ref, arch string) (v1.Image, error) {
	if img, ok := r[arch][ref]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("no image %q for %s", ref, arch)
}

// withArch is img with its config's architecture set to arch.
func withArch(t *testing.T, img v1.Image, arch string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func volumeImages(t *testing.T) archImages {
	tool := testImage(t, []string{"/bin/tool"}, "", ent{name: "bin/", mode: 0o755}, ent{name: "bin/tool", mode: 0o755, data: "tool"})
	data := testImage(t, nil, "", ent{name: "seed.txt", mode: 0o644, data: "seed\n"})
	return archImages{
		"amd64": {"example/tool:1": tool, "example/data:1": data},
		"arm64": {"example/data:1": withArch(t, data, "arm64")},
	}
}

// mountsOf reads the mounts of the bundle's config.json, by destination.
func mountsOf(t *testing.T, img *Image, dir string) map[string]specs.Mount {
	t.Helper()
	n, err := img.Root.Lookup(path.Join(dir, bundle.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(n.Data, &s); err != nil {
		t.Fatal(err)
	}
	m := map[string]specs.Mount{}
	for _, mnt := range s.Mounts {
		m[mnt.Destination] = mnt
	}
	return m
}

func assembleText(t *testing.T, imgs Resolver, yml string) (*Image, error) {
	t.Helper()
	cfg := parseYAML(t, "vol.yml", strings.TrimPrefix(yml, "\n"))
	return Assemble(context.Background(), cfg, Options{Arch: "amd64", Resolver: imgs, Epoch: epoch})
}

func TestAssembleBindsVolumesByNameReadOnlyWhenTheVolumeIs(t *testing.T) {
	img, err := assembleText(t, volumeImages(t), `
onboot:
  - name: reader
    image: example/tool:1
    binds:
      - seeded:/seeded
      - scratch:/scratch
  - name: writer
    image: example/tool:1
    binds.add:
      - seeded:/seeded:ro
    mounts:
      - type: bind
        source: scratch
        destination: /scratch
        options: [rw, rbind]
volumes:
  - name: seeded
    image: example/data:1
    readonly: true
  - name: scratch
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bundle, dst, src string
		ro               bool
	}{
		{"containers/onboot/000-reader", "/seeded", "/containers/volumes/seeded", true},
		{"containers/onboot/000-reader", "/scratch", "/containers/volumes/scratch", false},
		{"containers/onboot/001-writer", "/seeded", "/containers/volumes/seeded", true},
		{"containers/onboot/001-writer", "/scratch", "/containers/volumes/scratch", false},
	} {
		m, ok := mountsOf(t, img, c.bundle)[c.dst]
		if !ok {
			t.Errorf("%s: no mount at %s", c.bundle, c.dst)
			continue
		}
		if m.Source != c.src || slices.Contains(m.Options, "ro") != c.ro || slices.Contains(m.Options, "rw") == c.ro {
			t.Errorf("%s: mount at %s = %s %v, want source %s read-only %v", c.bundle, c.dst, m.Source, m.Options, c.src, c.ro)
		}
		if _, err := img.Root.Lookup(path.Join(c.bundle, bundle.RootfsDir, c.dst)); err != nil {
			t.Errorf("%s: no mount point %s in the rootfs: %v", c.bundle, c.dst, err)
		}
	}
	if n, err := img.Root.Lookup("containers/volumes/seeded/seed.txt"); err != nil || string(n.Data) != "seed\n" {
		t.Errorf("seeded volume does not hold its image's files: %v", err)
	}
	if n, err := img.Root.Lookup("containers/volumes/scratch"); err != nil || !n.IsDir() {
		t.Errorf("scratch volume is not a directory: %v", err)
	}
}

func TestAssembleRefusesAReadWriteBindOfAReadonlyVolumeFromALabel(t *testing.T) {
	imgs := volumeImages(t)
	imgs["amd64"]["example/rw:1"] = testImage(t, []string{"/bin/tool"}, `{"binds":["seeded:/seeded:rw"]}`, ent{name: "bin/tool", mode: 0o755, data: "tool"})
	_, err := assembleText(t, imgs, `
services:
  - name: rw
    image: example/rw:1
volumes:
  - name: seeded
    readonly: true
`)
	if err == nil || !strings.Contains(err.Error(), "vol.yml:2: ") || !strings.Contains(err.Error(), `volume "seeded" is read-only`) {
		t.Errorf("error = %v, want one at vol.yml:2 naming the read-only volume", err)
	}
}

// ociLayout reads the OCI layout of the volume: its index and whether every blob its
// manifests name is there.
func ociLayout(t *testing.T, img *Image, vol string) v1.IndexManifest {
	t.Helper()
	dir := path.Join(bundle.VolumesDir, vol)
	if n, err := img.Root.Lookup(path.Join(dir, "oci-layout")); err != nil || !strings.Contains(string(n.Data), "imageLayoutVersion") {
		t.Fatalf("volume %s has no oci-layout file: %v", vol, err)
	}
	n, err := img.Root.Lookup(path.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("volume %s has no index.json: %v", vol, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(n.Data, &idx); err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		m, err := img.Root.Lookup(path.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
		if err != nil {
			t.Fatalf("manifest %s is not in the layout: %v", d.Digest, err)
		}
		mf, err := v1.ParseManifest(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range append(mf.Layers, mf.Config) {
			if _, err := img.Root.Lookup(path.Join(dir, "blobs", l.Digest.Algorithm, l.Digest.Hex)); err != nil {
				t.Errorf("blob %s of manifest %s is not in the layout", l.Digest, d.Digest)
			}
		}
	}
	return idx
}

func TestAssembleWritesAnOCIFormatVolumeAsAnImageLayoutForTheTargetArch(t *testing.T) {
	img, err := assembleText(t, volumeImages(t), `
volumes:
  - name: layout
    image: example/data:1
    format: oci
`)
	if err != nil {
		t.Fatal(err)
	}
	idx := ociLayout(t, img, "layout")
	if len(idx.Manifests) != 1 || idx.Manifests[0].Platform == nil || idx.Manifests[0].Platform.Architecture != "amd64" {
		t.Fatalf("index manifests = %+v, want one for amd64", idx.Manifests)
	}
	if got := idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != "example/data:1" {
		t.Errorf("ref annotation = %q", got)
	}
	if _, err := img.Root.Lookup("containers/volumes/layout/seed.txt"); err == nil {
		t.Error("an oci-format volume also holds the unpacked image")
	}
	for _, s := range img.Sources {
		if s.Ref == "example/data:1" && s.Tree == nil {
			t.Error("source without a tree")
		}
	}
}

func TestAssembleWritesEachPlatformOfAnOCIFormatVolume(t *testing.T) {
	imgs := volumeImages(t)
	img, err := assembleText(t, imgs, `
volumes:
  - name: layout
    image: example/data:1
    format: oci
    platforms: [linux/arm64, linux/amd64]
`)
	if err != nil {
		t.Fatal(err)
	}
	var arches []string
	for _, d := range ociLayout(t, img, "layout").Manifests {
		arches = append(arches, d.Platform.Architecture)
	}
	if strings.Join(arches, ",") != "arm64,amd64" {
		t.Errorf("layout platforms = %v, want arm64,amd64 in the YAML's order", arches)
	}

	// An image the registry lacks for a platform names the volume and platform.
	delete(imgs["arm64"], "example/data:1")
	_, err = assembleText(t, imgs, `
volumes:
  - name: layout
    image: example/data:1
    format: oci
    platforms: [linux/arm64]
`)
	if err == nil || !strings.Contains(err.Error(), `vol.yml:2: volume "layout": image "example/data:1" for linux/arm64`) {
		t.Errorf("error = %v", err)
	}
}

func TestAssembleOCIFormatVolumeIsReproducible(t *testing.T) {
	yml := `
volumes:
  - name: layout
    image: example/data:1
    format: oci
`
	var listings []string
	for range 2 {
		img, err := assembleText(t, volumeImages(t), yml)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		err = img.Root.Walk(func(p string, n *tree.Node) error {
			fmt.Fprintf(&b, "%s %v %d %d %s %x\n", p, n.Mode, n.UID, n.GID, n.ModTime.UTC(), n.Data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		listings = append(listings, b.String())
	}
	if listings[0] != listings[1] {
		t.Error("two assemblies of an oci-format volume differ")
	}
	if !strings.Contains(listings[0], "containers/volumes/layout/index.json -rw-r--r-- 0 0 "+epoch.UTC().String()) {
		t.Errorf("index.json is not 0644 root-owned at the epoch:\n%s", listings[0])
	}
}
