package pkg

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/keel-os/keel/rootfs/atomicfile"
)

// debName is a Debian package name.
var debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// DebsLabel is the image label listing, as JSON (a []Deb), the Debian packages that files:
// entries with deb: were taken from; keel build --sbom reads it back.
const DebsLabel = "org.keel.debs"

// Deb is a Debian package that files of an image came from. Version is empty when the
// package was unpacked into the cache before versions were recorded.
type Deb struct {
	Package string   `json:"package"`
	Version string   `json:"version"`
	Arch    string   `json:"arch"`
	Files   []string `json:"files"` // absolute paths in the image, sorted
}

// ParseDebsLabel decodes the value of DebsLabel; an absent label ("") is no packages.
func ParseDebsLabel(value string) ([]Deb, error) {
	if value == "" {
		return nil, nil
	}
	var debs []Deb
	if err := json.Unmarshal([]byte(value), &debs); err != nil {
		return nil, fmt.Errorf("label %s: %w", DebsLabel, err)
	}
	for i, d := range debs {
		if d.Package == "" || d.Arch == "" {
			return nil, fmt.Errorf("label %s: entry %d has no package or arch", DebsLabel, i)
		}
	}
	return debs, nil
}

// debsLabel encodes debs as the value of DebsLabel, sorted by package so it is deterministic.
func debsLabel(debs map[string]*Deb) (string, error) {
	list := make([]Deb, 0, len(debs))
	for _, d := range debs {
		sort.Strings(d.Files)
		list = append(list, *d)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Package < list[j].Package })
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("label %s: %w", DebsLabel, err)
	}
	return string(b), nil
}

// debInfoFile is where debRoot records the package, version and arch of an unpacked root.
func debInfoFile(root string) string { return root + ".json" }

// debRoot returns a directory holding the files of Debian package name for arch, and the
// package's name, version and arch, downloading (apt-get download name:arch, which needs no
// root but needs arch among dpkg's architectures) and unpacking it into cacheDir/deb the
// first time.
func debRoot(ctx context.Context, name, arch, cacheDir string) (string, Deb, error) {
	info := Deb{Package: name, Arch: arch}
	if !debName.MatchString(name) {
		return "", info, fmt.Errorf("deb %q: not a Debian package name", name)
	}
	if cacheDir == "" {
		return "", info, errors.New("deb " + name + ": no cache directory")
	}
	root := filepath.Join(cacheDir, "deb", name+"_"+arch)
	if _, err := os.Stat(root); err == nil {
		info, err := readDebInfo(root, info)
		return root, info, err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", info, fmt.Errorf("deb %s: %w", name, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".fetch-")
	if err != nil {
		return "", info, fmt.Errorf("deb %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	if err := aptDownload(ctx, tmp, name, arch, runIn); err != nil {
		return "", info, err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", info, fmt.Errorf("deb %s:%s: apt-get download left %d .deb files", name, arch, len(debs))
	}
	return unpackDeb(ctx, debs[0], filepath.Join(tmp, "root"), root)
}

// aptDownload downloads name for arch into dir with apt-get download (run runs a command in
// dir). A package built for every arch (Architecture: all) has no candidate as NAME:ARCH for
// a foreign arch: it is then fetched as NAME:all.
func aptDownload(ctx context.Context, dir, name, arch string, run func(ctx context.Context, dir string, argv ...string) ([]byte, error)) error {
	out, err := run(ctx, dir, "apt-get", "download", name+":"+arch)
	if err != nil && strings.Contains(string(out), "has no candidate") {
		var outAll []byte
		if outAll, err = run(ctx, dir, "apt-get", "download", name+":all"); err == nil {
			return nil
		}
		out = append(out, outAll...)
	}
	if err != nil {
		return fmt.Errorf("deb %s:%s: apt-get download: %w: %s (for another arch, run dpkg --add-architecture %s and apt-get update)", name, arch, err, tail(string(out), 1000), arch)
	}
	return nil
}

// runIn runs argv in dir and returns its combined output, in English (aptDownload reads it).
func runIn(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

// DebFile returns the file at file (a path inside the package, such as
// usr/lib/systemd/boot/efi/linuxx64.efi.stub) of Debian package name for arch, and the
// package it came from, fetching and unpacking the package into cacheDir/deb the first time
// as a build.yml's deb: files are.
func DebFile(ctx context.Context, name, arch, cacheDir, file string) ([]byte, Deb, error) {
	root, info, err := debRoot(ctx, name, arch, cacheDir)
	if err != nil {
		return nil, info, err
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.Clean("/"+file)))
	if err != nil {
		return nil, info, fmt.Errorf("deb %s:%s: %w", name, arch, err)
	}
	return data, info, nil
}

// unpackDeb unpacks the .deb file deb into root (through x, a fresh path on root's file
// system) and records its name, version and arch beside root.
func unpackDeb(ctx context.Context, deb, x, root string) (string, Deb, error) {
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture").Output()
	if err != nil {
		return "", Deb{}, fmt.Errorf("deb %s: dpkg-deb -f: %w", filepath.Base(deb), err)
	}
	info, err := parseControl(string(out))
	if err != nil {
		return "", info, fmt.Errorf("deb %s: %w", filepath.Base(deb), err)
	}
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, x).CombinedOutput(); err != nil {
		return "", info, fmt.Errorf("deb %s: dpkg-deb -x: %w: %s", filepath.Base(deb), err, tail(string(out), 1000))
	}
	// The version is recorded before the root appears, so a cached root always has it.
	if err := atomicfile.WriteFile(debInfoFile(root), 0o644, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(info)
	}); err != nil {
		return "", info, fmt.Errorf("deb %s: %w", info.Package, err)
	}
	if err := os.Rename(x, root); err != nil {
		if _, statErr := os.Stat(root); statErr != nil { // not a concurrent fetch that won
			return "", info, fmt.Errorf("deb %s: %w", info.Package, err)
		}
	}
	return root, info, nil
}

// readDebInfo reads what debRoot recorded beside root. A root unpacked before versions were
// recorded has none: its package stays listed, with an empty version.
func readDebInfo(root string, want Deb) (Deb, error) {
	data, err := os.ReadFile(debInfoFile(root))
	if errors.Is(err, os.ErrNotExist) {
		return want, nil
	}
	if err != nil {
		return want, fmt.Errorf("deb %s: %w", want.Package, err)
	}
	var info Deb
	if err := json.Unmarshal(data, &info); err != nil {
		return want, fmt.Errorf("deb %s: %s: %w", want.Package, debInfoFile(root), err)
	}
	if info.Package != want.Package {
		return want, fmt.Errorf("deb %s: %s names package %q", want.Package, debInfoFile(root), info.Package)
	}
	return info, nil
}

// parseControl reads the Package, Version and Architecture fields dpkg-deb -f prints.
func parseControl(text string) (Deb, error) {
	var d Deb
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			d.Package = v
		case "Version":
			d.Version = v
		case "Architecture":
			d.Arch = v
		}
	}
	if d.Package == "" || d.Version == "" || d.Arch == "" {
		return d, fmt.Errorf("control fields %q: want Package, Version and Architecture", text)
	}
	return d, nil
}
