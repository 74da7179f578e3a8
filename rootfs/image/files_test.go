package image

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeLayout writes an OCI layout holding the image "single" (amd64, id "single") and the
// index "multi" (amd64 and arm64).
func writeLayout(t *testing.T, dir string) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(testImage(t, "amd64", "single"), layout.WithAnnotations(map[string]string{RefNameAnnotation: "single"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(testIndex(t, "amd64", "arm64"), layout.WithAnnotations(map[string]string{RefNameAnnotation: "example.com/keel/multi:v2"})); err != nil {
		t.Fatal(err)
	}
}

func TestResolveOCILayoutDirectoryByTag(t *testing.T) {
	dir := t.TempDir()
	writeLayout(t, dir)
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	if got := idOf(t, resolve(t, r, "oci:"+dir+":single", "amd64")); got != "single" {
		t.Errorf("single: %q", got)
	}
	// A full reference annotation answers to its tag and to the reference itself.
	for _, tag := range []string{"v2", "example.com/keel/multi:v2"} {
		if got := idOf(t, resolve(t, r, "oci:"+dir+":"+tag, "arm64")); got != "arm64" {
			t.Errorf("%s arm64: %q", tag, got)
		}
	}
	_, err := r.Resolve(context.Background(), "oci:"+dir+":nope", "amd64")
	if err == nil || !strings.Contains(err.Error(), `no image named "nope"`) || !strings.Contains(err.Error(), "single") {
		t.Errorf("unknown tag: %v", err)
	}
	_, err = r.Resolve(context.Background(), "oci:"+dir+":single", "arm64")
	if err == nil || !strings.Contains(err.Error(), "linux/amd64") || !strings.Contains(err.Error(), "arm64") {
		t.Errorf("wrong arch: %v", err)
	}
}

func TestResolveOCILayoutDirectoryByPathWithOneImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(testIndex(t, "amd64", "arm64")); err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	for _, ref := range []string{dir, "oci:" + dir} {
		if got := idOf(t, resolve(t, r, ref, "arm64")); got != "arm64" {
			t.Errorf("%s: %q", ref, got)
		}
	}
	// A relative path works too.
	t.Chdir(filepath.Dir(dir))
	if got := idOf(t, resolve(t, r, "./img", "amd64")); got != "amd64" {
		t.Errorf("./img: %q", got)
	}
}

func TestResolveOCILayoutWithSeveralImagesNeedsATag(t *testing.T) {
	dir := t.TempDir()
	writeLayout(t, dir)
	_, err := newResolver(t, t.TempDir()).Resolve(context.Background(), dir, "amd64")
	if err == nil || !strings.Contains(err.Error(), "oci:PATH:TAG") {
		t.Errorf("err = %v", err)
	}
}

func TestResolveDockerSaveTarball(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.tar")
	tag, _ := name.NewTag("keel/app:1")
	if err := tarball.WriteToFile(p, tag, testImage(t, "arm64", "saved")); err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	for _, ref := range []string{p, "docker-archive:" + p, "docker-archive:" + p + ":keel/app:1"} {
		if got := idOf(t, resolve(t, r, ref, "arm64")); got != "saved" {
			t.Errorf("%s: %q", ref, got)
		}
	}
	_, err := r.Resolve(context.Background(), p, "amd64")
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") || !strings.Contains(err.Error(), "amd64") {
		t.Errorf("wrong arch: %v", err)
	}
	if _, err := r.Resolve(context.Background(), "oci-archive:"+p, "arm64"); err == nil || !strings.Contains(err.Error(), "not an OCI archive") {
		t.Errorf("oci-archive of a docker archive: %v", err)
	}
}

// tarDir writes the files below dir into a tar file at p, names prefixed with "./" as
// `tar -C dir -cf p .` writes them.
func tarDir(t *testing.T, dir, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fi, _ := d.Info()
		h, _ := tar.FileInfoHeader(fi, "")
		h.Name = "./" + filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			src, err := os.Open(path)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestResolveOCIArchiveTarball(t *testing.T) {
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "layout"))
	p := filepath.Join(dir, "images.tar")
	tarDir(t, filepath.Join(dir, "layout"), p)
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	if got := idOf(t, resolve(t, r, "oci-archive:"+p+":v2", "arm64")); got != "arm64" {
		t.Errorf("multi: %q", got)
	}
	if got := idOf(t, resolve(t, r, "oci-archive:"+p+":single", "amd64")); got != "single" {
		t.Errorf("single: %q", got)
	}
	// Plain PATH.tar holding several images needs a tag.
	if _, err := r.Resolve(context.Background(), p, "amd64"); err == nil || !strings.Contains(err.Error(), "oci:PATH:TAG") {
		t.Errorf("untagged: %v", err)
	}
}

func TestResolveFileRefErrorsNameTheProblem(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.Offline = true })
	empty := t.TempDir()
	notTar := filepath.Join(empty, "x.tar")
	os.WriteFile(notTar, []byte("this is not a tar file, just some text that is long enough"), 0o644)
	for ref, want := range map[string]string{
		"./does-not-exist.tar":     "no such file",
		"/does/not/exist":          "no such file",
		"oci:/does/not/exist":      "no OCI layout directory at /does/not/exist",
		"oci:" + empty:             "index.json",
		empty:                      "not an OCI image layout",
		notTar:                     notTar,
		"docker-archive:" + notTar: notTar,
	} {
		_, err := r.Resolve(context.Background(), ref, "amd64")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `image "`+ref+`"`) {
			t.Errorf("%s: err = %v, want it to mention %q", ref, err, want)
		}
	}
}
