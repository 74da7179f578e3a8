package assemble

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/rootfs/tree"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// addMountpoints creates, in the container rootfs, the destination of every mount that is
// missing: a file when the mount binds a file of the machine's root, else a directory. runc
// cannot create them at run time because the root filesystem is read-only then.
func addMountpoints(root *tree.Tree, rootfs string, mounts []specs.Mount) error {
	for _, m := range mounts {
		dst := path.Join(rootfs, m.Destination)
		if _, err := root.Lookup(dst); err == nil {
			continue
		}
		isFile := false
		if bundle.IsBind(m) {
			src := strings.TrimPrefix(m.Source, "/")
			n, err := root.Lookup(src)
			switch {
			case isRuntimeFile(m.Source):
				isFile = true
			case err == nil && n.IsSymlink():
				// Followed only to a file PID 1 creates at boot: /etc/resolv.conf.
				target := n.Target
				if !path.IsAbs(target) {
					target = path.Join("/", path.Dir(src), target)
				}
				isFile = isRuntimeFile(target)
			case err == nil && !n.IsDir():
				isFile = true
			}
		}
		var err error
		if isFile {
			err = root.AddFile(dst, 0o644, 0, 0, nil)
		} else {
			err = root.AddDir(dst, 0o755, 0, 0)
		}
		// A destination below a symlink of the image (/var/run → /run) is resolved by
		// runc inside the rootfs at run time; the tree never writes through symlinks.
		if err != nil && !errors.Is(err, tree.ErrSymlink) && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

// isRuntimeFile reports whether name is a file PID 1 creates at boot under a tmpfs, so the
// image cannot show it is a file: the resolver configuration.
func isRuntimeFile(name string) bool {
	return path.Clean(name) == bundle.ResolvConf
}

// addRuntimeDirs creates, in the container rootfs, the directories runtime.json's relative
// mount destinations and mkdir paths name: PID 1 resolves them inside the rootfs, as
// LinuxKit does, but cannot create them once the root filesystem is read-only. Absolute
// paths are on the machine, where PID 1 creates them itself (under /run, /var, ...).
func addRuntimeDirs(root *tree.Tree, rootfs string, rt bundle.Runtime) error {
	var dirs []string
	for _, m := range rt.Mounts {
		dirs = append(dirs, m.Destination)
	}
	dirs = append(dirs, rt.Mkdir...)
	for _, d := range dirs {
		if d == "" || path.IsAbs(d) {
			continue
		}
		// Resolved as PID 1 resolves it: ".." stops at the rootfs.
		dst := path.Join(rootfs, path.Join("/", d))
		if _, err := root.Lookup(dst); err == nil {
			continue
		}
		err := root.AddDir(dst, 0o755, 0, 0)
		if err != nil && !errors.Is(err, tree.ErrSymlink) && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("runtime path %q: %w", d, err)
		}
	}
	return nil
}
