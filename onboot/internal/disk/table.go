package disk

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// Partition table schemes, as format's -partition names them.
const (
	SchemeGPT = "gpt"
	SchemeDOS = "dos"
)

// align is where the first partition starts and the unit partitions are aligned to.
const align = 1 << 20

// gptEntrySectors is how many sectors the 128 entries of 128 bytes take.
func gptEntrySectors(sectorSize int64) int64 { return 128 * 128 / sectorSize }

// Part is a partition: its number (from 1) and its first and last sector, inclusive.
type Part struct {
	Number     int
	Start, End int64
}

// Offset is where the partition starts in bytes, for sectorSize.
func (p Part) Offset(sectorSize int64) int64 { return p.Start * sectorSize }

// Size is the partition's length in bytes, for sectorSize.
func (p Part) Size(sectorSize int64) int64 { return (p.End - p.Start + 1) * sectorSize }

// Create writes a partition table of scheme (SchemeGPT or SchemeDOS) holding one Linux
// partition over the whole disk f of size bytes, starting at 1 MiB; name is the GPT
// partition name. Disk and partition GUIDs are random.
func Create(f *os.File, size, sectorSize int64, scheme, name string) (Part, error) {
	sectors := size / sectorSize
	start := align / sectorSize
	switch scheme {
	case SchemeGPT, "":
		// the backup entries and header take the end of the disk
		end := sectors - 1 - gptEntrySectors(sectorSize) - 1
		if end < start {
			return Part{}, fmt.Errorf("gpt: disk of %d bytes is too small", size)
		}
		t := &gpt.Table{
			LogicalSectorSize:  int(sectorSize),
			PhysicalSectorSize: int(sectorSize),
			ProtectiveMBR:      true,
			Partitions: []*gpt.Partition{{
				Index: 1, Start: uint64(start), End: uint64(end), Size: uint64((end - start + 1) * sectorSize),
				Type: gpt.LinuxFilesystem, Name: name,
			}},
		}
		if err := t.Write(f, size); err != nil {
			return Part{}, fmt.Errorf("gpt: %w", err)
		}
		return Part{1, start, end}, nil
	case SchemeDOS:
		end := min(sectors, math.MaxUint32) - 1
		if end < start {
			return Part{}, fmt.Errorf("dos: disk of %d bytes is too small", size)
		}
		t := &mbr.Table{
			LogicalSectorSize:  int(sectorSize),
			PhysicalSectorSize: int(sectorSize),
			Partitions:         []*mbr.Partition{{Type: mbr.Linux, Start: uint32(start), Size: uint32(end - start + 1)}},
		}
		if err := t.Write(f, size); err != nil {
			return Part{}, fmt.Errorf("dos: %w", err)
		}
		return Part{1, start, end}, nil
	}
	return Part{}, fmt.Errorf("partition table %q: want gpt or dos", scheme)
}

// ErrNoTable is returned by Grow for a disk without a GPT or DOS partition table.
var ErrNoTable = errors.New("no partition table")

// Grow extends the last partition of the disk f (size bytes) to the end of the disk: for a
// GPT it moves the backup header there first. It reports the partition and whether it
// changed; a partition that already ends where it can is left alone.
func Grow(f *os.File, size, sectorSize int64) (Part, bool, error) {
	sig, err := Probe(f, size)
	if err != nil {
		return Part{}, false, err
	}
	switch sig {
	case GPT:
		return growGPT(f, size, sectorSize)
	case DOS:
		return growDOS(f, size, sectorSize)
	}
	return Part{}, false, ErrNoTable
}

func growGPT(f *os.File, size, sectorSize int64) (Part, bool, error) {
	t, err := gpt.Read(f, int(sectorSize), int(sectorSize))
	if err != nil {
		return Part{}, false, fmt.Errorf("gpt: %w", err)
	}
	var last *gpt.Partition
	for _, p := range t.Partitions {
		if p.Type != gpt.Unused && (last == nil || p.End > last.End) {
			last = p
		}
	}
	if last == nil {
		return Part{}, false, errors.New("gpt: no partitions")
	}
	t.Resize(uint64(size))
	end := t.LastDataSector()
	part := Part{last.Index, int64(last.Start), int64(last.End)}
	if last.End >= end {
		return part, false, nil
	}
	last.End = end
	last.Size = (last.End - last.Start + 1) * uint64(sectorSize)
	if err := t.Write(f, size); err != nil {
		return part, false, fmt.Errorf("gpt: %w", err)
	}
	part.End = int64(end)
	return part, true, nil
}

func growDOS(f *os.File, size, sectorSize int64) (Part, bool, error) {
	t, err := mbr.Read(f, int(sectorSize), int(sectorSize))
	if err != nil {
		return Part{}, false, fmt.Errorf("dos: %w", err)
	}
	last := -1
	for i, p := range t.Partitions {
		if p.Type != mbr.Empty && (last < 0 || p.Start > t.Partitions[last].Start) {
			last = i
		}
	}
	if last < 0 {
		return Part{}, false, errors.New("dos: no partitions")
	}
	p := t.Partitions[last]
	part := Part{last + 1, int64(p.Start), int64(p.Start) + int64(p.Size) - 1}
	end := min(size/sectorSize, math.MaxUint32) - 1
	if part.End >= end {
		return part, false, nil
	}
	p.Size = uint32(end - int64(p.Start) + 1)
	if err := t.Write(f, size); err != nil {
		return part, false, fmt.Errorf("dos: %w", err)
	}
	part.End = end
	return part, true, nil
}
