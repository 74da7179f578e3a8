package kernel

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/keel-os/keel/rootfs/tarout"
	"github.com/keel-os/keel/rootfs/tree"
)

// writeModulesTar writes stage/lib as a deterministic tar to out: names sorted, owner root,
// directories 0755, files 0644 and mtime 0, like the kernel itself (the cache key holds no
// SOURCE_DATE_EPOCH). The build and source symlinks modules_install may leave point into
// this host and are left out.
func writeModulesTar(stage, out string) (err error) {
	t := tree.New()
	lib := filepath.Join(stage, "lib")
	if _, err := os.Stat(lib); !os.IsNotExist(err) {
		if err := tree.ReadHost(lib, addModule(t)); err != nil {
			return fmt.Errorf("kernel.tar: %w", err)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("kernel.tar: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("kernel.tar: %w", cerr)
		}
	}()
	if err := tarout.WriteClamped(f, t, nil); err != nil {
		return fmt.Errorf("kernel.tar: %w", err)
	}
	return nil
}

// addModule adds each entry tree.ReadHost reads from stage/lib to t under lib/.
func addModule(t *tree.Tree) func(rel string, n *tree.Node) error {
	return func(rel string, n *tree.Node) error {
		switch {
		case n.IsSymlink():
			if name := path.Base(rel); name == "build" || name == "source" {
				return nil
			}
		case n.IsDir():
			n.Mode = tree.ModeDir | 0o755
		default:
			n.Mode = 0o644
		}
		return t.Add(path.Join("lib", rel), n)
	}
}
