package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/image"
	"gopkg.in/yaml.v3"
)

// BuildTimes are how long `keel build` of the benchmarked YAML takes, in seconds, over
// Runs rounds of the three builds.
type BuildTimes struct {
	Runs int `json:"runs"`
	// Store: images in the local store, as `make image` builds.
	Store Stat `json:"store_s"`
	// Cold: an empty cache; every image pulled from a registry on 127.0.0.1.
	Cold Stat `json:"cold_s"`
	// Warm: the same again, the cache filled by the cold build.
	Warm Stat `json:"warm_s"`
	// Registry is the local registry's address the cold and warm builds pulled from.
	Registry string `json:"registry"`
	// OtherQEMUs are QEMU processes (not the benchmark's) seen running during the builds.
	OtherQEMUs []int `json:"other_qemus,omitempty"`
}

// measureBuilds times rounds rounds of three builds of base: from the local store; cold,
// from a fresh cache and a registry on 127.0.0.1 holding copies of the images (never the
// network); and warm, again with the cache the cold build filled. Builds write into work,
// which is removed.
func measureBuilds(ctx context.Context, base buildOptions, work string, rounds int, logf func(string, ...any)) (BuildTimes, error) {
	files, arch, cacheDir := base.Files, base.Arch, base.CacheDir
	bt := BuildTimes{Runs: rounds}
	cfg, err := spec.ParseFile(files...)
	if err != nil {
		return bt, err
	}
	reg, err := startRegistry()
	if err != nil {
		return bt, err
	}
	defer reg.Close()
	bt.Registry = reg.Host
	src, err := image.NewResolver(image.Options{CacheDir: cacheDir, Offline: true})
	if err != nil {
		return bt, err
	}
	mirrored := map[string]string{}
	if err := imageRefs(cfg, func(ref string) (string, error) {
		if to, ok := mirrored[ref]; ok {
			return to, nil
		}
		to, err := reg.mirror(ctx, src, ref, arch)
		if err != nil {
			return "", err
		}
		logf("mirrored %s → %s", ref, to)
		mirrored[ref] = to
		return to, nil
	}); err != nil {
		return bt, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return bt, fmt.Errorf("build times: %w", err)
	}
	defer os.RemoveAll(work)
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return bt, fmt.Errorf("build times: write the registry YAML: %w", err)
	}
	yml := filepath.Join(work, "registry.yml")
	if err := os.WriteFile(yml, data, 0o644); err != nil {
		return bt, fmt.Errorf("build times: %w", err)
	}
	var store, cold, warm []float64
	for i := 1; i <= rounds; i++ {
		cache, err := os.MkdirTemp(work, "cache-")
		if err != nil {
			return bt, fmt.Errorf("build times: %w", err)
		}
		for _, b := range []struct {
			name  string
			files []string
			cache string
			dst   *[]float64
		}{
			{"store", files, cacheDir, &store},
			{"cold", []string{yml}, cache, &cold},
			{"warm", []string{yml}, cache, &warm},
		} {
			out := filepath.Join(work, b.name)
			img, err := buildImage(ctx, buildOptions{
				Files: b.files, Arch: arch, Dir: out, Name: "keel", CacheDir: b.cache, Compression: base.Compression,
			})
			if err != nil {
				return bt, fmt.Errorf("%s build: %w", b.name, err)
			}
			*b.dst = append(*b.dst, img.Elapsed.Seconds())
			logf("build %d/%d %s: %.2f s", i, rounds, b.name, img.Elapsed.Seconds())
			if err := os.RemoveAll(out); err != nil {
				return bt, fmt.Errorf("build times: %w", err)
			}
		}
		if err := os.RemoveAll(cache); err != nil {
			return bt, fmt.Errorf("build times: %w", err)
		}
	}
	bt.Store, bt.Cold, bt.Warm = Summarize(store), Summarize(cold), Summarize(warm)
	return bt, nil
}
