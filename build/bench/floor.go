package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/keel-os/keel/rootfs/atomicfile"
	"github.com/keel-os/keel/rootfs/initrd"
	"github.com/keel-os/keel/rootfs/tree"
)

// ModulePath is Keel's Go module; FloorPackage the floor's /init within it.
const (
	ModulePath   = "github.com/keel-os/keel"
	FloorPackage = "./build/bench/floor"
)

// FindModule returns the directory of Keel's go.mod: dir or the nearest parent holding it.
func FindModule(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modulePath(data) == ModulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod of %s in %s or its parents: run keel bench in Keel's source tree", ModulePath, dir)
		}
		d = parent
	}
}

func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// compileFloor builds the floor's /init for arch (static, CGO_ENABLED=0) into out.
func compileFloor(ctx context.Context, moduleDir, arch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, FloorPackage)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the floor init (%s in %s): %w\n%s", FloorPackage, moduleDir, err, msg)
	}
	return nil
}

// floorTree is the floor's root filesystem: /init, and /dev/console so the kernel gives
// /init the console as its standard output.
func floorTree(init []byte) (*tree.Tree, error) {
	t := tree.New()
	if err := t.AddFile("init", 0o755, 0, 0, init); err != nil {
		return nil, fmt.Errorf("floor tree: %w", err)
	}
	if err := t.AddDir("dev", 0o755, 0, 0); err != nil {
		return nil, fmt.Errorf("floor tree: %w", err)
	}
	if err := t.AddDevice("dev/console", tree.ModeChar, 0o600, 0, 0, 5, 1); err != nil {
		return nil, fmt.Errorf("floor tree: %w", err)
	}
	for _, d := range []string{"proc", "sys"} {
		if err := t.AddDir(d, 0o755, 0, 0); err != nil {
			return nil, fmt.Errorf("floor tree: %w", err)
		}
	}
	return t, nil
}

// buildFloor compiles the floor's /init and writes its zstd initramfs to out.
func buildFloor(ctx context.Context, moduleDir, arch, out string) error {
	bin := out + ".init"
	if err := compileFloor(ctx, moduleDir, arch, bin); err != nil {
		return err
	}
	defer os.Remove(bin)
	data, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	t, err := floorTree(data)
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return fmt.Errorf("floor initrd: %w", err)
	}
	defer f.Close()
	if err := initrd.Write(f, t, initrd.Options{Compression: initrd.Zstd}); err != nil {
		return fmt.Errorf("floor initrd %s: %w", out, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("floor initrd %s: %w", out, err)
	}
	return nil
}
