package pkg

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestBuildArgsDefaultToTrimpathAndStrippedLDFlags(t *testing.T) {
	got := buildArgs(Binary{Package: "./cmd/x", Tags: []string{"netgo", "osusergo"}}, "/tmp/out", []string{"-v"})
	want := []string{"build", "-trimpath", "-buildvcs=false", "-o", "/tmp/out", "-tags", "netgo,osusergo", "-ldflags", "-s -w", "-v", "./cmd/x"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q\nwant   %q", got, want)
	}
}

func TestBuildArgsPassGCFlagsOnlyWhenSet(t *testing.T) {
	got := buildArgs(Binary{Package: "./x", GCFlags: Flags{"all=-l"}}, "/o", nil)
	if i := slices.Index(got, "-gcflags"); i < 0 || got[i+1] != "all=-l" || got[len(got)-1] != "./x" {
		t.Errorf("args = %q, want -gcflags all=-l before the package", got)
	}
	if got := buildArgs(Binary{Package: "./x"}, "/o", nil); slices.Contains(got, "-gcflags") {
		t.Errorf("args = %q, want no -gcflags", got)
	}
}

func TestBuildArgsGiveGCFlagsOncePerPatternInOrder(t *testing.T) {
	got := buildArgs(Binary{Package: "./x", GCFlags: Flags{"a/...=-l", "b/...=-l"}}, "/o", nil)
	want := []string{"build", "-trimpath", "-buildvcs=false", "-o", "/o", "-ldflags", "-s -w",
		"-gcflags", "a/...=-l", "-gcflags", "b/...=-l", "./x"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q\nwant   %q", got, want)
	}
}

func TestBuildArgsForCgoLinkStatically(t *testing.T) {
	empty := ""
	got := buildArgs(Binary{Package: "github.com/opencontainers/runc", CGO: true, LDFlags: &empty}, "/o", nil)
	if !slices.Contains(got, "-extldflags -static") {
		t.Errorf("args = %q, want -ldflags '-extldflags -static'", got)
	}
	got = buildArgs(Binary{Package: "./x", CGO: true}, "/o", nil)
	if !slices.Contains(got, "-s -w -extldflags -static") {
		t.Errorf("args = %q, want default ldflags plus -extldflags -static", got)
	}
}

func TestBuildEnvSelectsCrossCompilerForCgo(t *testing.T) {
	env := buildEnv(Binary{CGO: true}, "arm64", nil)
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=1", "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	wantCC := "CC=aarch64-linux-gnu-gcc"
	if runtime.GOARCH == "arm64" {
		wantCC = "CC=gcc"
	}
	if !slices.Contains(env, wantCC) {
		t.Errorf("env lacks %s", wantCC)
	}
	env = buildEnv(Binary{CGO: true}, "s390x", nil)
	if !slices.Contains(env, "CC=s390x-linux-gnu-gcc") && runtime.GOARCH != "s390x" {
		t.Errorf("env lacks CC=s390x-linux-gnu-gcc")
	}
}

func TestBuildEnvDisablesCgoByDefaultAndLetsExtraWin(t *testing.T) {
	env := buildEnv(Binary{}, "amd64", []string{"GOAMD64=v3"})
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("env lacks CGO_ENABLED=0")
	}
	if env[len(env)-1] != "GOAMD64=v3" {
		t.Errorf("extra env not last: %q", env[len(env)-1])
	}
	if strings.Contains(strings.Join(env[len(env)-3:], " "), "CC=") {
		t.Errorf("CC set without cgo: %q", env[len(env)-3:])
	}
}

func TestIsLocalPackageTellsPathsFromImportPaths(t *testing.T) {
	for p, want := range map[string]bool{".": true, "./cmd/x": true, "../y": true, "github.com/a/b": false, "cmd/x": false} {
		if got := isLocalPackage(p); got != want {
			t.Errorf("isLocalPackage(%q) = %v, want %v", p, got, want)
		}
	}
}
