package kernel

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// writeModulesTar writes stage/lib as a deterministic tar to path: names sorted, owner root,
// mtime 0. The build and source symlinks modules_install may leave point into this host and
// are left out.
func writeModulesTar(stage, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("kernel.tar: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("kernel.tar: %w", cerr)
		}
	}()
	tw := tar.NewWriter(f)
	lib := filepath.Join(stage, "lib")
	if _, err := os.Stat(lib); os.IsNotExist(err) {
		return tw.Close() // a kernel without modules
	}
	err = filepath.WalkDir(lib, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(stage, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if name := d.Name(); name == "build" || name == "source" {
				return nil
			}
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
			return tw.WriteHeader(hdr)
		case d.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, info.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kernel.tar: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("kernel.tar: %w", err)
	}
	return nil
}
