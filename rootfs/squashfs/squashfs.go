// Package squashfs writes a tree as a squashfs filesystem image, the read-only root of the
// kernel+squashfs format: the kernel mounts it from a disk instead of unpacking an initramfs
// into memory, and reads only the blocks a process touches.
//
// The image is made by mksquashfs (Debian package squashfs-tools, 4.5 or later), which reads
// the tree as a tar archive on its standard input, so owners, modes, device nodes and hard
// links come from the tree and writing needs no root. It is reproducible: every timestamp is
// the tree's own (clamped as tarout clamps them) or Options.Epoch.
package squashfs

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keel-os/keel/rootfs/tarout"
	"github.com/keel-os/keel/rootfs/tree"
)

// Command is the program Write runs.
const Command = "mksquashfs"

// Options control Write.
type Options struct {
	// Epoch is the filesystem's creation time and every file's modification time. Times
	// before 1970 mean 1970.
	Epoch time.Time
	// BlockSize is the data block size in bytes, a power of two from 4 KiB to 1 MiB;
	// 0 means DefaultBlockSize.
	BlockSize int
}

// DefaultBlockSize is the block size Write uses unless told otherwise: mksquashfs's default,
// which reads no more than a 128 KiB block (one decompression) for a small file's page.
const DefaultBlockSize = 128 << 10

// Write writes t to w as a zstd-compressed squashfs image. The image is made in a
// temporary directory and copied to w, as mksquashfs needs a file it can seek.
func Write(w io.Writer, t *tree.Tree, opts Options) error {
	bin, err := exec.LookPath(Command)
	if err != nil {
		return fmt.Errorf("squashfs: needs %s (Debian package squashfs-tools): %w", Command, err)
	}
	bs := cmp.Or(opts.BlockSize, DefaultBlockSize)
	if bs < 4<<10 || bs > 1<<20 || bs&(bs-1) != 0 {
		return fmt.Errorf("squashfs: block size %d: want a power of two from 4096 to 1048576", bs)
	}
	dir, err := os.MkdirTemp("", "keel-squashfs-")
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "root.img")
	epoch := opts.Epoch
	if epoch.Before(time.Unix(0, 0)) {
		epoch = time.Unix(0, 0)
	}
	sec := strconv.FormatInt(epoch.Unix(), 10)
	cmd := exec.Command(bin, args(img, sec, bs)...)
	// mksquashfs refuses SOURCE_DATE_EPOCH beside the times given as options.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "SOURCE_DATE_EPOCH=") })
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("squashfs: %s: %w", Command, err)
	}
	werr := tarout.WriteClamped(in, t, &epoch)
	if cerr := in.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = cmd.Process.Kill() // the tree did not go in whole: no image
	}
	err = cmd.Wait()
	switch msg := strings.TrimSpace(out.String()); {
	case werr != nil && err != nil && msg != "":
		return fmt.Errorf("squashfs: %s: %w", msg, werr)
	case werr != nil:
		return fmt.Errorf("squashfs: %w", werr)
	case err != nil:
		return fmt.Errorf("squashfs: %s: %s: %w", Command, msg, err)
	}
	f, err := os.Open(img)
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	return nil
}

// args are mksquashfs's arguments: the tar archive on standard input, zstd, no NFS export
// table, every timestamp the epoch (mksquashfs 4.5 cannot set the root's time alone from a tar).
func args(img, epoch string, blockSize int) []string {
	return []string{"-", img, "-tar", "-noappend", "-quiet", "-no-progress",
		"-comp", "zstd", "-b", strconv.Itoa(blockSize), "-no-exports",
		"-mkfs-time", epoch, "-all-time", epoch, "-root-mode", "755", "-root-uid", "0", "-root-gid", "0",
	}
}
