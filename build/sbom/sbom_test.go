package sbom

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/keel-os/keel/build/assemble"
	"github.com/keel-os/keel/build/pkg"
	"github.com/keel-os/keel/rootfs/tree"
)

var epoch = time.Unix(1700000000, 0)

// goBuild compiles the main package of a tiny module written into a temp dir: it imports
// example.com/dep, which go.mod replaces with a local directory.
func goBuild(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":      "module example.com/tiny\n\ngo 1.22\n\nrequire example.com/dep v1.2.3\n\nreplace example.com/dep v1.2.3 => ./dep\n",
		"main.go":     "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.Hello) }\n",
		"dep/go.mod":  "module example.com/dep\n\ngo 1.22\n",
		"dep/dep.go":  "package dep\n\nconst Hello = \"hello\"\n",
		"dep/doc.txt": "",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "tiny")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// testImage is an image with no layers whose config has labels: an SBOM reads only its
// digest and config, and takes the files from the Source's tree.
func testImage(t *testing.T, labels map[string]string) v1.Image {
	t.Helper()
	cf, err := empty.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Labels = labels
	img, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tinySource is an image holding the tiny binary at usr/bin/tiny, hard-linked as bin/tiny,
// beside a file that is not a Go binary.
func tinySource(t *testing.T, ref string, bin []byte) assemble.Source {
	t.Helper()
	tr := tree.New()
	for _, err := range []error{
		tr.AddFile("usr/bin/tiny", 0o755, 0, 0, bin),
		tr.Link("bin/tiny", "usr/bin/tiny"),
		tr.AddFile("etc/motd", 0o644, 0, 0, []byte("\x7fELF but not really")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return assemble.Source{Ref: ref, Image: testImage(t, nil), Tree: tr}
}

// decode parses a generated document, failing on fields the structs do not know.
func decode(t *testing.T, b []byte) *document {
	t.Helper()
	var doc document
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return &doc
}

func generate(t *testing.T, sources []assemble.Source, opts Options) []byte {
	t.Helper()
	b, err := Generate(sources, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// byName returns the packages called name.
func byName(doc *document, name string) []spdxPackage {
	var out []spdxPackage
	for _, p := range doc.Packages {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

func purlOf(p spdxPackage) string {
	for _, r := range p.ExternalRefs {
		if r.Type == "purl" {
			return r.Locator
		}
	}
	return ""
}

func hasRel(doc *document, element, typ, related string) bool {
	for _, r := range doc.Relationships {
		if r.Element == element && r.Type == typ && r.Related == related {
			return true
		}
	}
	return false
}

func TestGenerateListsTheModulesAndGoVersionOfAGoBinary(t *testing.T) {
	doc := decode(t, generate(t, []assemble.Source{tinySource(t, "example/tiny:v1", goBuild(t))}, Options{Name: "m", Arch: "amd64", Created: epoch}))
	if len(doc.Files) != 1 || doc.Files[0].FileName != "./bin/tiny" {
		t.Fatalf("files = %+v, want only ./bin/tiny (the hard links' first path; etc/motd is no Go binary)", doc.Files)
	}
	bin := doc.Files[0]
	if !strings.Contains(bin.Comment, runtime.Version()) {
		t.Errorf("binary comment %q lacks the Go version %s", bin.Comment, runtime.Version())
	}
	main := byName(doc, "example.com/tiny")
	if len(main) != 1 || main[0].VersionInfo != "" || purlOf(main[0]) != "pkg:golang/example.com/tiny" || main[0].PrimaryPackagePurpose != "APPLICATION" {
		t.Fatalf("main module = %+v", main)
	}
	std := byName(doc, "stdlib")
	if len(std) != 1 || std[0].VersionInfo != runtime.Version() || purlOf(std[0]) != "pkg:golang/stdlib@"+runtime.Version() {
		t.Fatalf("stdlib = %+v", std)
	}
	for _, p := range []spdxPackage{main[0], std[0]} {
		if !hasRel(doc, bin.SPDXID, relContains, p.SPDXID) {
			t.Errorf("no %s CONTAINS %s", bin.SPDXID, p.SPDXID)
		}
	}
}

func TestGenerateReportsAReplacedModuleAsItsReplacement(t *testing.T) {
	doc := decode(t, generate(t, []assemble.Source{tinySource(t, "example/tiny:v1", goBuild(t))}, Options{Name: "m", Created: epoch}))
	if got := byName(doc, "example.com/dep"); len(got) != 0 {
		t.Errorf("the replaced module is listed: %+v", got)
	}
	dep := byName(doc, "./dep")
	if len(dep) != 1 || !strings.Contains(dep[0].Comment, "replaces example.com/dep@v1.2.3") || dep[0].PrimaryPackagePurpose != "LIBRARY" {
		t.Fatalf("replacement = %+v", dep)
	}
	if !hasRel(doc, doc.Files[0].SPDXID, relContains, dep[0].SPDXID) {
		t.Errorf("the binary does not contain %s", dep[0].SPDXID)
	}
}

func TestGenerateDescribesTheMachineWhichContainsItsImagesAndTheirBinaries(t *testing.T) {
	bin := goBuild(t)
	srcs := []assemble.Source{tinySource(t, "example/a:v1", bin), tinySource(t, "localhost:5000/b@sha256:"+strings.Repeat("0", 64), bin)}
	doc := decode(t, generate(t, srcs, Options{Name: "m", Arch: "amd64", Created: epoch}))
	system := byName(doc, "m")
	if len(system) != 1 || !hasRel(doc, documentID, relDescribes, system[0].SPDXID) {
		t.Fatalf("machine package %+v is not described by the document", system)
	}
	digest, err := srcs[0].Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	a := byName(doc, "example/a:v1")
	if len(a) != 1 || a[0].VersionInfo != digest.String() || a[0].PrimaryPackagePurpose != "CONTAINER" {
		t.Fatalf("image a = %+v", a)
	}
	if want := "pkg:oci/a@" + digest.String() + "?arch=amd64&repository_url=index.docker.io/example/a&tag=v1"; purlOf(a[0]) != want {
		t.Errorf("purl = %s, want %s", purlOf(a[0]), want)
	}
	b := byName(doc, srcs[1].Ref)
	if len(b) != 1 || purlOf(b[0]) != "pkg:oci/b@"+digest.String()+"?arch=amd64&repository_url=localhost:5000/b" {
		t.Fatalf("image b = %+v", b)
	}
	// The same image under two references: its binary is listed once, in both.
	if len(doc.Files) != 1 {
		t.Fatalf("files = %+v, want one", doc.Files)
	}
	for _, img := range []spdxPackage{a[0], b[0]} {
		if !hasRel(doc, system[0].SPDXID, relContains, img.SPDXID) || !hasRel(doc, img.SPDXID, relContains, doc.Files[0].SPDXID) {
			t.Errorf("%s is not in the machine or does not contain the binary", img.Name)
		}
	}
}

// TestGenerateListsTheDebianPackagesKeelPkgBuildRecorded builds services/getty with keel pkg
// build's library, its busybox taken from a fake cached Debian package, and checks the SBOM
// of the image lists both busybox's package and getty's Go modules.
func TestGenerateListsTheDebianPackagesKeelPkgBuildRecorded(t *testing.T) {
	cache := t.TempDir()
	root := filepath.Join(cache, "deb", "busybox-static_amd64")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), []byte("busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+".json", []byte(`{"package":"busybox-static","version":"1:1.35.0-4+b3","arch":"amd64"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := pkg.Load("../../services/getty")
	if err != nil {
		t.Fatal(err)
	}
	ref, img, err := p.Build(context.Background(), pkg.Options{Arch: "amd64", CacheDir: cache, Epoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tree.Unpack(img)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, generate(t, []assemble.Source{{Ref: ref, Image: img, Tree: tr}}, Options{Name: "m", Arch: "amd64", Created: epoch}))
	imgPkg := byName(doc, ref)
	deb := byName(doc, "busybox-static")
	if len(imgPkg) != 1 || len(deb) != 1 {
		t.Fatalf("image %+v, busybox %+v", imgPkg, deb)
	}
	if want := "pkg:deb/debian/busybox-static@1:1.35.0-4%2Bb3?arch=amd64"; purlOf(deb[0]) != want {
		t.Errorf("purl = %s, want %s", purlOf(deb[0]), want)
	}
	if deb[0].VersionInfo != "1:1.35.0-4+b3" || !strings.Contains(deb[0].Comment, "/bin/busybox") {
		t.Errorf("busybox = %+v", deb[0])
	}
	if !hasRel(doc, imgPkg[0].SPDXID, relContains, deb[0].SPDXID) {
		t.Errorf("the image does not contain busybox's package")
	}
	sys := byName(doc, "golang.org/x/sys")
	if len(sys) != 1 || !strings.HasPrefix(purlOf(sys[0]), "pkg:golang/golang.org/x/sys@v") || len(sys[0].Checksums) != 1 || len(sys[0].Checksums[0].Value) != 64 {
		t.Fatalf("golang.org/x/sys = %+v, want a version and its h1 sum as SHA256", sys)
	}
	if len(doc.Files) != 1 || doc.Files[0].FileName != "./usr/bin/getty" || !hasRel(doc, doc.Files[0].SPDXID, relContains, sys[0].SPDXID) {
		t.Errorf("files = %+v, want ./usr/bin/getty containing x/sys", doc.Files)
	}
}

func TestGenerateTwiceGivesTheSameBytesAndTheEpochChangesThem(t *testing.T) {
	bin := goBuild(t)
	debs := `[{"package":"busybox-static","version":"1","arch":"amd64","files":["/bin/busybox"]}]`
	srcs := func() []assemble.Source {
		s := tinySource(t, "example/a:v1", bin)
		s.Image = testImage(t, map[string]string{pkg.DebsLabel: debs})
		return []assemble.Source{s, tinySource(t, "example/b:v1", bin)}
	}
	opts := Options{Name: "m", Arch: "arm64", Created: epoch}
	one, two := generate(t, srcs(), opts), generate(t, srcs(), opts)
	if !bytes.Equal(one, two) {
		t.Fatalf("two runs differ:\n%s\n%s", one, two)
	}
	if !bytes.Contains(one, []byte("&repository_url=")) {
		t.Errorf("purl qualifiers are escaped in the JSON")
	}
	doc := decode(t, one)
	if doc.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("created = %s, want the epoch", doc.CreationInfo.Created)
	}
	opts.Created = epoch.Add(time.Second)
	later := decode(t, generate(t, srcs(), opts))
	if later.DocumentNamespace == doc.DocumentNamespace {
		t.Errorf("another epoch gives the same namespace %s", doc.DocumentNamespace)
	}
}

// TestGenerateHasTheFieldsSPDXRequires checks the document against SPDX 2.3's required
// fields and rules: IDs well formed and unique, every relationship between known elements.
func TestGenerateHasTheFieldsSPDXRequires(t *testing.T) {
	debs := `[{"package":"ca-certificates","version":"","arch":"all","files":["/etc/ssl"]}]`
	src := tinySource(t, "oci:some/dir:v1", goBuild(t))
	src.Image = testImage(t, map[string]string{pkg.DebsLabel: debs})
	b := generate(t, []assemble.Source{src}, Options{Name: "my machine", Arch: "amd64", Created: epoch})
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo", "packages", "relationships"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	doc := decode(t, b)
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" || doc.Name != "my machine" {
		t.Errorf("header = %s %s %s %q", doc.SPDXVersion, doc.DataLicense, doc.SPDXID, doc.Name)
	}
	if !regexp.MustCompile(`^https://keel-os\.github\.io/spdx/my-machine-[0-9a-f]{64}$`).MatchString(doc.DocumentNamespace) {
		t.Errorf("namespace = %s", doc.DocumentNamespace)
	}
	if doc.CreationInfo.Created == "" || len(doc.CreationInfo.Creators) == 0 {
		t.Errorf("creationInfo = %+v", doc.CreationInfo)
	}
	validID := regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	ids := map[string]bool{documentID: true}
	add := func(id string) {
		if !validID.MatchString(id) || ids[id] {
			t.Errorf("SPDX ID %q is malformed or used twice", id)
		}
		ids[id] = true
	}
	for _, p := range doc.Packages {
		add(p.SPDXID)
		if p.Name == "" || p.DownloadLocation == "" {
			t.Errorf("package %s lacks name or downloadLocation", p.SPDXID)
		}
		if purl := purlOf(p); !strings.HasPrefix(purl, "pkg:") && p.PrimaryPackagePurpose != "OPERATING-SYSTEM" {
			t.Errorf("package %s has no purl", p.SPDXID)
		}
	}
	for _, f := range doc.Files {
		add(f.SPDXID)
		if f.FileName == "" || len(f.Checksums) == 0 || f.Checksums[0].Algorithm != "SHA1" {
			t.Errorf("file %+v lacks a name or its SHA1", f)
		}
	}
	for _, r := range doc.Relationships {
		if !ids[r.Element] || !ids[r.Related] {
			t.Errorf("relationship %+v names an unknown element", r)
		}
	}
	ca := byName(doc, "ca-certificates")
	if len(ca) != 1 || ca[0].VersionInfo != "NOASSERTION" || purlOf(ca[0]) != "pkg:deb/debian/ca-certificates?arch=all" {
		t.Errorf("a package without a recorded version = %+v", ca)
	}
	if img := byName(doc, "oci:some/dir:v1"); len(img) != 1 || !strings.HasPrefix(purlOf(img[0]), "pkg:oci/dir@sha256:") || strings.Contains(purlOf(img[0]), "repository_url") {
		t.Errorf("an image from a layout directory = %+v", img)
	}
}
