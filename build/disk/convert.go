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
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
)

// Image formats Convert writes through qemu-img.
const (
	QCOW2 = "qcow2"
	VHD   = "vhd"  // dynamic VHD (qemu-img's vpc), for Hyper-V and Azure
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
		// force_size keeps the raw size instead of rounding it to a CHS geometry (Azure
		// wants whole MiB).
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

// fixVMDK replaces the random content ID in a VMDK's text descriptor.
func fixVMDK(p string, sum [32]byte) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	head = head[:n]
	i := bytes.Index(head, []byte("\nCID="))
	if i < 0 || i+5+8 > len(head) {
		return errors.New("vmdk: no CID in the descriptor")
	}
	cid := hex.EncodeToString(sum[:4])
	if _, err := f.WriteAt([]byte(cid), int64(i+5)); err != nil {
		return err
	}
	return f.Close()
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
