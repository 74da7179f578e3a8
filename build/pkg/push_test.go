package pkg

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestBuildPushesToRegistryAndPullsBack(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/keel/hello:dev"
	if !strings.HasPrefix(ref, "127.0.0.1:") {
		t.Fatalf("test registry at %s, want 127.0.0.1", ref)
	}

	_, img := buildHello(t, Options{Arch: "amd64"})
	if err := PushAll(context.Background(), ref, []Built{{Arch: "amd64", Image: img}}, false); err != nil {
		t.Fatal(err)
	}

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(r, remote.WithContext(context.Background()))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	got, err := pulled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("pulled digest %s, pushed %s", got, want)
	}
	cf, err := pulled.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels[ConfigLabel] == "" {
		t.Errorf("pulled image lacks label %s", ConfigLabel)
	}
	_, entries := readLayer(t, pulled)
	if string(entries["etc/motd"].data) != "hello\n" {
		t.Errorf("pulled etc/motd = %q", entries["etc/motd"].data)
	}
}

func TestInsecurePushToALoopbackRegistryWorks(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/keel/x:dev"
	if err := Push(context.Background(), ref, empty.Image, true); err != nil {
		t.Fatal(err)
	}
}

func TestPushNamesRefOnFailure(t *testing.T) {
	_, img := buildHello(t, Options{Arch: "amd64"})
	srv := httptest.NewServer(nil) // 404 for everything
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/keel/x:dev"
	if err := Push(context.Background(), ref, img, false); err == nil || !strings.Contains(err.Error(), "push "+ref) {
		t.Errorf("err = %v, want it to name %s", err, ref)
	}
}

// A private-range registry gets HTTPS only, as on a pull, though go-containerregistry would
// fall back to plain HTTP (with the credentials) for it; --insecure allows plain HTTP. The
// requests are recorded, never sent.
func TestPushToAPrivateRangeRegistryUsesHTTPSUnlessInsecure(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		var rec recordingTransport
		r, opts, err := pushTarget(context.Background(), "10.0.0.1:5000/keel/x:dev", insecure, &rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, empty.Image, opts...); err == nil {
			t.Fatalf("insecure=%v: push through a transport that sends nothing succeeded", insecure)
		}
		urls := rec.sent()
		if len(urls) == 0 {
			t.Fatalf("insecure=%v: no request", insecure)
		}
		plain := false
		for _, u := range urls {
			if !strings.HasPrefix(u, "https://10.0.0.1:5000/") && !strings.HasPrefix(u, "http://10.0.0.1:5000/") {
				t.Errorf("insecure=%v: request to %s", insecure, u)
			}
			plain = plain || strings.HasPrefix(u, "http:")
		}
		if plain != insecure {
			t.Errorf("insecure=%v: requests %q: plain HTTP %v, want %v", insecure, urls, plain, insecure)
		}
	}
}

// recordingTransport records the URLs of the requests it is given and sends none.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.urls = append(t.urls, req.URL.String())
	return nil, errors.New("not sent")
}

func (t *recordingTransport) sent() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.urls)
}

func TestBuildImportPathBinaryUsesModuleDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "build.yml"), `image: keel/imp
binaries:
  - package: github.com/keel-os/keel/build/pkg/testdata/hello/cmd/hello
    path: /bin/hello
`)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	moduleDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	_, img, err := p.Build(context.Background(), Options{Arch: "amd64", ModuleDir: moduleDir})
	if err != nil {
		t.Fatal(err)
	}
	_, entries := readLayer(t, img)
	if len(entries["bin/hello"].data) == 0 {
		t.Errorf("bin/hello missing or empty")
	}
}
