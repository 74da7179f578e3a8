package pkg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// debName is a Debian package name.
var debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// debRoot returns a directory holding the files of Debian package name for arch, downloading
// (apt-get download name:arch, which needs no root but needs arch among dpkg's architectures)
// and unpacking it into cacheDir/deb the first time.
func debRoot(ctx context.Context, name, arch, cacheDir string) (string, error) {
	if !debName.MatchString(name) {
		return "", fmt.Errorf("deb %q: not a Debian package name", name)
	}
	if cacheDir == "" {
		return "", errors.New("deb " + name + ": no cache directory")
	}
	root := filepath.Join(cacheDir, "deb", name+"_"+arch)
	if _, err := os.Stat(root); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", fmt.Errorf("deb %s: %w", name, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".fetch-")
	if err != nil {
		return "", fmt.Errorf("deb %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	dl := exec.CommandContext(ctx, "apt-get", "download", name+":"+arch)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return "", fmt.Errorf("deb %s:%s: apt-get download: %w: %s (for another arch, run dpkg --add-architecture %s and apt-get update)", name, arch, err, tail(string(out), 1000), arch)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("deb %s:%s: apt-get download left %d .deb files", name, arch, len(debs))
	}
	x := filepath.Join(tmp, "root")
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], x).CombinedOutput(); err != nil {
		return "", fmt.Errorf("deb %s: dpkg-deb -x: %w: %s", filepath.Base(debs[0]), err, tail(string(out), 1000))
	}
	if err := os.Rename(x, root); err != nil {
		if _, statErr := os.Stat(root); statErr != nil { // not a concurrent fetch that won
			return "", fmt.Errorf("deb %s: %w", name, err)
		}
	}
	return root, nil
}
