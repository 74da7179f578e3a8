package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/keel-os/keel/rootfs/image"
)

// storeImages puts images into the local store of the cache directory, as keel pkg build does.
func storeImages(t *testing.T, cache string, imgs map[string]v1.Image) {
	t.Helper()
	r, err := image.NewResolver(image.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	for ref, img := range imgs {
		if err := r.Store().PutPlatform(ref, img); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValidateReportsEveryProblemOnItsOwnFileLineAndExitsNonZero(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	a := writeYAML(t, dir, "a.yml", `onboot:
  - name: mkdir
    image: alpine:3.20
    readonly: maybe
services:
  - name: web
    image: nginx:1.27
    binds:
      - data:/srv
`)
	b := writeYAML(t, dir, "b.yml", `services:
  - name: web
    image: nginx:1.27
`)
	code, stdout, stderr := keel(t, "validate", "--cache", cache, a, b)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout %q stderr %q", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i, want := range []string{a + ":4: ", a + ":6: ", b + ":2: "} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Errorf("stderr line %d should start with %q:\n%s", i+1, want, stderr)
		}
	}
	if len(lines) != 3 {
		t.Errorf("want 3 problems, one a line:\n%s", stderr)
	}
}

func TestValidateChecksStoredImagesLabelsAndListsOthersAsNotChecked(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	storeImages(t, cache, map[string]v1.Image{
		"keel/writer:dev": testImage(t, map[string]string{"bin/w": "w"}, []string{"/bin/w"}, `{"binds": ["shared:/shared:rw"]}`),
		"keel/reader:dev": testImage(t, map[string]string{"bin/r": "r"}, []string{"/bin/r"}, `{"binds": ["shared:/shared"]}`),
	})
	yml := writeYAML(t, dir, "m.yml", `onboot:
  - name: reader
    image: keel/reader:dev
services:
  - name: writer
    image: keel/writer:dev
  - name: elsewhere
    image: registry.example/nowhere:1
volumes:
  - name: shared
    readonly: true
`)
	code, stdout, stderr := keel(t, "validate", "--arch", "amd64", "--cache", cache, yml)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout %q stderr %q", code, stdout, stderr)
	}
	if want := yml + `:5: services "writer": bind "shared:/shared:rw": volume "shared" is read-only`; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr = %q, want it to start with %q", stderr, want)
	}
	if strings.Contains(stderr, "reader") {
		t.Errorf("the reader's label is fine, yet: %s", stderr)
	}
	if want := yml + `:7: not checked: image "registry.example/nowhere:1" is not in the local store or registry cache`; !strings.Contains(stdout, want) {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if !strings.Contains(stdout, "2 images checked, 1 not checked, 1 problems") {
		t.Errorf("stdout = %q, want the counts", stdout)
	}
}

func TestValidateResolvesPkgRefsAgainstTheStoreAndNamesTheBuildCommand(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	pkgDir := filepath.Join(dir, "services", "getty")
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeYAML(t, pkgDir, "build.yml", "image: keel/testgetty\nentrypoint: [/bin/getty]\n")
	yml := writeYAML(t, dir, "m.yml", `services:
  - name: getty
    image: "@pkg:./services/getty"
`)
	code, stdout, stderr := keel(t, "validate", "--arch", "amd64", "--cache", cache, yml)
	if code != 1 {
		t.Fatalf("exit %d before the package is built; stdout %q", code, stdout)
	}
	for _, want := range []string{yml + `:3: services[0] "getty": image: @pkg:./services/getty: image keel/testgetty:dev is not built for amd64`,
		`run "keel pkg build --arch amd64 ` + pkgDir + `" first`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want %q", stderr, want)
		}
	}

	storeImages(t, cache, map[string]v1.Image{"keel/testgetty:dev": testImage(t, map[string]string{"bin/getty": "g"}, []string{"/bin/getty"}, "")})
	code, stdout, stderr = keel(t, "validate", "--arch", "amd64", "--cache", cache, yml)
	if code != 0 || !strings.Contains(stdout, "1 images checked, 0 not checked, 0 problems") {
		t.Errorf("once built: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestValidateWithoutFilesPrintsUsage(t *testing.T) {
	if code, _, stderr := keel(t, "validate"); code != 2 || !strings.Contains(stderr, "usage: keel validate") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestBuildTakesAPkgRefFromTheStoreAndRefusesOneNotBuiltYet(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir, cache := t.TempDir(), t.TempDir()
	for _, p := range []string{"init", "missing"} {
		if err := os.MkdirAll(filepath.Join(dir, "pkg", p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeYAML(t, filepath.Join(dir, "pkg", p), "build.yml", "image: keel/test"+p+"\ntag: v2\n")
	}
	storeImages(t, cache, map[string]v1.Image{"keel/testinit:v2": testImage(t, map[string]string{"sbin/init": "pid one"}, nil, "")})
	yml := writeYAML(t, dir, "m.yml", "init:\n  - \"@pkg:pkg/init\"\n")
	out := filepath.Join(dir, "out")
	if code, _, stderr := keel(t, "build", "--arch", "amd64", "--cache", cache, "--offline", "--format", "tar", "-o", out, yml); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "m.tar"))
	if err != nil || !strings.Contains(string(data), "pid one") {
		t.Errorf("the tar does not hold the package's init: %v", err)
	}

	missing := writeYAML(t, dir, "missing.yml", "init:\n  - \"@pkg:pkg/missing\"\n")
	code, _, stderr := keel(t, "build", "--arch", "amd64", "--cache", cache, "--offline", "--format", "tar", "-o", out, missing)
	if code != 1 || !strings.Contains(stderr, missing+`:2: init[0]: @pkg:pkg/missing: image keel/testmissing:v2 is not built for amd64`) ||
		!strings.Contains(stderr, `run "keel pkg build --arch amd64 `+filepath.Join(dir, "pkg", "missing")+`" first`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestValidateStillChecksTheOtherImagesWhenAPackageIsNotBuilt(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeYAML(t, filepath.Join(dir, "pkg"), "build.yml", "image: keel/testunbuilt\n")
	storeImages(t, cache, map[string]v1.Image{
		"keel/other:dev": testImage(t, map[string]string{"bin/o": "o"}, []string{"/bin/o"}, `{"binds": ["nowhere:/x"]}`),
	})
	yml := writeYAML(t, dir, "m.yml", `onboot:
  - name: unbuilt
    image: "@pkg:pkg"
  - name: other
    image: keel/other:dev
`)
	code, stdout, stderr := keel(t, "validate", "--arch", "amd64", "--cache", cache, yml)
	if code != 1 {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{yml + `:3: onboot[0] "unbuilt": image: @pkg:pkg: image keel/testunbuilt:dev is not built`,
		yml + `:4: onboot "other": bind "nowhere:/x": no volume named "nowhere" in volumes`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want %q", stderr, want)
		}
	}
	if !strings.Contains(stdout, "1 images checked, 0 not checked, 2 problems") {
		t.Errorf("stdout = %q", stdout)
	}
}
