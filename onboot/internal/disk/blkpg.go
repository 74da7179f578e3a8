package disk

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// blkpgPartition is struct blkpg_partition of linux/blkpg.h.
type blkpgPartition struct {
	Start   int64
	Length  int64
	Pno     int32
	Devname [64]byte
	Volname [64]byte
}

// blkpgIoctlArg is struct blkpg_ioctl_arg.
type blkpgIoctlArg struct {
	Op      int32
	Flags   int32
	Datalen int32
	Data    uintptr
}

const (
	blkpg                = 0x1269 // _IO(0x12, 105)
	blkpgResizePartition = 3
)

// resizePartition tells the kernel that partition part of the disk f now has part's extent.
func resizePartition(f *os.File, part Part, sectorSize int64) error {
	p := blkpgPartition{Start: part.Offset(sectorSize), Length: part.Size(sectorSize), Pno: int32(part.Number)}
	arg := blkpgIoctlArg{Op: blkpgResizePartition, Datalen: int32(unsafe.Sizeof(p)), Data: uintptr(unsafe.Pointer(&p))}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), blkpg, uintptr(unsafe.Pointer(&arg)))
	runtime.KeepAlive(&p)
	if errno != 0 {
		return fmt.Errorf("BLKPG resize partition %d: %w", part.Number, errno)
	}
	return nil
}
