package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Bounds on what user data can make the program write.
const (
	maxUserData  = 4 << 20 // raw user data, meta-data or network-config
	maxFact      = 64 << 10
	maxEntries   = 4096 // files and directories from one user data
	maxDepth     = 16   // path components below /run/config
	maxNameBytes = 255
)

// configDir writes files below one directory and nowhere else: names are checked, and
// every operation goes through an os.Root, so neither ".." nor a symlink leads out.
type configDir struct {
	root *os.Root
	path string // for messages
}

func openConfigDir(dir string) (*configDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("config dir: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("config dir: %w", err)
	}
	return &configDir{root: r, path: dir}, nil
}

func (c *configDir) Close() error { return c.root.Close() }

// checkName accepts a relative slash-separated name of at most maxDepth components, none
// of them empty, ".", ".." or longer than maxNameBytes, and no NUL or backslash.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if strings.HasPrefix(name, "/") {
		return fmt.Errorf("%q: absolute", name)
	}
	if strings.ContainsAny(name, "\x00\\") {
		return fmt.Errorf("%q: NUL or backslash in name", name)
	}
	parts := strings.Split(name, "/")
	if len(parts) > maxDepth {
		return fmt.Errorf("%q: deeper than %d", name, maxDepth)
	}
	for _, p := range parts {
		switch {
		case p == "" || p == "." || p == "..":
			return fmt.Errorf("%q: component %q not allowed", name, p)
		case len(p) > maxNameBytes:
			return fmt.Errorf("%q: component longer than %d bytes", name, maxNameBytes)
		}
	}
	return nil
}

// cleanPerm keeps the permission bits: user data cannot make setuid, setgid or sticky files.
func cleanPerm(m fs.FileMode) fs.FileMode { return m & fs.ModePerm }

// mkdirAll makes name and its parents with perm (parents 0755).
func (c *configDir) mkdirAll(name string, perm fs.FileMode) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.root.MkdirAll(name, 0o755); err != nil {
		return fmt.Errorf("mkdir %s/%s: %w", c.path, name, err)
	}
	if err := c.root.Chmod(name, cleanPerm(perm)); err != nil {
		return fmt.Errorf("chmod %s/%s: %w", c.path, name, err)
	}
	return nil
}

// writeFile replaces name atomically: the data goes to a temporary file in the same
// directory, which is then renamed over name, so a reader sees the old file or the new one.
func (c *configDir) writeFile(name string, data []byte, perm fs.FileMode) error {
	if err := checkName(name); err != nil {
		return err
	}
	dir := path.Dir(name)
	if dir != "." {
		if err := c.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s/%s: %w", c.path, dir, err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, "."+path.Base(name)+".tmp-"+hex.EncodeToString(rnd[:]))
	if len(path.Base(tmp)) > maxNameBytes {
		tmp = path.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	}
	f, err := c.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s/%s: %w", c.path, name, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(cleanPerm(perm)) // not subject to the umask
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = c.root.Rename(tmp, name)
	}
	if werr != nil {
		_ = c.root.Remove(tmp)
		return fmt.Errorf("write %s/%s: %w", c.path, name, werr)
	}
	return nil
}

func (c *configDir) readFile(name string) ([]byte, error) {
	return c.root.ReadFile(name)
}
