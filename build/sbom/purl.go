package sbom

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/keel-os/keel/build/pkg"
)

// Package URLs (github.com/package-url/purl-spec): pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS.

// purlRef is the external reference carrying a package URL.
func purlRef(purl string) []externalRef {
	return []externalRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: purl}}
}

// escape percent-encodes a purl component, keeping what the spec lets appear as is (":"
// included, so digests read sha256:... and Debian epochs 1:2.3) and the bytes of keep.
func escape(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_~:", c) >= 0 || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// qualifiers renders ?k=v&... sorted by key, leaving out empty values; "/" stays readable.
func qualifiers(q map[string]string) string {
	keys := make([]string, 0, len(q))
	for k, v := range q {
		if v != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + escape(q[k], "/")
	}
	return "?" + strings.Join(parts, "&")
}

// golangPURL is pkg:golang/MODULE@VERSION; the spec wants the path lowercased.
func golangPURL(module, version string) string {
	segs := strings.Split(strings.ToLower(module), "/")
	for i, s := range segs {
		segs[i] = escape(s, "")
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + escape(version, "")
	}
	return p
}

// debPURL is pkg:deb/debian/NAME@VERSION?arch=ARCH.
func debPURL(d pkg.Deb) string {
	p := "pkg:deb/debian/" + escape(strings.ToLower(d.Package), "")
	if d.Version != "" {
		p += "@" + escape(d.Version, "")
	}
	return p + qualifiers(map[string]string{"arch": d.Arch})
}

// ociPURL is pkg:oci/NAME@DIGEST?arch=ARCH&repository_url=REPO&tag=TAG for a registry
// reference; an image from a file (an OCI layout or archive) has no repository_url.
func ociPURL(ref, digest, arch string) string {
	q := map[string]string{"arch": arch}
	var base string
	if isFileRef(ref) {
		base = strings.TrimSuffix(path.Base(strings.TrimRight(fileRefPath(ref), "/")), ".tar")
	} else if n, err := name.ParseReference(ref); err == nil {
		repo := n.Context()
		q["repository_url"] = repo.RegistryStr() + "/" + repo.RepositoryStr()
		base = path.Base(repo.RepositoryStr())
		if t, ok := n.(name.Tag); ok {
			q["tag"] = t.TagStr()
		}
	} else {
		base, _, _ = strings.Cut(path.Base(ref), "@")
		base, _, _ = strings.Cut(base, ":")
	}
	return "pkg:oci/" + escape(strings.ToLower(base), "") + "@" + escape(digest, "") + qualifiers(q)
}

// isFileRef reports whether ref names an image in a file or directory (see rootfs/image).
func isFileRef(ref string) bool {
	for _, p := range []string{"oci:", "oci-archive:", "docker-archive:", "/", "./", "../"} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	return strings.HasSuffix(ref, ".tar")
}

// fileRefPath strips a file reference's transport and tag: oci-archive:a/b.tar:v1 → a/b.tar.
func fileRefPath(ref string) string {
	for _, p := range []string{"oci:", "oci-archive:", "docker-archive:"} {
		if rest, ok := strings.CutPrefix(ref, p); ok {
			if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
				rest = rest[:i]
			}
			return rest
		}
	}
	return ref
}
