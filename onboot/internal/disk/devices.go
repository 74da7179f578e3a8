package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Sys is where the machine's devices are: sysfs and the device directory. Tests point
// it at a fake tree.
type Sys struct {
	Block string // the directory of disks, /sys/block
	Class string // the directory of disks and partitions, /sys/class/block
	Dev   string // the device nodes, /dev
}

// Host is the running machine's.
var Host = Sys{Block: "/sys/block", Class: "/sys/class/block", Dev: "/dev"}

// skipDisks are name prefixes of block devices that are not disks to format or mount.
var skipDisks = []string{"loop", "ram", "nbd", "zram", "dm-", "md", "sr", "fd", "mtdblock"}

// Disks returns the whole disks, as device paths sorted by name (vda before vdb): block
// devices that are not loop, RAM, network, device-mapper, RAID, optical or floppy devices.
func (s Sys) Disks() ([]string, error) {
	entries, err := os.ReadDir(s.Block)
	if err != nil {
		return nil, fmt.Errorf("list disks: %w", err)
	}
	var disks []string
next:
	for _, e := range entries {
		for _, p := range skipDisks {
			if strings.HasPrefix(e.Name(), p) {
				continue next
			}
		}
		disks = append(disks, filepath.Join(s.Dev, e.Name()))
	}
	sort.Strings(disks)
	return disks, nil
}

// Partitions returns the partitions of the disk at path, by number, as device paths.
func (s Sys) Partitions(disk string) (map[int]string, error) {
	name := filepath.Base(disk)
	entries, err := os.ReadDir(filepath.Join(s.Block, name))
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", disk, err)
	}
	parts := map[int]string{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), name) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.Block, name, e.Name(), "partition"))
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		parts[n] = filepath.Join(s.Dev, e.Name())
	}
	return parts, nil
}

// Devices returns every disk and partition, as device paths sorted by name.
func (s Sys) Devices() ([]string, error) {
	entries, err := os.ReadDir(s.Class)
	if err != nil {
		return nil, fmt.Errorf("list block devices: %w", err)
	}
	var devs []string
next:
	for _, e := range entries {
		for _, p := range skipDisks {
			if strings.HasPrefix(e.Name(), p) && p != "dm-" {
				continue next
			}
		}
		devs = append(devs, filepath.Join(s.Dev, e.Name()))
	}
	sort.Strings(devs)
	return devs, nil
}

// PartitionPath is the device path of partition n of disk: /dev/vda1, or /dev/nvme0n1p1
// when the disk's name ends in a digit.
func PartitionPath(disk string, n int) string {
	if c := disk[len(disk)-1]; c >= '0' && c <= '9' {
		return fmt.Sprintf("%sp%d", disk, n)
	}
	return fmt.Sprintf("%s%d", disk, n)
}

// Size returns the size in bytes of the block device or file f.
func Size(f *os.File) (int64, error) {
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", f.Name(), err)
	}
	return n, nil
}

// SectorSize returns the logical sector size of the block device f; 512 for a file.
func SectorSize(f *os.File) int64 {
	if n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET); err == nil && n > 0 {
		return int64(n)
	}
	return 512
}

// IsBlock reports whether path is a block device node.
func IsBlock(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0
}

// Reread asks the kernel to read the partition table of the disk f again (BLKRRPART); when
// a partition is in use, it tells the kernel part's new extent instead (BLKPG). Files are
// left alone.
func Reread(f *os.File, part Part, sectorSize int64) error {
	if fi, err := f.Stat(); err != nil || fi.Mode().IsRegular() {
		return nil
	}
	err := unix.IoctlSetInt(int(f.Fd()), unix.BLKRRPART, 0)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("re-read partition table of %s: %w", f.Name(), err)
	}
	if err := resizePartition(f, part, sectorSize); err != nil {
		return fmt.Errorf("re-read partition table of %s: busy, and %w", f.Name(), err)
	}
	return nil
}

// WaitBlock waits up to timeout for path to be a block device node: devtmpfs creates the
// nodes of new partitions a moment after the kernel reads the table.
func WaitBlock(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !IsBlock(path) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", path, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
