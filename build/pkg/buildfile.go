package pkg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/tree"
	"gopkg.in/yaml.v3"
)

// FileName is the name of the build file in a package directory.
const FileName = "build.yml"

// DefaultTag is the image tag used when neither Options.Tag nor build.yml's tag: is set.
const DefaultTag = "dev"

// DefaultLDFlags are the go build -ldflags of a binary whose ldflags: key is absent.
const DefaultLDFlags = "-s -w"

// Package is a parsed build.yml. The yaml tags are the file's keys; build/spec's strict
// decoder fills it (and the Pos and KeyPos fields).
type Package struct {
	Dir  string `yaml:"-"` // absolute package directory
	File string `yaml:"-"` // path of build.yml, as used in error messages

	Image      string         `yaml:"image"`
	Tag        string         `yaml:"tag"`
	Binaries   []Binary       `yaml:"binaries"`
	Files      []File         `yaml:"files"`
	Config     map[string]any `yaml:"config"`
	Entrypoint []string       `yaml:"entrypoint"`
	Cmd        []string       `yaml:"cmd"`
	Env        []string       `yaml:"env"`
	WorkingDir string         `yaml:"workdir"`

	// LinuxKit's build.yml keys. Org prefixes Image ("org: linuxkit", "image: getty" is
	// linuxkit/getty); Arches are the arches keel pkg build builds when --arch is not given,
	// and the only ones it builds; Network and Dependents are accepted and have no effect:
	// Keel builds run no Dockerfile steps, and it rebuilds no other packages.
	Org        string   `yaml:"org"`
	Arches     []string `yaml:"arches"`
	Network    *bool    `yaml:"network"`
	Dependents []string `yaml:"dependents"`
	// BuildArgs and Dockerfile are LinuxKit's Dockerfile build's keys: a package using them
	// is refused with the reason (Keel runs no Dockerfiles) instead of as unknown keys.
	BuildArgs  []string `yaml:"buildArgs"`
	Dockerfile string   `yaml:"dockerfile"`

	KeyPos map[string]spec.Pos `yaml:"-"` // where each top-level key is written
}

// Binary is a Go main package compiled into the image.
type Binary struct {
	Package string   `yaml:"package"`
	Path    string   `yaml:"path"`
	Tags    []string `yaml:"tags"`
	CGO     bool     `yaml:"cgo"`
	LDFlags *string  `yaml:"ldflags"` // nil: DefaultLDFlags
	GCFlags Flags    `yaml:"gcflags"` // go build -gcflags, once per item; none by default
	Links   []string `yaml:"links"`
	Pos     spec.Pos `yaml:"-"` // where in build.yml
}

// File is an extra file, directory or symlink in the image. Exactly one of Source,
// Contents, Directory and Symlink is set.
type File struct {
	Path   string `yaml:"path"`
	Source string `yaml:"source"`
	Deb    string `yaml:"deb"` // with source: the path inside this Debian package, for the target arch
	// Libs, with deb:, are Debian packages holding the ELF file's loader and shared libraries.
	Libs []string `yaml:"libs"`
	// Concat, with a source directory, makes the file the concatenation of the directory's
	// regular files whose names match this pattern (path.Match), in byte order of name,
	// each ending in a newline: a certificate bundle from one certificate a file.
	Concat    string   `yaml:"concat"`
	Contents  *string  `yaml:"contents"`
	Directory bool     `yaml:"directory"`
	Symlink   string   `yaml:"symlink"`
	Mode      *Mode    `yaml:"mode"`
	Pos       spec.Pos `yaml:"-"` // where in build.yml
}

// Flags are the values of a go build flag that may be given more than once, each for its own
// package pattern: one string, or a list.
type Flags []string

// UnmarshalYAML accepts a string or a list of strings.
func (f *Flags) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" || n.ShortTag() == "!!null" {
			*f = nil
		} else {
			*f = Flags{n.Value}
		}
		return nil
	case yaml.SequenceNode:
		var out []string
		if err := n.Decode(&out); err == nil {
			*f = out
			return nil
		}
	}
	return errors.New("want a string or a list of strings")
}

// Mode is an octal permission mode written as a string ("0755") or a number (0755, 755).
type Mode uint32

// UnmarshalYAML parses the scalar as octal.
func (m *Mode) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want an octal number such as \"0755\"")
	}
	s := strings.TrimPrefix(strings.TrimPrefix(n.Value, "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 07777 {
		return fmt.Errorf("%q is not an octal mode such as \"0755\"", n.Value)
	}
	*m = Mode(v)
	return nil
}

// perm is the mode as fs.FileMode permission, setuid, setgid and sticky bits.
func (m Mode) perm() fs.FileMode { return tree.ModeFromUnix(uint32(m) & 0o7777) }

// Load reads and validates dir/build.yml.
func Load(dir string) (*Package, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("package dir %s: %w", dir, err)
	}
	file := filepath.Join(dir, FileName)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(filepath.Join(dir, "Dockerfile")); derr == nil {
			return nil, fmt.Errorf("package %s has a Dockerfile and no %s: keel pkg build runs no Dockerfiles; write a %s with binaries: and files: entries", dir, FileName, FileName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read package: %w", err)
	}
	p, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	p.Dir = abs // Parse resolved it too; keep the caller's spelling of dir out of it
	return p, nil
}

// Parse parses and validates the contents of a build.yml; file names it in errors.
// Relative sources are resolved against filepath.Dir(file) when the package is built.
func Parse(file string, data []byte) (*Package, error) {
	p := &Package{File: file}
	if err := spec.DecodeStrict(file, data, p); err != nil {
		return nil, err
	}
	if dir, err := filepath.Abs(filepath.Dir(file)); err == nil {
		p.Dir = dir
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Ref is the image reference the package builds: image:tag, where tag is the first non-empty
// of tag, build.yml's tag: and DefaultTag.
func (p *Package) Ref(tag string) string {
	if tag == "" {
		tag = p.Tag
	}
	if tag == "" {
		tag = DefaultTag
	}
	return p.Image + ":" + tag
}

func (p *Package) errf(pos spec.Pos, format string, args ...any) error {
	if pos.Line == 0 {
		return fmt.Errorf("%s: %s", p.File, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s:%d: %s", p.File, pos.Line, fmt.Sprintf(format, args...))
}

func (p *Package) validate() error {
	if p.Image == "" {
		return p.errf(spec.Pos{}, "image: is required")
	}
	if p.Org != "" {
		if strings.Contains(p.Image, "/") {
			return p.errf(p.KeyPos["org"], "org %q and image %q: the image names its org already", p.Org, p.Image)
		}
		p.Image = p.Org + "/" + p.Image
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"buildArgs", p.BuildArgs != nil}, {"dockerfile", p.Dockerfile != ""}} {
		if k.set {
			key := k.key
			return p.errf(p.KeyPos[key], "%s: a LinuxKit package built from its Dockerfile: keel pkg build runs no Dockerfiles; describe the image with binaries: (Go packages) and files: (including deb:)", key)
		}
	}
	if len(p.Binaries) == 0 && len(p.Files) == 0 {
		// An image of a label alone is fine; one whose contents a Dockerfile was to make is not.
		if _, err := os.Stat(filepath.Join(p.Dir, "Dockerfile")); err == nil {
			return p.errf(spec.Pos{}, "a LinuxKit package built from its Dockerfile: keel pkg build runs no Dockerfiles; describe the image with binaries: (Go packages) and files: (including deb:)")
		}
	}
	if last := p.Image[strings.LastIndex(p.Image, "/")+1:]; strings.ContainsAny(last, ":@") {
		return p.errf(p.KeyPos["image"], "image %q must be a repository without tag or digest: use tag:", p.Image)
	}
	if _, err := name.NewRepository(p.Image); err != nil {
		return p.errf(p.KeyPos["image"], "image %q: %v", p.Image, err)
	}
	if _, err := name.NewTag(p.Ref("")); err != nil {
		return p.errf(p.KeyPos["tag"], "tag %q: %v", p.Tag, err)
	}
	if p.WorkingDir != "" && !path.IsAbs(p.WorkingDir) {
		return p.errf(p.KeyPos["workdir"], "workdir %q must be absolute", p.WorkingDir)
	}
	for _, b := range p.Binaries {
		if b.Package == "" {
			return p.errf(b.Pos, "binary: package: is required")
		}
		if err := checkImagePath(b.Path); err != nil {
			return p.errf(b.Pos, "binary %s: path: %v", b.Package, err)
		}
		for _, l := range b.Links {
			if err := checkImagePath(l); err != nil {
				return p.errf(b.Pos, "binary %s: links: %v", b.Package, err)
			}
		}
	}
	for _, f := range p.Files {
		if err := checkImagePath(f.Path); err != nil {
			return p.errf(f.Pos, "file: path: %v", err)
		}
		kinds := 0
		for _, set := range []bool{f.Source != "", f.Contents != nil, f.Directory, f.Symlink != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			return p.errf(f.Pos, "file %s: set exactly one of source, contents, directory, symlink", f.Path)
		}
		if f.Deb != "" && (f.Source == "" || !path.IsAbs(f.Source)) {
			return p.errf(f.Pos, "file %s: deb %s needs source: the absolute path of a file in the package", f.Path, f.Deb)
		}
		if f.Concat != "" {
			if f.Source == "" {
				return p.errf(f.Pos, "file %s: concat needs source: a directory", f.Path)
			}
			if _, err := path.Match(f.Concat, ""); err != nil || strings.Contains(f.Concat, "/") {
				return p.errf(f.Pos, "file %s: concat %q is not a file name pattern", f.Path, f.Concat)
			}
		}
		if len(f.Libs) > 0 && f.Deb == "" {
			return p.errf(f.Pos, "file %s: libs needs deb: the shared libraries of a file from a Debian package", f.Path)
		}
		if f.Symlink != "" && f.Mode != nil {
			return p.errf(f.Pos, "file %s: a symlink has no mode", f.Path)
		}
	}
	return nil
}

// checkImagePath accepts absolute, clean paths other than "/".
func checkImagePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("required")
	case !path.IsAbs(p):
		return fmt.Errorf("%q must be absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not clean (want %q)", p, path.Clean(p))
	case p == "/":
		return fmt.Errorf("%q: the root cannot be replaced", p)
	}
	return nil
}

// BuildArches are the arches keel pkg build builds: flag when given (it must be one of
// build.yml's arches: when those are listed), else those of arches: that Keel supports
// (skipped lists the others, e.g. riscv64), else host.
func (p *Package) BuildArches(flag, host string) (build, skipped []string, err error) {
	if flag != "" {
		if _, err := arch.Lookup(flag); err != nil {
			return nil, nil, err
		}
		if len(p.Arches) > 0 && !slices.Contains(p.Arches, flag) {
			return nil, nil, p.errf(p.KeyPos["arches"], "%s is not among the package's arches %v", flag, p.Arches)
		}
		return []string{flag}, nil, nil
	}
	if len(p.Arches) == 0 {
		return []string{host}, nil, nil
	}
	for _, a := range p.Arches {
		if _, err := arch.Lookup(a); err != nil {
			skipped = append(skipped, a)
		} else if !slices.Contains(build, a) {
			build = append(build, a)
		}
	}
	if len(build) == 0 {
		return nil, nil, p.errf(p.KeyPos["arches"], "none of the arches %v is one Keel builds", p.Arches)
	}
	return build, skipped, nil
}
