package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// pull resolves ref from its registry through the registry cache. A digest reference the
// cache holds entirely needs no registry; a tag is looked up in the registry (tags move) and
// falls back to the digest it last had if the registry cannot be reached.
func (r *Resolver) pull(ctx context.Context, ref name.Reference, arch string) (v1.Image, error) {
	c := r.cache
	if d, ok := ref.(name.Digest); ok {
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return nil, err
		}
		img, err := c.image(v1.Descriptor{Digest: h}, arch)
		if err == nil || !errors.Is(err, ErrNotFound) || r.opts.Offline {
			return img, err
		}
	} else if r.opts.Offline {
		d, err := c.lookup(ref.Name())
		if err != nil {
			return nil, err
		}
		return c.image(d, arch)
	}

	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.opts.Keychain),
		remote.WithUserAgent("keel"),
		remote.WithTransport(httpsOnly{base: remote.DefaultTransport, allow: r.plainHTTP}),
	}
	opts = append(opts, r.opts.RemoteOptions...)
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	opts = append(opts, remote.Reuse(puller))

	top, err := remote.Get(ref, opts...)
	if err != nil {
		if isNotFound(err) || ctx.Err() != nil {
			return nil, err
		}
		return r.fromCache(ref, arch, err)
	}

	// Manifests are cached last, children before parents, so that a cached manifest means
	// a complete image.
	type blob struct {
		d   v1.Descriptor
		raw []byte
	}
	manifests := []blob{{top.Descriptor, top.Manifest}}
	desc, raw, err := pickManifest(top.Descriptor, top.Manifest, arch, func(d v1.Descriptor) ([]byte, error) {
		if b, err := readBlob(c.src(), d); err == nil {
			return b, nil
		}
		m, err := remote.Get(ref.Context().Digest(d.Digest.String()), opts...)
		if err != nil {
			return nil, err
		}
		manifests = append(manifests, blob{d, m.Manifest})
		return m.Manifest, nil
	})
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if err := r.download(ref, b, opts); err != nil {
			return nil, err
		}
	}
	for i := len(manifests) - 1; i >= 0; i-- {
		b := manifests[i]
		if err := c.put(b.d.Digest, int64(len(b.raw)), bytes.NewReader(b.raw)); err != nil {
			return nil, err
		}
	}
	if _, ok := ref.(name.Tag); ok {
		if err := c.record(ref.Name(), top.Descriptor); err != nil {
			return nil, err
		}
	}
	return loadImage(c.src(), desc, raw, arch)
}

// fromCache resolves a tag to the digest it had when last pulled, after the registry failed
// with cause.
func (r *Resolver) fromCache(ref name.Reference, arch string, cause error) (v1.Image, error) {
	d, err := r.cache.lookup(ref.Name())
	if err != nil {
		return nil, cause
	}
	img, err := r.cache.image(d, arch)
	if err != nil {
		return nil, fmt.Errorf("%w (cached %s unusable: %v)", cause, d.Digest, err)
	}
	r.logf("registry unavailable for %s, using cached %s: %v", ref.Name(), d.Digest, cause)
	return img, nil
}

// download fetches a blob of ref's repository into the cache, unless it is there already.
func (r *Resolver) download(ref name.Reference, d v1.Descriptor, opts []remote.Option) error {
	if r.cache.has(d.Digest) {
		return nil
	}
	l, err := remote.Layer(ref.Context().Digest(d.Digest.String()), opts...)
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	defer rc.Close()
	var src io.Reader = rc
	if r.opts.Progress != nil {
		p := Progress{Ref: ref.Name(), Digest: d.Digest, Total: d.Size}
		r.opts.Progress(p)
		src = &progressReader{r: rc, p: p, fn: r.opts.Progress}
	}
	return r.cache.put(d.Digest, d.Size, src)
}

// plainHTTP reports whether the registry host may be spoken to over plain HTTP on a pull.
func (r *Resolver) plainHTTP(host string) bool {
	return PlainHTTPAllowed(host, r.opts.InsecureRegistries)
}

// PlainHTTPAllowed reports whether the registry host ("host" or "host:port") may be spoken
// to over plain HTTP: localhost, a loopback address or one of insecure. Private-range
// addresses, for which go-containerregistry would fall back to HTTP, may not: anyone on the
// network path could then read the credentials sent and change what is pulled or pushed.
func PlainHTTPAllowed(host string, insecure []string) bool {
	if slices.Contains(insecure, host) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// HTTPSOnly wraps base, the transport of registry requests, so that plain-HTTP requests to
// hosts PlainHTTPAllowed refuses (given insecure) go over HTTPS instead.
func HTTPSOnly(base http.RoundTripper, insecure []string) http.RoundTripper {
	insecure = slices.Clone(insecure)
	return httpsOnly{base: base, allow: func(host string) bool { return PlainHTTPAllowed(host, insecure) }}
}

// httpsOnly sends over HTTPS the plain-HTTP requests to hosts allow refuses.
type httpsOnly struct {
	base  http.RoundTripper
	allow func(host string) bool
}

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || t.allow(req.URL.Host) {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.URL.Scheme = "https"
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%w (plain HTTP is only used for loopback addresses and registries marked insecure)", err)
	}
	return resp, nil
}

// isNotFound reports whether the registry answered that the image does not exist.
func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
