package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/zstd"
)

// tarLayer makes a layer of regular files (path → contents).
func tarLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o755, Size: int64(len(files[p])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, files[p])
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// testImage builds an amd64 image with files, an entrypoint and an optional label.
func testImage(t *testing.T, files map[string]string, entrypoint []string, label string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, tarLayer(t, files))
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
	if label != "" {
		cf.Config.Labels = map[string]string{"org.mobyproject.config": label}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func modulesTar(t *testing.T) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "kernel/drivers/x.ko:\n"
	tw.WriteHeader(&tar.Header{Name: "lib/modules/6.1.0-keel/modules.dep", Mode: 0o644, Size: int64(len(body))})
	io.WriteString(tw, body)
	tw.Close()
	return buf.String()
}

// registryWithImages serves a registry on 127.0.0.1 holding a kernel, an init and a service image.
func registryWithImages(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	host := strings.TrimPrefix(srv.URL, "http://")
	push := func(repo string, img v1.Image) {
		ref, err := name.ParseReference(host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	push("keel/kernel:1", testImage(t, map[string]string{"kernel": "not really a bzImage", "kernel.tar": modulesTar(t)}, nil, ""))
	push("keel/init:1", testImage(t, map[string]string{"init": "pid one", "usr/bin/runc": "runc"}, nil, ""))
	push("keel/svc:1", testImage(t, map[string]string{"usr/bin/svc": "svc"}, []string{"/usr/bin/svc"},
		`{"binds": ["/var/log:/var/log"], "capabilities": ["CAP_NET_ADMIN"]}`))
	return srv, host
}

func writeYAML(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func keel(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// initrdFiles reads a zstd newc initrd into path → contents (regular files).
func initrdFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]string{}
	r := cpio.NewReader(zr)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		files[h.Name] = string(data)
	}
	return files
}

func TestBuildFromRegistryThenFromCacheWithRegistryStoppedGivesIdenticalOutputs(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	srv, host := registryWithImages(t)
	dir, cache := t.TempDir(), t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf(`kernel:
  image: %[1]s/keel/kernel:1
  cmdline: console=ttyS0
init:
  - %[1]s/keel/init:1
onboot:
  - name: first
    image: %[1]s/keel/svc:1
services:
  - name: svc
    image: %[1]s/keel/svc:1
    capabilities.add: [CAP_SYS_TIME]
files:
  - path: etc/motd
    contents: hello
`, host))
	out1, out2 := filepath.Join(dir, "out1"), filepath.Join(dir, "out2")
	if code, _, stderr := keel(t, "build", "--cache", cache, "-o", out1, yml); code != 0 {
		t.Fatalf("first build: exit %d: %s", code, stderr)
	}
	srv.Close()
	if code, _, stderr := keel(t, "build", "--cache", cache, "-o", out2, yml); code != 0 {
		t.Fatalf("build with the registry stopped: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"m-kernel", "m-initrd.img", "m-cmdline"} {
		a, err1 := os.ReadFile(filepath.Join(out1, f))
		b, err2 := os.ReadFile(filepath.Join(out2, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same inputs", f)
		}
	}
	files := initrdFiles(t, filepath.Join(out1, "m-initrd.img"))
	for p, want := range map[string]string{
		"init": "pid one", "usr/bin/runc": "runc", "etc/motd": "hello",
		"lib/modules/6.1.0-keel/modules.dep":             "kernel/drivers/x.ko:\n",
		"containers/services/svc/rootfs/usr/bin/svc":     "svc",
		"containers/onboot/000-first/rootfs/usr/bin/svc": "svc",
	} {
		if files[p] != want {
			t.Errorf("initrd %s = %q, want %q", p, files[p], want)
		}
	}
	var spec struct {
		Process struct {
			Args         []string
			Capabilities struct{ Bounding []string }
		}
		Mounts []struct{ Destination, Source string }
	}
	if err := json.Unmarshal([]byte(files["containers/services/svc/config.json"]), &spec); err != nil {
		t.Fatalf("services/svc/config.json: %v", err)
	}
	if strings.Join(spec.Process.Args, " ") != "/usr/bin/svc" {
		t.Errorf("args = %v", spec.Process.Args)
	}
	if caps := strings.Join(spec.Process.Capabilities.Bounding, ","); caps != "CAP_NET_ADMIN,CAP_SYS_TIME" {
		t.Errorf("capabilities = %s, want the label's plus capabilities.add", caps)
	}
	found := false
	for _, m := range spec.Mounts {
		found = found || m.Destination == "/var/log" && m.Source == "/var/log"
	}
	if !found {
		t.Errorf("the label's bind is missing: %+v", spec.Mounts)
	}
	if _, ok := files["containers/services/svc/rootfs/var/log"]; !ok {
		t.Errorf("no mount point for the bind in the read-only rootfs")
	}
	if cmdline, _ := os.ReadFile(filepath.Join(out1, "m-cmdline")); string(cmdline) != "console=ttyS0\n" {
		t.Errorf("cmdline = %q", cmdline)
	}
}

func TestBuildErrorsNameFileAndLineAndLeaveNoOutput(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir, cache := t.TempDir(), t.TempDir()
	cases := map[string]struct{ yml, want string }{
		"typo'd key":        {fmt.Sprintf("init:\n  - %s/keel/init:1\nservices:\n  - name: a\n    image: %s/keel/svc:1\n    comand: [x]\n", host, host), "bad.yml:6"},
		"wrong type":        {fmt.Sprintf("init:\n  - %s/keel/init:1\nservices:\n  - name: a\n    image: %s/keel/svc:1\n    readonly: \"yes please\"\n", host, host), "bad.yml:6"},
		"duplicate service": {fmt.Sprintf("services:\n  - name: a\n    image: %s/keel/svc:1\n  - name: a\n    image: %s/keel/svc:1\n", host, host), "bad.yml:4"},
		"missing image":     {fmt.Sprintf("kernel:\n  image: %s/keel/kernel:1\ninit:\n  - %s/keel/init:1\nservices:\n  - name: a\n    image: %s/keel/nothere:1\n", host, host, host), "bad.yml:6"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			yml := writeYAML(t, dir, "bad.yml", c.yml)
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(name, " ", "-"))
			code, _, stderr := keel(t, "build", "--cache", cache, "-o", out, yml)
			if code == 0 {
				t.Fatal("build succeeded")
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("error %q does not name %s", stderr, c.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("failed build left %d files in %s", len(entries), out)
			}
		})
	}
}

func TestBuildWritesTarAndGzipInitrdWhenAsked(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir, cache := t.TempDir(), t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf("kernel:\n  image: %[1]s/keel/kernel:1\ninit:\n  - %[1]s/keel/init:1\nservices:\n  - name: svc\n    image: %[1]s/keel/svc:1\n", host))
	out := filepath.Join(dir, "out")
	if code, _, stderr := keel(t, "build", "--cache", cache, "-o", out, "--name", "n", "--format", "kernel+initrd,tar", "--compress", "gzip", yml); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	initrd, err := os.ReadFile(filepath.Join(out, "n-initrd.img"))
	if err != nil || len(initrd) < 2 || initrd[0] != 0x1f || initrd[1] != 0x8b {
		t.Fatalf("n-initrd.img is not gzip: %v", err)
	}
	f, err := os.Open(filepath.Join(out, "n.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		found[strings.TrimPrefix(h.Name, "./")] = true
	}
	for _, p := range []string{"init", "containers/services/svc/config.json", "containers/services/svc/rootfs/usr/bin/svc", "dev/console"} {
		if !found[p] {
			t.Errorf("n.tar lacks %s", p)
		}
	}
}

func TestBuildRejectsAfterCycleWithFileAndLineBeforePullingAndLeavesNoOutput(t *testing.T) {
	srv, host := registryWithImages(t)
	// Stopped: the cycle must be reported from the YAML alone, before any image is pulled.
	srv.Close()
	dir, cache := t.TempDir(), t.TempDir()
	yml := writeYAML(t, dir, "cycle.yml", fmt.Sprintf(`kernel:
  image: %[1]s/keel/kernel:1
init:
  - %[1]s/keel/init:1
services:
  - name: a
    image: %[1]s/keel/svc:1
    after: [b]
  - name: b
    image: %[1]s/keel/svc:1
    after: [a]
`, host))
	out := filepath.Join(dir, "out")
	code, _, stderr := keel(t, "build", "--cache", cache, "-o", out, yml)
	if code == 0 {
		t.Fatal("build succeeded")
	}
	if want := yml + `:8: services[0] "a": after: cycle a → b → a`; !strings.Contains(stderr, want) {
		t.Errorf("error %q does not contain %q", stderr, want)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("failed build left %d files in %s", len(entries), out)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("failed build wrote %d entries to the cache %s", len(entries), cache)
	}
}

func TestBuildRefusesAnUnknownOrArchUnsupportedFormatBeforePulling(t *testing.T) {
	srv, host := registryWithImages(t)
	srv.Close() // any pull would fail with another error
	dir, cache := t.TempDir(), t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf("kernel:\n  image: %[1]s/keel/kernel:1\ninit:\n  - %[1]s/keel/init:1\n", host))
	for _, tc := range []struct {
		arch, formats, want string
	}{
		{"amd64", "kernel+initrd,rawefi", `unknown format "rawefi"`},
		{"s390x", "tar,raw-efi", "s390x builds kernel+initrd, kernel+squashfs and tar"},
		{"arm64", "iso-bios", "PC BIOS"},
		{"amd64", "uki --size 1G", "none of the formats uki is a disk"},
		{"amd64", "raw-efi --size 1000", "multiple of 512"},
		{"s390x", "kernel+squashfs --squashfs-compress xz", "--squashfs-compress: unknown squashfs compression \"xz\""},
	} {
		out := filepath.Join(dir, "out-"+tc.arch)
		formats, flag, _ := strings.Cut(tc.formats, " --")
		args := []string{"build", "--cache", cache, "-o", out, "--arch", tc.arch, "--format", formats}
		if flag != "" {
			args = append(args, strings.Fields("--"+flag)...)
		}
		code, _, stderr := keel(t, append(args, yml)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--arch %s --format %s: exit %d, %q; want an error with %q", tc.arch, tc.formats, code, stderr, tc.want)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("failed build left %d files in %s", len(entries), out)
		}
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("a refused build wrote %d entries to the cache", len(entries))
	}
}
