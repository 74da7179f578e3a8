package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// FAT layout (Microsoft's FAT specification): BIOS parameter block fields and directory
// entries.
const (
	bpbBytesPerSector    = 0x0b
	bpbSectorsPerCluster = 0x0d
	bpbReservedSectors   = 0x0e
	bpbFATCount          = 0x10
	bpbRootEntries       = 0x11
	bpbSectorsPerFAT16   = 0x16
	bpbSectorsPerFAT32   = 0x24
	bpbRootCluster       = 0x2c

	dirEntrySize  = 32
	attrDirectory = 0x10
	attrLFN       = 0x0f // a long file name slot: it has no times
)

// fatEpoch is the first time FAT can record.
var fatEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// setFATTimes sets the creation, access and modification times of every entry of the FAT12,
// 16 or 32 file system starting at byte start of f (the volume label, ".", ".." and
// ldlinux.sys included) to t, or to 1980-01-01 if t is earlier. go-diskfs and mtools take
// them from the clock.
func setFATTimes(f interface {
	io.ReaderAt
	io.WriterAt
}, start int64, t time.Time) error {
	t = t.UTC()
	if t.Before(fatEpoch) {
		t = fatEpoch
	}
	if t.Year() > 2107 {
		return fmt.Errorf("fat: %v is past FAT's last year, 2107", t)
	}
	date := uint16(t.Year()-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	clock := uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	tenths := byte(t.Second()%2) * 100

	bpb := make([]byte, 512)
	if _, err := f.ReadAt(bpb, start); err != nil {
		return fmt.Errorf("fat: boot sector: %w", err)
	}
	bps := int64(binary.LittleEndian.Uint16(bpb[bpbBytesPerSector:]))
	spc := int64(bpb[bpbSectorsPerCluster])
	reserved := int64(binary.LittleEndian.Uint16(bpb[bpbReservedSectors:]))
	fats := int64(bpb[bpbFATCount])
	rootEntries := int64(binary.LittleEndian.Uint16(bpb[bpbRootEntries:]))
	spf := int64(binary.LittleEndian.Uint16(bpb[bpbSectorsPerFAT16:]))
	fat32 := spf == 0
	if fat32 {
		spf = int64(binary.LittleEndian.Uint32(bpb[bpbSectorsPerFAT32:]))
	}
	if bps < 512 || bps&(bps-1) != 0 || spc == 0 || fats == 0 || spf == 0 {
		return errors.New("fat: not a FAT boot sector")
	}
	rootStart := start + (reserved+fats*spf)*bps
	dataStart := rootStart + (rootEntries*dirEntrySize+bps-1)/bps*bps
	clusterSize := spc * bps
	fatStart := start + reserved*bps

	// chain returns the byte ranges of the clusters of the chain starting at cluster c.
	chain := func(c uint32) ([][2]int64, error) {
		var out [][2]int64
		for n := 0; c >= 2; n++ {
			if n > 1<<22 {
				return nil, errors.New("fat: cluster chain loops")
			}
			out = append(out, [2]int64{dataStart + int64(c-2)*clusterSize, clusterSize})
			var next uint32
			if fat32 {
				var b [4]byte
				if _, err := f.ReadAt(b[:], fatStart+int64(c)*4); err != nil {
					return nil, err
				}
				next = binary.LittleEndian.Uint32(b[:]) & 0x0fffffff
				if next >= 0x0ffffff8 {
					break
				}
			} else {
				var b [2]byte
				if _, err := f.ReadAt(b[:], fatStart+int64(c)*2); err != nil {
					return nil, err
				}
				next = uint32(binary.LittleEndian.Uint16(b[:]))
				if next >= 0xfff8 {
					break
				}
			}
			c = next
		}
		return out, nil
	}

	var walk func(ranges [][2]int64, depth int) error
	walk = func(ranges [][2]int64, depth int) error {
		if depth > 64 {
			return errors.New("fat: directories nest too deep")
		}
		for _, r := range ranges {
			buf := make([]byte, r[1])
			if _, err := f.ReadAt(buf, r[0]); err != nil {
				return fmt.Errorf("fat: directory at %d: %w", r[0], err)
			}
			var subdirs []uint32
			for off := 0; off+dirEntrySize <= len(buf); off += dirEntrySize {
				e := buf[off : off+dirEntrySize]
				if e[0] == 0 {
					break
				}
				if e[0] == 0xe5 || e[11] == attrLFN {
					continue
				}
				e[13] = tenths
				for _, at := range []int{14, 22} {
					binary.LittleEndian.PutUint16(e[at:], clock)
				}
				for _, at := range []int{16, 18, 24} {
					binary.LittleEndian.PutUint16(e[at:], date)
				}
				if e[11]&attrDirectory != 0 && e[0] != '.' {
					c := uint32(binary.LittleEndian.Uint16(e[26:]))
					if fat32 {
						c |= uint32(binary.LittleEndian.Uint16(e[20:])) << 16
					}
					subdirs = append(subdirs, c)
				}
			}
			if _, err := f.WriteAt(buf, r[0]); err != nil {
				return fmt.Errorf("fat: directory at %d: %w", r[0], err)
			}
			for _, c := range subdirs {
				sub, err := chain(c)
				if err != nil {
					return err
				}
				if err := walk(sub, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	root := [][2]int64{{rootStart, rootEntries * dirEntrySize}}
	if fat32 {
		var err error
		if root, err = chain(binary.LittleEndian.Uint32(bpb[bpbRootCluster:])); err != nil {
			return err
		}
	}
	return walk(root, 0)
}
