// Package sbom writes the software bill of materials of a machine built by keel build: an SPDX
// 2.3 JSON document listing every image it was made from (by reference and digest), every Go
// binary in those images with the modules and Go version its build info names, and the
// Debian packages that files came from (the image label pkg.DebsLabel, set by keel pkg build).
//
// The document DESCRIBES the machine, which CONTAINS its images; an image CONTAINS its Go
// binaries (as files) and Debian packages; a binary CONTAINS its main module, dependencies and
// the Go standard library. Packages carry package URLs: pkg:oci/NAME@sha256:...,
// pkg:golang/PATH@VERSION, pkg:deb/debian/NAME@VERSION?arch=ARCH.
//
// The same inputs give the same bytes: everything is sorted, the creation time is the build's
// epoch (SOURCE_DATE_EPOCH), and the document namespace ends in a hash of the content.
package sbom

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/keel-os/keel/build/assemble"
	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/rootfs/tree"
)

// NamespacePrefix starts every document namespace; the machine's name and a hash follow.
const NamespacePrefix = "https://keel-os.github.io/spdx/"

// Options describe the machine.
type Options struct {
	Name    string    // the machine's name: keel build's output base name
	Arch    string    // its architecture (amd64, arm64, s390x)
	Created time.Time // the build's epoch
}

// Generate returns the SPDX JSON document for a machine made from sources.
func Generate(sources []assemble.Source, opts Options) ([]byte, error) {
	g := &generator{pkgs: map[string]spdxPackage{}, files: map[string]file{}, rels: map[relationship]bool{}, scanned: map[string][]string{}}
	system := "SPDXRef-System-" + idPart(opts.Name)
	g.pkgs[system] = spdxPackage{
		SPDXID: system, Name: opts.Name, DownloadLocation: noAssertion,
		PrimaryPackagePurpose: "OPERATING-SYSTEM",
		Comment:               "built by keel build for " + opts.Arch,
	}
	g.relate(documentID, relDescribes, system)
	for _, src := range sources {
		id, err := g.image(src)
		if err != nil {
			return nil, err
		}
		g.relate(system, relContains, id)
	}
	doc := g.document(opts)
	// The namespace is unique per content: a hash of the document without it.
	b, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	doc.DocumentNamespace = NamespacePrefix + idPart(opts.Name) + "-" + hex.EncodeToString(sum[:])
	return marshal(doc)
}

// marshal writes doc as indented JSON, leaving "&" and "<" as they are (purl qualifiers).
func marshal(doc *document) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return buf.Bytes(), nil
}

// generator collects packages, files and relationships, each once, keyed by SPDX ID.
type generator struct {
	pkgs    map[string]spdxPackage
	files   map[string]file
	rels    map[relationship]bool
	scanned map[string][]string // image digest → IDs of the binaries found in its tree
}

func (g *generator) relate(element, typ, related string) {
	g.rels[relationship{Element: element, Type: typ, Related: related}] = true
}

func (g *generator) addPkg(p spdxPackage) {
	if _, ok := g.pkgs[p.SPDXID]; !ok {
		g.pkgs[p.SPDXID] = p
	}
}

// document puts everything in a stable order: packages and files by ID, relationships by
// element, type and related element.
func (g *generator) document(opts Options) *document {
	doc := &document{
		SPDXVersion: spdxVersion, DataLicense: dataLicense, SPDXID: documentID,
		Name: opts.Name,
		CreationInfo: creationInfo{
			Created:  opts.Created.UTC().Format("2006-01-02T15:04:05Z"),
			Creators: []string{"Tool: keel"},
		},
		Packages:      []spdxPackage{},
		Relationships: []relationship{},
	}
	for _, p := range g.pkgs {
		doc.Packages = append(doc.Packages, p)
	}
	sort.Slice(doc.Packages, func(i, j int) bool { return doc.Packages[i].SPDXID < doc.Packages[j].SPDXID })
	for _, f := range g.files {
		doc.Files = append(doc.Files, f)
	}
	sort.Slice(doc.Files, func(i, j int) bool { return doc.Files[i].SPDXID < doc.Files[j].SPDXID })
	for r := range g.rels {
		doc.Relationships = append(doc.Relationships, r)
	}
	sort.Slice(doc.Relationships, func(i, j int) bool {
		a, b := doc.Relationships[i], doc.Relationships[j]
		if a.Element != b.Element {
			return a.Element < b.Element
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Related < b.Related
	})
	return doc
}

// image adds one source image, its Debian packages and its Go binaries; it returns its ID.
func (g *generator) image(src assemble.Source) (string, error) {
	digest, err := src.Image.Digest()
	if err != nil {
		return "", fmt.Errorf("sbom: image %q: %w", src.Ref, err)
	}
	cf, err := src.Image.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("sbom: image %q: config: %w", src.Ref, err)
	}
	arch := cf.Architecture
	if cf.Variant != "" {
		arch += "/" + cf.Variant
	}
	id := "SPDXRef-Image-" + idPart(src.Ref) + "-" + shortHash(src.Ref)
	g.addPkg(spdxPackage{
		SPDXID: id, Name: src.Ref, VersionInfo: digest.String(), DownloadLocation: noAssertion,
		Checksums:             []checksum{{Algorithm: "SHA256", Value: digest.Hex}},
		PrimaryPackagePurpose: "CONTAINER",
		ExternalRefs:          purlRef(ociPURL(src.Ref, digest.String(), arch)),
	})

	debs, err := pkg.ParseDebsLabel(cf.Config.Labels[pkg.DebsLabel])
	if err != nil {
		return "", fmt.Errorf("sbom: image %q: %w", src.Ref, err)
	}
	for _, d := range debs {
		g.relate(id, relContains, g.deb(d))
	}

	bins, ok := g.scanned[digest.String()]
	if !ok {
		if bins, err = g.binaries(digest.Hex, src.Tree); err != nil {
			return "", fmt.Errorf("sbom: image %q: %w", src.Ref, err)
		}
		g.scanned[digest.String()] = bins
	}
	for _, b := range bins {
		g.relate(id, relContains, b)
	}
	return id, nil
}

// deb adds a Debian package and returns its ID.
func (g *generator) deb(d pkg.Deb) string {
	key := d.Package + "_" + d.Version + "_" + d.Arch
	id := "SPDXRef-Package-deb-" + idPart(d.Package) + "-" + shortHash(key)
	version := d.Version
	comment := "files: " + strings.Join(d.Files, " ")
	if version == "" {
		version = noAssertion
		comment += "; version not recorded"
	}
	g.addPkg(spdxPackage{
		SPDXID: id, Name: d.Package, VersionInfo: version, DownloadLocation: noAssertion,
		ExternalRefs: purlRef(debPURL(d)),
		Comment:      comment,
	})
	return id
}

// binaries adds every Go binary of t as a file with its modules, and returns the files' IDs.
// A binary reached through several hard links is listed once, under its first path.
func (g *generator) binaries(digestHex string, t *tree.Tree) ([]string, error) {
	var ids []string
	seen := map[*tree.Node]bool{}
	err := t.Walk(func(p string, n *tree.Node) error {
		if !n.IsRegular() || seen[n] || !bytes.HasPrefix(n.Data, []byte("\x7fELF")) {
			return nil
		}
		seen[n] = true
		info, err := buildinfo.Read(bytes.NewReader(n.Data))
		if err != nil {
			return nil // not a Go binary, or one without build info
		}
		ids = append(ids, g.binary(digestHex, p, n.Data, info))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// binary adds one Go binary and the modules it was built from; it returns the file's ID.
func (g *generator) binary(digestHex, p string, data []byte, info *buildinfo.BuildInfo) string {
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	id := "SPDXRef-File-" + idPart(path.Base(p)) + "-" + shortHash(digestHex+"/"+p)
	g.files[id] = file{
		SPDXID: id, FileName: "./" + p, FileTypes: []string{"BINARY"},
		Checksums: []checksum{
			{Algorithm: "SHA1", Value: hex.EncodeToString(s1[:])},
			{Algorithm: "SHA256", Value: hex.EncodeToString(s256[:])},
		},
		Comment: "Go binary built with " + info.GoVersion + ", main package " + info.Path + settings(info),
	}
	g.relate(id, relContains, g.module(info.Main, "APPLICATION"))
	for _, dep := range info.Deps {
		g.relate(id, relContains, g.module(*dep, "LIBRARY"))
	}
	std := "SPDXRef-Package-golang-stdlib-" + idPart(info.GoVersion)
	g.addPkg(spdxPackage{
		SPDXID: std, Name: "stdlib", VersionInfo: info.GoVersion, DownloadLocation: noAssertion,
		PrimaryPackagePurpose: "LIBRARY",
		ExternalRefs:          purlRef("pkg:golang/stdlib@" + escape(info.GoVersion, "")),
		Comment:               "the Go standard library and runtime",
	})
	g.relate(id, relContains, std)
	return id
}

// module adds a Go module (its replacement, if it was replaced) and returns its ID.
func (g *generator) module(m debug.Module, purpose string) string {
	comment := ""
	if m.Replace != nil {
		comment = "replaces " + m.Path
		if m.Version != "" {
			comment += "@" + m.Version
		}
		m = *m.Replace
	}
	version := m.Version
	if version == "(devel)" {
		version = "" // a main module built from a work tree has no version
	}
	id := "SPDXRef-Package-golang-" + idPart(m.Path) + "-" + shortHash(m.Path+"@"+version+" "+m.Sum)
	p := spdxPackage{
		SPDXID: id, Name: m.Path, VersionInfo: version, DownloadLocation: noAssertion,
		PrimaryPackagePurpose: purpose,
		ExternalRefs:          purlRef(golangPURL(m.Path, version)),
		Comment:               comment,
	}
	if sum, ok := strings.CutPrefix(m.Sum, "h1:"); ok {
		// go.sum's h1: hash is a SHA-256 (of the module's file list), base64-encoded.
		if raw, err := base64.StdEncoding.DecodeString(sum); err == nil && len(raw) == sha256.Size {
			p.Checksums = []checksum{{Algorithm: "SHA256", Value: hex.EncodeToString(raw)}}
			p.Comment = strings.TrimPrefix(p.Comment+"; go.sum "+m.Sum, "; ")
		}
	}
	if old, ok := g.pkgs[id]; ok && old.PrimaryPackagePurpose == "APPLICATION" {
		return id // a module both a main module and a dependency stays an application
	}
	g.pkgs[id] = p
	return id
}

// settings renders the build settings recorded in the binary (GOARCH, CGO_ENABLED, -tags...).
func settings(info *buildinfo.BuildInfo) string {
	var b strings.Builder
	for _, s := range info.Settings {
		if b.Len() == 0 {
			b.WriteString("; build settings:")
		}
		fmt.Fprintf(&b, " %s=%s", s.Key, s.Value)
	}
	return b.String()
}

// idPart makes s usable in an SPDX ID, which allows letters, digits, "." and "-".
func idPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// shortHash keeps IDs unique where idPart maps two names to one.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
