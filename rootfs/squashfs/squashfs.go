// Package squashfs writes a tree as a squashfs filesystem image, the read-only root of the
// kernel+squashfs format: the kernel mounts it from a disk instead of unpacking an initramfs
// into memory, and reads only the blocks a process touches.
//
// The image is uncompressed unless asked (see Compression). mksquashfs (Debian package
// squashfs-tools, 4.5 or later) makes it from the tree as a tar archive on its standard
// input, so owners, modes, device nodes and hard links come from the tree and writing needs
// no root. It is reproducible: every timestamp in it is Options.Epoch (a read-only root's
// times say nothing a build's epoch does not).
package squashfs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
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
	// Compression is None (the default) or Zstd.
	Compression Compression
	// BlockSize is the data block size in bytes, a power of two from 4 KiB to 1 MiB;
	// 0 means 128 KiB uncompressed, 1 MiB with zstd.
	BlockSize int
}

// Compression is how the image's data and metadata are compressed.
type Compression string

// Compressions. An uncompressed image boots fastest and takes least memory: a page is a copy
// from the disk, not a block's decompression, which costs most under emulation, where the
// kernel+squashfs boot measured 0.8 s quicker than with zstd (docs/performance.md). zstd
// makes the image about a third of the size, for images whose size matters most; its 1 MiB
// blocks decompress in fewer, larger calls, which measured quicker than 128 KiB.
const (
	None Compression = "none"
	Zstd Compression = "zstd"
)

// ParseCompression parses "none" or "zstd"; "" is None.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(strings.ToLower(s)); c {
	case "":
		return None, nil
	case None, Zstd:
		return c, nil
	}
	return "", fmt.Errorf("unknown squashfs compression %q (want none or zstd)", s)
}

// Write writes t as a squashfs image into f, an empty file mksquashfs overwrites by its name
// (it needs a file it can seek, not a stream).
func Write(f *os.File, t *tree.Tree, opts Options) error {
	bin, err := exec.LookPath(Command)
	if err != nil {
		return fmt.Errorf("squashfs: needs %s (Debian package squashfs-tools): %w", Command, err)
	}
	comp, err := ParseCompression(string(opts.Compression))
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	bs := opts.BlockSize
	if bs == 0 {
		bs = map[Compression]int{None: 128 << 10, Zstd: 1 << 20}[comp]
	}
	if bs < 4<<10 || bs > 1<<20 || bs&(bs-1) != 0 {
		return fmt.Errorf("squashfs: block size %d: want a power of two from 4096 to 1048576", bs)
	}
	epoch := opts.Epoch
	if epoch.Before(time.Unix(0, 0)) {
		epoch = time.Unix(0, 0)
	}
	sec := strconv.FormatInt(epoch.Unix(), 10)
	cmd := exec.Command(bin, args(f.Name(), sec, comp, bs)...)
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
	return nil
}

// args are mksquashfs's arguments: the tar archive on standard input, the compression, no
// NFS export table, every timestamp the epoch (mksquashfs 4.5 cannot set the root's time
// alone from a tar).
func args(img, epoch string, comp Compression, blockSize int) []string {
	a := []string{"-", img, "-tar", "-noappend", "-quiet", "-no-progress", "-b", strconv.Itoa(blockSize), "-no-exports",
		"-mkfs-time", epoch, "-all-time", epoch, "-root-mode", "755", "-root-uid", "0", "-root-gid", "0"}
	if comp == None {
		return append(a, "-noI", "-noId", "-noD", "-noF", "-noX")
	}
	return append(a, "-comp", "zstd")
}
