package logs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// SavePstore moves the records left in pstoreDir (normally /sys/fs/pstore) by the previous boot,
// such as the kernel log of a panic, into dstDir (normally /var/log/pstore), and removes them
// from pstore, which frees the space the kernel needs for the next ones. A record whose name is
// already taken in dstDir (by an earlier boot) is saved as name.1, name.2, ... It returns how
// many records were moved; a missing pstoreDir moves none.
func SavePstore(pstoreDir, dstDir string) (int, error) {
	entries, err := os.ReadDir(pstoreDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("save pstore: %w", err)
	}
	moved, made := 0, false
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if !made {
			if err := os.MkdirAll(dstDir, 0o700); err != nil {
				return 0, fmt.Errorf("save pstore: %w", err)
			}
			made = true
		}
		if err := moveRecord(filepath.Join(pstoreDir, e.Name()), dstDir, e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("save pstore record %s: %w", e.Name(), err))
			continue
		}
		moved++
	}
	return moved, errors.Join(errs...)
}

// moveRecord copies src into dir under a free name and then removes src. pstore is its own file
// system, so a rename would not do.
func moveRecord(src, dir, name string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	var out *os.File
	for i := 0; ; i++ {
		dst := filepath.Join(dir, name)
		if i > 0 {
			dst += "." + strconv.Itoa(i)
		}
		out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return err
	}
	return os.Remove(src)
}
