package disk

import (
	"bytes"
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
	return FS{Type: sig, Label: string(label), UUID: u.String()}, true, nil
}
