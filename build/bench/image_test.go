package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/image"
)

func TestAppendCmdlineAddsOnlyMissingWords(t *testing.T) {
	got := appendCmdline("console=ttyS0 quiet", "panic=10", "quiet")
	if got != "console=ttyS0 quiet panic=10" {
		t.Errorf("got %q", got)
	}
	if got := appendCmdline("", "panic=10", "quiet"); got != "panic=10 quiet" {
		t.Errorf("empty line: got %q", got)
	}
}

func TestImageRefsVisitsKernelInitContainersAndVolumes(t *testing.T) {
	cfg, err := spec.Parse(spec.Source{Name: "t.yml", Data: []byte(`
kernel:
  image: keel/kernel:dev
init:
  - keel/init:dev
onboot:
  - name: a
    image: keel/a:1
services:
  - name: b
    image: keel/b:1
volumes:
  - name: v
    image: keel/v:1
`)})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	if err := imageRefs(cfg, func(ref string) (string, error) {
		seen = append(seen, ref)
		return "127.0.0.1:5000/" + ref, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 {
		t.Errorf("visited %q, want 5 references", seen)
	}
	if cfg.Kernel.Image != "127.0.0.1:5000/keel/kernel:dev" || cfg.Services[0].Image != "127.0.0.1:5000/keel/b:1" ||
		cfg.Volumes[0].Image != "127.0.0.1:5000/keel/v:1" {
		t.Errorf("references not rewritten: %+v", cfg)
	}
}

func TestMirrorServesAStoreImageFromTheLocalRegistry(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	s, err := image.OpenStore(filepath.Join(src, "store"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("keel/test:dev", img); err != nil {
		t.Fatal(err)
	}
	reg, err := startRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	from, err := image.NewResolver(image.Options{CacheDir: src, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	ref, err := reg.mirror(ctx, from, "keel/test:dev", cf.Architecture)
	if err != nil {
		t.Fatal(err)
	}
	if ref != reg.Host+"/keel/test:dev" {
		t.Errorf("mirrored as %q", ref)
	}
	to, err := image.NewResolver(image.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := to.Resolve(ctx, ref, cf.Architecture)
	if err != nil {
		t.Fatal(err)
	}
	gd, _ := got.Digest()
	wd, _ := img.Digest()
	if gd != wd {
		t.Errorf("pulled digest %s, want %s", gd, wd)
	}
}

func TestFindModuleWalksUpToKeelsGoMod(t *testing.T) {
	dir, err := FindModule(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "build", "bench", "floor", "main.go")); err != nil {
		t.Errorf("module dir %s lacks the floor: %v", dir, err)
	}
	if _, err := FindModule(t.TempDir()); err == nil {
		t.Error("FindModule found Keel's go.mod outside the tree")
	}
}
