// Package disk writes bootable disk images: a GPT disk whose EFI system partition (FAT32)
// holds files such as a Unified Kernel Image at the removable-media path, through
// github.com/diskfs/go-diskfs, and conversions of such a raw disk to qcow2, VHD, VMDK and
// the tar.gz Google Compute Engine imports, through qemu-img.
//
// Images are deterministic: the disk and partition GUIDs and the FAT volume serial are
// derived from a hash of the files, and every FAT and ISO time is set to the build's epoch
// (SOURCE_DATE_EPOCH) once the image is written, so the same inputs give the same bytes.
package disk

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/backend/file"
	diskpkg "github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/google/uuid"
)

// File is a file to put on a filesystem.
type File struct {
	Path string // slash-separated, relative to the filesystem's root: EFI/BOOT/BOOTX64.EFI
	Data []byte
}

const (
	// MiB is a mebibyte: partitions start and end on MiB boundaries.
	MiB = 1 << 20
	// DefaultSize is a raw disk's size when none is given and its contents fit with room to
	// spare: the space after the EFI system partition is left for extending the machine.
	DefaultSize = 256 * MiB

	sectorSize = 512
	// gptReserve is what the GPT takes at each end of the disk (protective MBR, header and
	// 128 entries of 128 bytes at the start; entries and header at the end), rounded to 1 MiB.
	gptReserve = 1 * MiB
	// minESP keeps a FAT32 ESP above 65525 clusters of 512 bytes: firmware tells FAT32 from
	// FAT16 by the cluster count alone.
	minESP = 40 * MiB

	espLabel  = "KEEL-ESP"
	bootLabel = "KEEL-BOOT" // a BIOS disk's FAT partition
	espName   = "EFI System"
)

// ESPSize is the size of an EFI system partition for files: their size plus an eighth and
// 8 MiB for FAT and directory overhead and later updates, in whole MiB, at least minESP.
func ESPSize(files []File) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f.Data))
	}
	size := alignUp(n+n/8+8*MiB, MiB)
	return max(size, minESP)
}

// MinSize is the smallest raw EFI disk that holds files.
func MinSize(files []File) int64 { return ESPSize(files) + 2*gptReserve }

// EFIOptions control WriteRawEFI.
type EFIOptions struct {
	Size  int64     // the disk's size; 0 is DefaultSize or MinSize, whichever is larger
	Epoch time.Time // every FAT time; a time before 1980 (FAT's first) is 1980-01-01
}

// WriteRawEFI writes to f (an empty file) a GPT disk with one EFI system partition at 1 MiB
// holding files; the rest of the disk stays free (and sparse in f).
func WriteRawEFI(f *os.File, files []File, opts EFIOptions) error {
	esp := ESPSize(files)
	size := opts.Size
	if size == 0 {
		size = max(DefaultSize, MinSize(files))
	}
	if size%sectorSize != 0 {
		return fmt.Errorf("disk size %d: not a multiple of %d bytes", size, sectorSize)
	}
	if size < MinSize(files) {
		return fmt.Errorf("disk size %s: too small for its %s EFI system partition (at least %s)", FormatSize(size), FormatSize(esp), FormatSize(MinSize(files)))
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	sum := contentHash(files, size)
	d, err := diskfs.OpenBackend(file.New(f, false))
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	table := &gpt.Table{
		LogicalSectorSize: sectorSize, PhysicalSectorSize: sectorSize, ProtectiveMBR: true,
		GUID: guidFrom(sum, "disk"),
		Partitions: []*gpt.Partition{{
			Index: 1, Start: gptReserve / sectorSize, End: uint64((gptReserve+esp)/sectorSize - 1),
			Type: gpt.EFISystemPartition, Name: espName, GUID: guidFrom(sum, "esp"),
		}},
	}
	if err := d.Partition(table); err != nil {
		return fmt.Errorf("disk: partition table: %w", err)
	}
	if err := writeFAT(d, 1, gptReserve, filesystem.TypeFat32, espLabel, files, opts.Epoch, sum); err != nil {
		return err
	}
	return nil
}

// Limits of an El Torito ESP image as FAT16, which keeps it near its contents' size (FAT32
// needs 65525 clusters): go-diskfs's FAT16 has 1 KiB clusters up to 32 MiB and 2 KiB up to
// 128 MiB, and FAT16 holds 4085 to 65524 clusters.
const (
	minESPImage  = 8 * MiB
	maxFAT16ESP  = 120 * MiB
	espImageRoom = 1 * MiB
)

// ESPImageSize is the size of the FAT image WriteESP writes for files: their size plus a
// sixteenth and 1 MiB, in whole MiB, at least 8 MiB; past FAT16's reach, ESPSize.
func ESPImageSize(files []File) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f.Data))
	}
	size := max(alignUp(n+n/16+espImageRoom, MiB), minESPImage)
	if size > maxFAT16ESP {
		return ESPSize(files)
	}
	return size
}

// WriteESP writes to f (an empty file) a FAT image holding files, for an El Torito EFI boot
// entry (removable media, so FAT16 is fine by the UEFI specification), and returns its size.
func WriteESP(f *os.File, files []File, epoch time.Time) (int64, error) {
	size := ESPImageSize(files)
	if err := f.Truncate(size); err != nil {
		return 0, fmt.Errorf("esp: %w", err)
	}
	d, err := diskfs.OpenBackend(file.New(f, false))
	if err != nil {
		return 0, fmt.Errorf("esp: %w", err)
	}
	typ := filesystem.TypeFat16
	if size > maxFAT16ESP {
		typ = filesystem.TypeFat32
	}
	return size, writeFAT(d, 0, 0, typ, espLabel, files, epoch, contentHash(files, size))
}

// writeFAT makes a FAT filesystem of type typ (FAT16 or FAT32) labelled label on partition
// part (0: the whole of d), which starts at byte start, and writes files to it with every
// time at epoch and a volume serial from sum.
func writeFAT(d *diskpkg.Disk, part int, start int64, typ filesystem.Type, label string, files []File, epoch time.Time, sum [32]byte) (err error) {
	fs, err := d.CreateFilesystem(diskpkg.FilesystemSpec{Partition: part, FSType: typ, VolumeLabel: label, Reproducible: true})
	if err != nil {
		return fmt.Errorf("fat: %w", err)
	}
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	made := map[string]bool{}
	for _, f := range sorted {
		p := "/" + path.Clean(f.Path)
		if dir := path.Dir(p); dir != "/" && !made[dir] {
			if err := fs.Mkdir(dir); err != nil {
				return fmt.Errorf("fat: mkdir %s: %w", dir, err)
			}
			made[dir] = true
		}
		w, err := fs.OpenFile(p, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return fmt.Errorf("fat: create %s: %w", p, err)
		}
		if _, err := w.Write(f.Data); err != nil {
			w.Close()
			return fmt.Errorf("fat: write %s: %w", p, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("fat: write %s: %w", p, err)
		}
	}
	w, err := d.Backend.Writable()
	if err != nil {
		return fmt.Errorf("fat: %w", err)
	}
	if err := setFATTimes(w, start, epoch); err != nil {
		return err
	}
	// go-diskfs writes a zero serial when asked for a reproducible filesystem: put one
	// derived from the contents in the boot sector and, on FAT32, its backup (sector 6).
	at := []int64{start + fat16SerialOffset}
	if typ == filesystem.TypeFat32 {
		at = []int64{start + fat32SerialOffset, start + 6*sectorSize + fat32SerialOffset}
	}
	for _, off := range at {
		if _, err := w.WriteAt(sum[:4], off); err != nil {
			return fmt.Errorf("fat: volume serial: %w", err)
		}
		// The hidden sectors before the file system: where its partition starts, as
		// mkfs.fat writes it (a BIOS boot sector may read it to find its own sectors).
		var hidden [4]byte
		binary.LittleEndian.PutUint32(hidden[:], uint32(start/sectorSize))
		if _, err := w.WriteAt(hidden[:], off-serialOffset(typ)+fatHiddenOffset); err != nil {
			return fmt.Errorf("fat: hidden sectors: %w", err)
		}
	}
	return nil
}

// fatHiddenOffset is the offset of the BPB's hidden sector count.
const fatHiddenOffset = 0x1c

func serialOffset(typ filesystem.Type) int64 {
	if typ == filesystem.TypeFat32 {
		return fat32SerialOffset
	}
	return fat16SerialOffset
}

// The volume serial's offset in a FAT16 and a FAT32 boot sector.
const (
	fat16SerialOffset = 0x27
	fat32SerialOffset = 0x43
)

// contentHash is what GUIDs and serials are derived from: the files and the disk size.
func contentHash(files []File, size int64) [32]byte {
	h := sha256.New()
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(size))
	h.Write(n[:])
	for _, f := range sorted {
		h.Write([]byte(f.Path + "\x00"))
		binary.BigEndian.PutUint64(n[:], uint64(len(f.Data)))
		h.Write(n[:])
		h.Write(f.Data)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// keelNamespace is the UUID namespace of the GUIDs Keel derives (a name-based UUID itself).
var keelNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/keel-os/keel/build/disk"))

// guidFrom is a name-based (version 5) UUID of the content hash and what it names.
func guidFrom(sum [32]byte, what string) string {
	return uuid.NewSHA1(keelNamespace, append(sum[:], what...)).String()
}

func alignUp(n, align int64) int64 { return (n + align - 1) / align * align }

// FormatSize prints n bytes in the largest binary unit that divides it, else in bytes.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// copyFile copies the file at src to w.
func copyFile(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

var errNoQEMUImg = errors.New("qemu-img not found (Debian's qemu-utils)")
