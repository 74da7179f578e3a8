package pkg

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/keel-os/keel/arch"
)

// isLocalPackage reports whether a binaries: package is a path relative to the package dir.
func isLocalPackage(p string) bool {
	return p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

// buildEnv is the environment of go build for binary b on the arch archName, which Build
// has checked: cgo uses Debian's TRIPLE-gcc and /usr/lib/TRIPLE/pkgconfig.
func buildEnv(b Binary, archName string, extra []string) []string {
	env := append(os.Environ(), "GOOS=linux", "GOARCH="+archName)
	if b.CGO {
		a, _ := arch.Lookup(archName)
		env = append(env, "CGO_ENABLED=1", "CC="+a.CC(),
			"PKG_CONFIG_LIBDIR=/usr/lib/"+a.Triple+"/pkgconfig:/usr/share/pkgconfig")
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
