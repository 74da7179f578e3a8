// Package cacertificates holds the test of the keel/ca-certificates package: it builds the
// image from build.yml and checks the bundle is what TLS clients can load.
package cacertificates

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os/exec"
	"testing"

	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/rootfs/image"
)

// files returns the image's files (regular files' contents, symlinks' targets) by path.
func files(t *testing.T, arch string) (map[string]string, string) {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("no apt-get: the bundle comes from Debian's package")
	}
	cache, err := image.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pkg.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	_, img, err := p.Build(context.Background(), pkg.Options{Arch: arch, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out["/"+h.Name] = string(data)
		case tar.TypeSymlink:
			out["/"+h.Name] = "-> " + h.Linkname
		}
	}
	return out, digest.String()
}

func TestBundleIsPEMWithOverAHundredCACertificates(t *testing.T) {
	f, _ := files(t, "amd64")
	bundle := []byte(f["/etc/ssl/certs/ca-certificates.crt"])
	n := 0
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				t.Fatalf("%d bytes after certificate %d are not PEM", len(rest), n)
			}
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("block %d is a %s", n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
		if !c.IsCA {
			t.Errorf("certificate %d (%s) is not a CA", n, c.Subject)
		}
		n++
	}
	if n <= 100 {
		t.Errorf("%d certificates, want more than 100", n)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(bundle) {
		t.Error("crypto/x509 took no certificate from the bundle")
	}
	t.Logf("%d certificates, %d bytes", n, len(bundle))
}

func TestBundleIsFoundAtTheUsualPaths(t *testing.T) {
	f, _ := files(t, "amd64")
	for p, want := range map[string]string{
		"/etc/ssl/cert.pem":                "-> certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt": "-> /etc/ssl/certs/ca-certificates.crt",
	} {
		if f[p] != want {
			t.Errorf("%s: %q, want %q", p, f[p], want)
		}
	}
	if f["/usr/share/doc/ca-certificates/copyright"] == "" {
		t.Error("no copyright file")
	}
}

func TestImageIsTheSameForEveryArch(t *testing.T) {
	_, amd64 := files(t, "amd64")
	fa, _ := files(t, "arm64")
	fs, _ := files(t, "s390x")
	f, _ := files(t, "amd64")
	if fa["/etc/ssl/certs/ca-certificates.crt"] != f["/etc/ssl/certs/ca-certificates.crt"] ||
		fs["/etc/ssl/certs/ca-certificates.crt"] != f["/etc/ssl/certs/ca-certificates.crt"] {
		t.Error("the bundle differs between arches")
	}
	if _, again := files(t, "amd64"); again != amd64 {
		t.Errorf("two builds gave %s and %s", amd64, again)
	}
}
