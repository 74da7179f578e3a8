package pkg

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// triples maps the supported target architectures to their Debian multiarch triples, which
// name the C cross compiler (TRIPLE-gcc) and pkg-config dir (/usr/lib/TRIPLE/pkgconfig).
var triples = map[string]string{
	"amd64": "x86_64-linux-gnu",
	"arm64": "aarch64-linux-gnu",
	"s390x": "s390x-linux-gnu",
}

// Arches lists the target architectures Build accepts.
func Arches() []string { return []string{"amd64", "arm64", "s390x"} }

// isLocalPackage reports whether a binaries: package is a path relative to the package dir.
func isLocalPackage(p string) bool {
	return p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

// buildEnv is the environment of go build for binary b on arch.
func buildEnv(b Binary, arch string, extra []string) []string {
	env := append(os.Environ(), "GOOS=linux", "GOARCH="+arch)
	if b.CGO {
		triple := triples[arch]
		cc := triple + "-gcc"
		if runtime.GOOS == "linux" && runtime.GOARCH == arch {
			cc = "gcc"
		}
		env = append(env, "CGO_ENABLED=1", "CC="+cc,
			"PKG_CONFIG_LIBDIR=/usr/lib/"+triple+"/pkgconfig:/usr/share/pkgconfig")
	} else {
		env = append(env, "CGO_ENABLED=0")
	}
	return append(env, extra...)
}

// buildArgs is the go command line (without "go") that compiles b into out.
func buildArgs(b Binary, out string, goflags []string) []string {
	args := []string{"build", "-trimpath", "-buildvcs=false", "-o", out}
	if len(b.Tags) > 0 {
		args = append(args, "-tags", strings.Join(b.Tags, ","))
	}
	ldflags := DefaultLDFlags
	if b.LDFlags != nil {
		ldflags = *b.LDFlags
	}
	if b.CGO {
		ldflags = strings.TrimSpace(ldflags + " -extldflags -static")
	}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	for _, f := range b.GCFlags {
		args = append(args, "-gcflags", f)
	}
	args = append(args, goflags...)
	return append(args, b.Package)
}

// compile builds binary b of package p for opts.Arch into the file out.
func (p *Package) compile(ctx context.Context, b Binary, out string, opts *Options) error {
	dir := p.Dir
	if !isLocalPackage(b.Package) && opts.ModuleDir != "" {
		dir = opts.ModuleDir
	}
	goCmd := opts.Go
	if goCmd == "" {
		goCmd = "go"
	}
	args := buildArgs(b, out, opts.GoFlags)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = buildEnv(b, opts.Arch, opts.Env)
	var log bytes.Buffer
	cmd.Stdout = writers(&log, opts.Stdout)
	cmd.Stderr = writers(&log, opts.Stderr)
	if opts.Stderr != nil {
		fmt.Fprintf(opts.Stderr, "# %s: GOARCH=%s cgo=%v %s %s\n", p.File, opts.Arch, b.CGO, goCmd, strings.Join(args, " "))
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s:%d: build %s for linux/%s: %w\n%s", p.File, b.Pos.Line, b.Package, opts.Arch, err, tail(log.String(), 4000))
	}
	return nil
}

func writers(always io.Writer, maybe io.Writer) io.Writer {
	if maybe == nil {
		return always
	}
	return io.MultiWriter(always, maybe)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
