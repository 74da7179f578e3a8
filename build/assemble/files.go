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

// source copies a host file, or a directory recursively, into the tree. Only the permission
// bits of the host files are kept; mode replaces those of a file (not a directory) when the
// entry gives one.
func (a *assembler) source(root *tree.Tree, p string, f spec.File, mode fs.FileMode, uid, gid int) error {
	src := f.Source
	if rest, ok := strings.CutPrefix(src, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		src = filepath.Join(home, rest)
	}
	if _, err := os.Stat(src); f.Optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return tree.ReadHost(src, func(rel string, n *tree.Node) error {
		if rel == "." && !n.IsDir() && f.Mode != "" {
			n.Mode = n.Type() | mode
		} else {
			n.Mode = n.Type() | n.Mode.Perm()
		}
		n.UID, n.GID, n.ModTime = uid, gid, a.opts.Epoch
		return root.Add(path.Join(p, rel), n)
	})
}

func marshalYAML(cfg *spec.Config) ([]byte, error) { return yaml.Marshal(cfg) }
