package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Signatures Probe reports.
const (
	GPT   = "gpt"   // a GUID partition table (primary or backup header)
	DOS   = "dos"   // an MBR boot signature: a DOS partition table (or a FAT boot sector)
	Ext   = "ext4"  // an ext2/3/4 superblock
	XFS   = "xfs"   // an XFS superblock
	Btrfs = "btrfs" // a btrfs superblock
	Swap  = "swap"  // a Linux swap header, for any page size up to 64 KiB
	LUKS  = "luks"  // a LUKS1 or LUKS2 header
)

// swapPageSizes are the page sizes whose swap headers are looked for: each puts the magic
// in the last 10 bytes of its first page.
var swapPageSizes = []int64{4096, 8192, 16384, 65536}

// Probe returns the signature of the first partition table or filesystem found on the disk
// (or partition) r of size bytes, or "" when it has none: it is blank. Reads past the end
// count as zeros, so a tiny device is blank unless a signature fits on it.
func Probe(r io.ReaderAt, size int64) (string, error) {
	read := func(off, n int64) ([]byte, error) {
		b := make([]byte, n)
		if off >= size {
			return b, nil
		}
		_, err := r.ReadAt(b, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read at %d: %w", off, err)
		}
		return b, nil
	}
	head, err := read(0, 4096)
	if err != nil {
		return "", err
	}
	switch {
	case bytes.HasPrefix(head, []byte("LUKS\xba\xbe")):
		return LUKS, nil
	case bytes.HasPrefix(head, []byte("XFSB")):
		return XFS, nil
	case bytes.Equal(head[512:520], []byte("EFI PART")):
		return GPT, nil
	case binary.LittleEndian.Uint16(head[1024+56:]) == 0xEF53:
		return Ext, nil
	}
	for _, ps := range swapPageSizes {
		b, err := read(ps-10, 10)
		if err != nil {
			return "", err
		}
		if string(b) == "SWAPSPACE2" || string(b) == "SWAP-SPACE" {
			return Swap, nil
		}
	}
	b, err := read(65536+64, 8)
	if err != nil {
		return "", err
	}
	if string(b) == "_BHRfS_M" {
		return Btrfs, nil
	}
	// A GPT whose primary header is gone still has its backup in the last sector.
	for _, ss := range []int64{512, 4096} {
		if size >= 2*ss {
			b, err := read(size-ss, 8)
			if err != nil {
				return "", err
			}
			if string(b) == "EFI PART" {
				return GPT, nil
			}
		}
	}
	// Last, as filesystems such as FAT carry the same boot signature.
	if head[510] == 0x55 && head[511] == 0xAA {
		return DOS, nil
	}
	return "", nil
}
