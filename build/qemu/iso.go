package qemu

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// isoEpoch is every timestamp of the ISO images Run builds, so the same data gives the same
// image bytes.
var isoEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteISO writes an ISO 9660 image labelled label holding files (names at the root) to
// path, which must not exist. Names keep their case and dashes through Joliet (Rock Ridge
// would record the build's change times). Every timestamp is isoEpoch.
func WriteISO(path, label string, files map[string][]byte) error {
	work, err := os.MkdirTemp("", "keel-iso-")
	if err != nil {
		return fmt.Errorf("iso %s: %w", path, err)
	}
	defer os.RemoveAll(work)
	tree := filepath.Join(work, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return fmt.Errorf("iso %s: %w", path, err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if n == "" || n != filepath.Base(n) || n == "." || n == ".." {
			return fmt.Errorf("iso %s: file name %q: want a plain name", path, n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(tree, n)
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("iso %s: %w", path, err)
		}
		if err := os.Chtimes(p, isoEpoch, isoEpoch); err != nil {
			return fmt.Errorf("iso %s: %w", path, err)
		}
	}
	if err := os.Chtimes(tree, isoEpoch, isoEpoch); err != nil {
		return fmt.Errorf("iso %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("iso: %w", err)
	}
	err = finalizeISO(f, tree, label)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("iso %s: %w", path, err)
	}
	return nil
}

func finalizeISO(f *os.File, tree, label string) error {
	fsys, err := iso9660.Create(file.New(f, false), 0, 0, 2048, tree)
	if err != nil {
		return err
	}
	if err := fsys.Finalize(iso9660.FinalizeOptions{Joliet: true, VolumeIdentifier: label}); err != nil {
		return err
	}
	return stampVolumeDescriptors(f, isoEpoch)
}

// stampVolumeDescriptors sets the creation, modification, expiration and effective dates
// of the primary and supplementary volume descriptors, which go-diskfs takes from the clock,
// and pads the primary volume label with spaces as ISO 9660 wants (go-diskfs pads with NULs).
func stampVolumeDescriptors(f *os.File, t time.Time) error {
	const sector, first = 2048, 16
	date := []byte(t.UTC().Format("20060102150405") + "00\x00") // 16 digits, then the zone offset
	for i := first; ; i++ {
		vd := make([]byte, sector)
		if _, err := f.ReadAt(vd, int64(i)*sector); err != nil {
			return fmt.Errorf("volume descriptor %d: %w", i, err)
		}
		if string(vd[1:6]) != "CD001" {
			return fmt.Errorf("volume descriptor %d: no CD001", i)
		}
		switch vd[0] {
		case 255: // set terminator
			return nil
		case 1, 2: // primary, supplementary (Joliet)
			if vd[0] == 1 {
				label := bytes.ReplaceAll(vd[40:72], []byte{0}, []byte{' '})
				if _, err := f.WriteAt(label, int64(i)*sector+40); err != nil {
					return err
				}
			}
			for _, off := range []int64{813, 830, 847, 864} {
				if _, err := f.WriteAt(date, int64(i)*sector+off); err != nil {
					return err
				}
			}
		}
	}
}
