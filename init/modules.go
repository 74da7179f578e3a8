package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// moduleDeps maps a module's path (relative to the modules directory) to its dependencies,
// as modules.dep lists them: the last dependency is loaded first.
type moduleDeps struct {
	order []string
	deps  map[string][]string
}

func parseModulesDep(r io.Reader) (moduleDeps, error) {
	md := moduleDeps{deps: map[string][]string{}}
	s := bufio.NewScanner(r)
	for s.Scan() {
		mod, deps, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		mod = strings.TrimSpace(mod)
		md.order = append(md.order, mod)
		md.deps[mod] = strings.Fields(deps)
	}
	return md, s.Err()
}

// loadOrder returns every module in an order in which each module comes after its
// dependencies.
func (md moduleDeps) loadOrder() []string {
	var out []string
	done := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		if done[m] {
			return
		}
		done[m] = true
		deps := md.deps[m]
		for i := len(deps) - 1; i >= 0; i-- {
			visit(deps[i])
		}
		out = append(out, m)
	}
	for _, m := range md.order {
		visit(m)
	}
	return out
}

// loadModules loads every kernel module shipped in /lib/modules/<release>, dependencies
// first. A kernel whose drivers are built in ships none and nothing happens.
func loadModules() {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		logf("uname: %v", err)
		return
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(uts.Release[:]))
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		logf("kernel modules: %v", err)
		return
	}
	md, err := parseModulesDep(f)
	f.Close()
	if err != nil {
		logf("kernel modules: parse modules.dep: %v", err)
		return
	}
	n := 0
	for _, m := range md.loadOrder() {
		err := loadModule(filepath.Join(dir, m))
		if errors.Is(err, unix.ENODEV) {
			continue // a driver for hardware this machine lacks
		}
		if err != nil {
			logf("kernel module %s: %v", m, err)
			continue
		}
		n++
	}
	if n > 0 {
		logf("loaded %d kernel modules", n)
	}
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".zst") || strings.HasSuffix(path, ".gz") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(int(f.Fd()), "", flags); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("finit_module: %w", err)
	}
	return nil
}
