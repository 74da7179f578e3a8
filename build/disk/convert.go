package disk

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
)

// Image formats Convert writes through qemu-img.
const (
	QCOW2 = "qcow2"
	VHD   = "vhd"  // dynamic VHD (qemu-img's vpc)
	VMDK  = "vmdk" // monolithic sparse VMDK, for VMware Workstation and Fusion
)

// QEMUImg is the qemu-img binary Convert runs (Debian's qemu-utils).
var QEMUImg = "qemu-img"

// ConvertOptions control Convert.
type ConvertOptions struct {
	Format string    // QCOW2, VHD or VMDK
	Epoch  time.Time // VHD's creation time
	// Name is the file name VMDK's descriptor records for its extent: the output's final
	// base name (the output itself may be a temporary file).
	Name string
}

// Convert writes the raw disk image raw to w in opts.Format through qemu-img, with the
// random or time-dependent fields qemu-img writes (VHD's UUID and time, VMDK's content ID)
// replaced by values derived from the raw disk and opts.Epoch, so the result is
// deterministic.
func Convert(ctx context.Context, w io.Writer, raw string, opts ConvertOptions) error {
	var args []string
	switch opts.Format {
	case QCOW2:
		args = []string{"-O", "qcow2"}
	case VHD:
		// force_size keeps the raw size instead of rounding it to a CHS geometry.
		args = []string{"-O", "vpc", "-o", "subformat=dynamic,force_size=on"}
	case VMDK:
		args = []string{"-O", "vmdk"}
	default:
		return fmt.Errorf("convert: format %q: want qcow2, vhd or vmdk", opts.Format)
	}
	bin, err := exec.LookPath(QEMUImg)
	if err != nil {
		return fmt.Errorf("convert to %s: %w", opts.Format, errNoQEMUImg)
	}
	dir, err := os.MkdirTemp(filepath.Dir(raw), ".convert-")
	if err != nil {
		return fmt.Errorf("convert to %s: %w", opts.Format, err)
	}
	defer os.RemoveAll(dir)
	name := opts.Name
	if name == "" {
		name = "disk." + opts.Format
	}
	out := filepath.Join(dir, filepath.Base(name))
	cmd := exec.CommandContext(ctx, bin, append(append([]string{"convert", "-q", "-f", "raw"}, args...), raw, out)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("convert to %s: qemu-img: %w: %s", opts.Format, err, strings.TrimSpace(string(msg)))
	}
	sum, err := fileHash(raw)
	if err != nil {
		return fmt.Errorf("convert to %s: %w", opts.Format, err)
	}
	switch opts.Format {
	case VHD:
		err = fixVHD(out, sum, opts.Epoch)
	case VMDK:
		err = fixVMDK(out, sum)
	}
	if err != nil {
		return fmt.Errorf("convert to %s: %w", opts.Format, err)
	}
	if err := copyFile(w, out); err != nil {
		return fmt.Errorf("convert to %s: %w", opts.Format, err)
	}
	return nil
}

// VHD footer fields (Microsoft's Virtual Hard Disk Image Format Specification): the footer
// is the last 512 bytes, and a dynamic disk has a copy in its first 512.
const (
	vhdFooterSize      = 512
	vhdTimestampOffset = 24 // seconds since 2000-01-01 UTC, big-endian
	vhdChecksumOffset  = 64 // ones' complement of the sum of the footer's bytes
	vhdUUIDOffset      = 68
)

var vhdEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func fixVHD(p string, sum [32]byte, epoch time.Time) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ts := uint32(0)
	if epoch.After(vhdEpoch) {
		ts = uint32(epoch.Sub(vhdEpoch) / time.Second)
	}
	id := uuid.NewSHA1(keelNamespace, append(sum[:], "vhd"...))
	for _, off := range []int64{0, st.Size() - vhdFooterSize} {
		footer := make([]byte, vhdFooterSize)
		if _, err := f.ReadAt(footer, off); err != nil {
			return fmt.Errorf("vhd footer at %d: %w", off, err)
		}
		if !bytes.HasPrefix(footer, []byte("conectix")) {
			return fmt.Errorf("vhd footer at %d: no conectix cookie", off)
		}
		binary.BigEndian.PutUint32(footer[vhdTimestampOffset:], ts)
		copy(footer[vhdUUIDOffset:vhdUUIDOffset+16], id[:])
		binary.BigEndian.PutUint32(footer[vhdChecksumOffset:], 0)
		var s uint32
		for _, c := range footer {
			s += uint32(c)
		}
		binary.BigEndian.PutUint32(footer[vhdChecksumOffset:], ^s)
		if _, err := f.WriteAt(footer, off); err != nil {
			return err
		}
	}
	return f.Close()
}

// VMDK sparse extent header fields (VMware's Virtual Disk Format 1.1).
const (
	vmdkDescOffset = 28 // the descriptor's first sector, little-endian uint64
	vmdkDescSize   = 36 // its size in sectors
)

// fixVMDK gives a VMDK's text descriptor a content ID from sum. qemu-img writes a random
// one at creation and another at its first write, each without leading zeros, rewriting the
// text in place: when the second is shorter, the last bytes of the first text stay behind it.
// The descriptor is written again whole: the text with that tail dropped and an 8-digit ID,
// then zeros to the end of its sectors.
func fixVMDK(p string, sum [32]byte) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, 512)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return fmt.Errorf("vmdk header: %w", err)
	}
	if string(hdr[:4]) != "KDMV" {
		return errors.New("vmdk: no sparse extent header")
	}
	off := binary.LittleEndian.Uint64(hdr[vmdkDescOffset:]) * 512
	size := binary.LittleEndian.Uint64(hdr[vmdkDescSize:]) * 512
	if off == 0 || size == 0 || size > 1<<20 {
		return fmt.Errorf("vmdk: descriptor at %d, %d bytes", off, size)
	}
	area := make([]byte, size)
	if _, err := f.ReadAt(area, int64(off)); err != nil {
		return fmt.Errorf("vmdk descriptor: %w", err)
	}
	text := area
	if n := bytes.IndexByte(area, 0); n >= 0 {
		text = area[:n]
	}
	text = dropRewriteTail(text)
	i := bytes.Index(text, []byte("\nCID="))
	if i < 0 {
		return errors.New("vmdk: no CID in the descriptor")
	}
	start := i + len("\nCID=")
	end := bytes.IndexByte(text[start:], '\n')
	if end < 0 {
		return errors.New("vmdk: no end to the descriptor's CID line")
	}
	fixed := slices.Concat(text[:start], []byte(hex.EncodeToString(sum[:4])), text[start+end:])
	if len(fixed) > len(area) {
		return errors.New("vmdk: no room in the descriptor")
	}
	out := make([]byte, size)
	copy(out, fixed)
	if _, err := f.WriteAt(out, int64(off)); err != nil {
		return err
	}
	return f.Close()
}

// dropRewriteTail removes what an in-place rewrite by a text up to 7 bytes shorter left at
// the end: the last k bytes repeated (the texts share their ending), for the smallest such k
// that leaves a text ending in a newline.
func dropRewriteTail(text []byte) []byte {
	for k := 1; k <= 7 && 2*k <= len(text); k++ {
		n := len(text) - k
		if bytes.Equal(text[n:], text[n-k:n]) && text[n-1] == '\n' {
			return text[:n]
		}
	}
	return text
}

// GCPDiskName is the one file Google Compute Engine's image import wants in its tar.gz.
const GCPDiskName = "disk.raw"

// GCPAlign is the unit of a Compute Engine disk's size.
const GCPAlign = 1 << 30

// WriteGCP writes the raw disk image raw to w as Compute Engine imports it: a gzip
// compressed GNU tar holding only disk.raw (whose size must be whole GiB).
func WriteGCP(w io.Writer, raw string, epoch time.Time) error {
	f, err := os.Open(raw)
	if err != nil {
		return fmt.Errorf("gcp: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("gcp: %w", err)
	}
	if st.Size()%GCPAlign != 0 {
		return fmt.Errorf("gcp: %s is %d bytes: Compute Engine wants whole GiB", raw, st.Size())
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: GCPDiskName, Size: st.Size(), Mode: 0o644,
		ModTime: epoch, Format: tar.FormatGNU, Uname: "root", Gname: "root",
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("gcp: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("gcp: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("gcp: %w", err)
	}
	return zw.Close()
}

// fileHash is the SHA-256 of the file at p.
func fileHash(p string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(p)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}
