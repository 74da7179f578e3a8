package assemble

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/tree"
	"gopkg.in/yaml.v3"
)

// files adds the files section. As in LinuxKit, a file's default mode is 0600 and a
// directory's 0700; sources are host paths, relative to the working directory, "~/" the home.
func (a *assembler) files(root *tree.Tree) error {
	for _, f := range a.cfg.Files {
		if err := a.file(root, f); err != nil {
			return f.Pos.Errorf("files %q: %v", f.Path, err)
		}
	}
	return nil
}

func (a *assembler) file(root *tree.Tree, f spec.File) error {
	p := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
	if p == "" {
		return errors.New("cannot replace the root directory")
	}
	uid, gid, err := a.owner(f)
	if err != nil {
		return err
	}
	mode, err := fileMode(f)
	if err != nil {
		return err
	}
	switch {
	case f.Directory:
		err = root.AddDir(p, mode, uid, gid)
	case f.Symlink != "":
		err = root.AddSymlink(p, f.Symlink, uid, gid)
	case f.Contents != nil:
		err = root.AddFile(p, mode, uid, gid, []byte(*f.Contents))
	case f.Metadata != "":
		var data []byte
		if data, err = a.metadata(f.Metadata); err == nil {
			err = root.AddFile(p, mode, uid, gid, data)
		}
	case f.Source != "":
		return a.source(root, p, f, mode, uid, gid)
	default:
		err = root.AddFile(p, mode, uid, gid, nil)
	}
	if err != nil {
		return err
	}
	a.stamp(root, p)
	return nil
}

func (a *assembler) owner(f spec.File) (int, int, error) {
	var uid, gid uint32
	var err error
	if f.UID != nil {
		if uid, err = f.UID.Resolve(a.ids); err != nil {
			return 0, 0, fmt.Errorf("uid: %w", err)
		}
	}
	if f.GID != nil {
		if gid, err = f.GID.Resolve(a.ids); err != nil {
			return 0, 0, fmt.Errorf("gid: %w", err)
		}
	}
	return int(uid), int(gid), nil
}

func fileMode(f spec.File) (fs.FileMode, error) {
	if f.Mode == "" {
		if f.Directory {
			return 0o700, nil
		}
		return 0o600, nil
	}
	m, err := spec.ParseMode(f.Mode)
	if err != nil {
		return 0, fmt.Errorf("mode: %w", err)
	}
	return tree.ModeFromUnix(m), nil
}

// source copies a host file, or a directory recursively, into the tree.
func (a *assembler) source(root *tree.Tree, p string, f spec.File, mode fs.FileMode, uid, gid int) error {
	src := f.Source
	if rest, ok := strings.CutPrefix(src, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		src = filepath.Join(home, rest)
	}
	st, err := os.Stat(src)
	if err != nil {
		if f.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if f.Mode == "" {
			mode = st.Mode().Perm()
		}
		if err := root.AddFile(p, mode, uid, gid, data); err != nil {
			return err
		}
		a.stamp(root, p)
		return nil
	}
	return filepath.WalkDir(src, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, hp)
		if err != nil {
			return err
		}
		tp := path.Join(p, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			err = root.AddDir(tp, info.Mode().Perm(), uid, gid)
		case d.Type()&fs.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(hp); err == nil {
				err = root.AddSymlink(tp, target, uid, gid)
			}
		case d.Type().IsRegular():
			var data []byte
			if data, err = os.ReadFile(hp); err == nil {
				err = root.AddFile(tp, info.Mode().Perm(), uid, gid, data)
			}
		default:
			return fmt.Errorf("%s: not a regular file, directory or symlink", hp)
		}
		if err != nil {
			return err
		}
		a.stamp(root, tp)
		return nil
	})
}

func marshalYAML(cfg *spec.Config) ([]byte, error) { return yaml.Marshal(cfg) }
