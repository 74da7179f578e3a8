package tree

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func paxRecord(k, v string) string {
	s := fmt.Sprintf(" %s=%s\n", k, v)
	n := len(s) + 1
	for len(fmt.Sprint(n))+len(s) != n {
		n++
	}
	return fmt.Sprint(n) + s
}

// sparseBomb returns an uncompressed layer of a few kilobytes holding, for each name, a
// sparse file of size bytes that is one hole (PAX format 1.0 sparse files, which Go's tar
// writer cannot write).
func sparseBomb(t *testing.T, size int64, names ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, name := range names {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		recs := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
			paxRecord("GNU.sparse.name", name) + paxRecord("GNU.sparse.realsize", fmt.Sprint(size))
		// The extended header is written as a regular file, its type changed to 'x' below.
		if err := tw.WriteHeader(&tar.Header{Name: "PaxHeaders/" + name, Typeflag: tar.TypeReg, Size: int64(len(recs)), Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, recs)
		// The stored data is the sparse map alone: one empty region at the end.
		m := make([]byte, 512)
		copy(m, fmt.Sprintf("1\n%d\n0\n", size))
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 512, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m)
		tw.Flush()
		b := buf.Bytes()
		h := b[:512]
		h[156] = tar.TypeXHeader
		copy(h[148:156], "        ")
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
		out.Write(b)
	}
	out.Write(make([]byte, 1024)) // end of archive
	return out.Bytes()
}

func TestSparseBombIsFilledInByTheTarReader(t *testing.T) {
	// Pins what the limits guard against: 3 KB of layer is a 512 MiB file.
	b := sparseBomb(t, 512<<20, "bomb")
	tr := tar.NewReader(bytes.NewReader(b))
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "bomb" || h.Size != 512<<20 || len(b) > 4096 {
		t.Errorf("%d-byte layer: %q of %d bytes", len(b), h.Name, h.Size)
	}
}

func TestApplyTarRefusesSparseFileOverTheFileLimit(t *testing.T) {
	for _, c := range []struct {
		size int64
		opts []Option
		want string
	}{
		{512 << 20, nil, "file of 512 MiB is over the 256 MiB limit for one file"}, // 3 KB of layer
		{2 << 30, nil, "file of 2 GiB is over the 256 MiB limit for one file"},
		{512 << 20, []Option{MaxFileSize(1 << 20)}, "file of 512 MiB is over the 1 MiB limit for one file"},
	} {
		tr := New()
		err := ApplyTar(tr, bytes.NewReader(sparseBomb(t, c.size, "var/bomb")), c.opts...)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), `"var/bomb"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q naming var/bomb", err, c.want)
		}
		if _, err := tr.Lookup("var/bomb"); err == nil {
			t.Error("bomb added to the tree")
		}
	}
}

func TestApplyTarTakesFilesWithinTheLimits(t *testing.T) {
	tr := New()
	must(t, ApplyTar(tr, bytes.NewReader(sparseBomb(t, 1<<20, "hole")), MaxFileSize(1<<20), MaxImageSize(2<<20)))
	n, err := tr.Lookup("hole")
	if err != nil {
		t.Fatal(err)
	}
	if n.Size() != 1<<20 || bytes.ContainsFunc(n.Data, func(r rune) bool { return r != 0 }) {
		t.Errorf("hole: %d bytes", n.Size())
	}
}

func gzipLayer(t *testing.T, b []byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	l, err := layerFromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestUnpackRefusesLayersTogetherOverTheImageLimit(t *testing.T) {
	lower := gzipLayer(t, sparseBomb(t, 600<<10, "a"))
	upper := gzipLayer(t, sparseBomb(t, 600<<10, "b", "c"))
	img, err := mutate.AppendLayers(empty.Image, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(img, MaxImageSize(1<<21)); err != nil {
		t.Errorf("1.8 MiB of files under a 2 MiB limit: %v", err)
	}
	_, err = Unpack(img, MaxImageSize(1<<20))
	d, _ := upper.Digest()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), `"b"`) || !strings.Contains(err.Error(), "more than 1 MiB") {
		t.Errorf("err = %v, want the upper layer %s and its entry b named", err, d)
	}
}

func TestApplyLayerCountsDataAfterTheEndOfTheArchive(t *testing.T) {
	b := append(layerTar(t, []tar.Header{file("a")}, map[string]string{"a": "x"}), make([]byte, 1<<20)...)
	l := gzipLayer(t, b)
	if err := ApplyLayer(New(), l, MaxImageSize(2<<20)); err != nil {
		t.Errorf("padded layer within the limit: %v", err)
	}
	err := ApplyLayer(New(), l, MaxImageSize(1<<19))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "after the end of the archive") {
		t.Errorf("err = %v", err)
	}
}

func TestApplyLayerReadsTheLayerToItsEnd(t *testing.T) {
	// A verifying reader reports a bad digest only at the end of the layer.
	b := layerTar(t, []tar.Header{file("a")}, map[string]string{"a": "x"})
	l := &failingAtEOF{Layer: gzipLayer(t, b), err: errors.New("digest mismatch")}
	if err := ApplyLayer(New(), l); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Errorf("err = %v", err)
	}
}

type failingAtEOF struct {
	v1.Layer
	err error
}

func (l *failingAtEOF) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(rc, errReader{l.err}), rc}, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestSizeString(t *testing.T) {
	for n, want := range map[int64]string{1 << 30: "1 GiB", 3 << 20: "3 MiB", 1536: "1536 bytes", 4 << 40: "4 TiB", 1000: "1000 bytes"} {
		if got := sizeString(n); got != want {
			t.Errorf("sizeString(%d) = %q, want %q", n, got, want)
		}
	}
}
