package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// DefaultSource is Debian's kernel source tarball (package linux-source-6.12).
const DefaultSource = "/usr/src/linux-source-6.12.tar.xz"

// Unpack returns the source tree of tarball, unpacked once into cacheDir/kernel/src under
// the hash of the tarball's contents.
func Unpack(ctx context.Context, tarball, cacheDir string) (string, error) {
	root := filepath.Join(cacheDir, "kernel")
	h, err := sourceHash(tarball, root)
	if err != nil {
		return "", fmt.Errorf("kernel source: %w", err)
	}
	return unpackOnce(ctx, tarball, h, root, io.Discard)
}

// sourceHash is hashFile(tarball), remembered in root/sums under the tarball's path, size and
// modification time: hashing Debian's 150 MB tarball takes most of a cached build's time.
func sourceHash(tarball, root string) (string, error) {
	fi, err := os.Stat(tarball)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(tarball)
	if err != nil {
		return "", err
	}
	id := sha256.Sum256([]byte(fmt.Sprintf("%s\n%d\n%d", abs, fi.Size(), fi.ModTime().UnixNano())))
	memo := filepath.Join(root, "sums", hex.EncodeToString(id[:16]))
	if b, err := os.ReadFile(memo); err == nil && len(b) == 64 {
		return string(b), nil
	}
	h, err := hashFile(tarball)
	if err != nil {
		return "", err
	}
	// A memo that cannot be written only costs the next build a rehash.
	if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		tmp := fmt.Sprintf("%s.%d", memo, os.Getpid())
		if os.WriteFile(tmp, []byte(h), 0o644) == nil {
			os.Rename(tmp, memo)
		}
	}
	return h, nil
}

// srcDir is the name, under the kernel cache's src/, of the tree of the source hashing to hash.
func srcDir(hash string) string { return hash[:16] }

// unpackOnce unpacks tarball, whose contents hash to hash, into root/src unless it is there.
func unpackOnce(ctx context.Context, tarball, hash, root string, log io.Writer) (string, error) {
	src := filepath.Join(root, "src", srcDir(hash))
	if _, err := os.Stat(src); err == nil {
		return src, nil
	}
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return "", fmt.Errorf("kernel cache: %w", err)
	}
	unlock, err := lock(filepath.Join(root, "src.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(src); err == nil {
		return src, nil
	}
	fmt.Fprintf(log, "kernel: unpacking %s\n", tarball)
	if err := unpack(ctx, tarball, src); err != nil {
		return "", err
	}
	return src, nil
}

// hashFile returns the hex SHA-256 of a file's contents.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unpack extracts tarball (any compression tar understands; its single top directory is
// stripped) into dir, which must not exist yet. It extracts beside dir and renames the tree
// into place, so dir is either complete or absent.
func unpack(ctx context.Context, tarball, dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-")
	if err != nil {
		return fmt.Errorf("unpack %s: %w", tarball, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", tmp, "--strip-components=1", "--no-same-owner")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("unpack %s: %w: %s", tarball, err, tail(out))
	}
	if _, err := os.Stat(filepath.Join(tmp, "scripts", "kconfig", "merge_config.sh")); err != nil {
		return fmt.Errorf("unpack %s: not a Linux source tree (no scripts/kconfig/merge_config.sh)", tarball)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil {
			return fmt.Errorf("unpack %s: %w", tarball, err)
		}
	}
	return nil
}

// tail is the end of a command's output, for error messages.
func tail(out []byte) string {
	const n = 3000
	if len(out) > n {
		out = append([]byte("..."), out[len(out)-n:]...)
	}
	return string(out)
}
