package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"
)

// FS is what a filesystem's superblock says about it.
type FS struct {
	Type  string // Ext, XFS or Btrfs
	Label string
	UUID  string // lower-case, as blkid prints it
	Size  int64  // bytes the filesystem spans; ext2/3/4 only, else 0
}

// ReadFS reads the type, label and UUID of the ext2/3/4, XFS or btrfs filesystem on r; ok
// is false when r holds none of them.
func ReadFS(r io.ReaderAt, size int64) (fs FS, ok bool, err error) {
	sig, err := Probe(r, size)
	if err != nil {
		return FS{}, false, err
	}
	var labelOff, labelLen, uuidOff int64
	switch sig {
	case Ext:
		labelOff, labelLen, uuidOff = 1024+120, 16, 1024+104
	case XFS:
		labelOff, labelLen, uuidOff = 108, 12, 32
	case Btrfs:
		labelOff, labelLen, uuidOff = 65536+0x12b, 256, 65536+32
	default:
		return FS{}, false, nil
	}
	label := make([]byte, labelLen)
	id := make([]byte, 16)
	if _, err := r.ReadAt(label, labelOff); err != nil && !errors.Is(err, io.EOF) {
		return FS{}, false, fmt.Errorf("read %s label: %w", sig, err)
	}
	if _, err := r.ReadAt(id, uuidOff); err != nil && !errors.Is(err, io.EOF) {
		return FS{}, false, fmt.Errorf("read %s uuid: %w", sig, err)
	}
	if i := bytes.IndexByte(label, 0); i >= 0 {
		label = label[:i]
	}
	u, _ := uuid.FromBytes(id)
	fs = FS{Type: sig, Label: string(label), UUID: u.String()}
	if sig == Ext {
		if fs.Size, err = extSize(r); err != nil {
			return FS{}, false, err
		}
	}
	return fs, true, nil
}

// extSize reads the block count and block size from an ext2/3/4 superblock.
func extSize(r io.ReaderAt) (int64, error) {
	sb := make([]byte, 1024)
	if _, err := r.ReadAt(sb, 1024); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read ext4 superblock: %w", err)
	}
	le := binary.LittleEndian
	blocks := uint64(le.Uint32(sb[4:]))
	if le.Uint32(sb[96:])&0x80 != 0 { // INCOMPAT_64BIT
		blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	logSize := le.Uint32(sb[24:])
	if logSize > 6 {
		return 0, fmt.Errorf("ext4 superblock: block size 1024<<%d", logSize)
	}
	return int64(blocks) * (1024 << logSize), nil
}
