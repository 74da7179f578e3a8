package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Kernel modules shipped in /lib/modules/<release> are loaded the way a udev-less system
// loads them: at boot, the drivers for the devices present (their sysfs modalias matched
// against modules.alias, repeated while new devices appear); later, whatever the kernel asks
// for (fs-ext4, rtnl-link-veth, ...) through the usermode helper /sbin/modprobe, which is this
// binary, linked there by PID 1 after its boot mounts (installModprobe). A kernel with its
// drivers built in ships no modules and none of this happens.

// kmod knows the modules of one kernel release.
type kmod struct {
	dir     string
	order   []string            // module paths in modules.dep order
	deps    map[string][]string // module path → dependencies; the last one loads first
	byName  map[string]string   // module name (underscores) → path
	aliases []moduleAlias
}

type moduleAlias struct{ pattern, module string }

// moduleName is the name of a module file: "kernel/fs/ext4/ext4.ko.xz" → "ext4", with '-'
// read as '_' as the kernel does.
func moduleName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

func parseModulesDep(r io.Reader) (*kmod, error) {
	k := &kmod{deps: map[string][]string{}, byName: map[string]string{}}
	s := bufio.NewScanner(r)
	for s.Scan() {
		mod, deps, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		mod = strings.TrimSpace(mod)
		k.order = append(k.order, mod)
		k.deps[mod] = strings.Fields(deps)
		k.byName[moduleName(mod)] = mod
	}
	return k, s.Err()
}

func (k *kmod) parseAliases(r io.Reader) error {
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 3 && f[0] == "alias" {
			k.aliases = append(k.aliases, moduleAlias{pattern: f[1], module: strings.ReplaceAll(f[2], "-", "_")})
		}
	}
	return s.Err()
}

// openKmod reads the module index of the running kernel; nil when it ships no modules.
func openKmod() (*kmod, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, fmt.Errorf("uname: %w", err)
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(uts.Release[:]))
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k, err := parseModulesDep(f)
	if err != nil {
		return nil, fmt.Errorf("parse modules.dep: %w", err)
	}
	k.dir = dir
	if a, err := os.Open(filepath.Join(dir, "modules.alias")); err == nil {
		defer a.Close()
		if err := k.parseAliases(a); err != nil {
			return nil, fmt.Errorf("parse modules.alias: %w", err)
		}
	}
	return k, nil
}

// modprobePath holds the program the kernel runs for request_module.
const modprobePath = "/proc/sys/kernel/modprobe"

// modprobeLink is the kernel's default modprobe path, where PID 1 links this binary.
const modprobeLink = "/sbin/modprobe"

// modprobeRunLink is the link PID 1 makes, and names in modprobePath, when the root is
// read-only and modprobeLink cannot be made.
const modprobeRunLink = keelStateDir + "/modprobe"

// installModprobe makes this binary the kernel's modprobe, once PID 1 has made its boot
// mounts. The image has no /sbin/modprobe: the kernel asks for modules before that (its
// crypto API asks for built-in templates, "crypto-hmac(sha256)", as PID 1 starts; mounting
// bpffs asks for bpf_preload), and a Go program it started before /dev is mounted would die
// at once, since the kernel gives it no standard descriptors and the Go runtime opens
// /dev/null for them. Without the link those requests fail at once instead of each starting
// a process. The boot mounts use only filesystems the kernel has registered, so none of them
// needs a module. An image whose init brings its own /sbin/modprobe keeps it.
func installModprobe() {
	exe, err := os.Executable()
	if err != nil {
		logf("modprobe: %v", err)
		return
	}
	if err := linkModprobe(exe, modprobeLink, modprobeRunLink, modprobePath); err != nil {
		logf("modprobe: %v", err)
	}
}

// linkModprobe symlinks exe at link, unless something is there already; where it cannot
// (a read-only root), it symlinks exe at runLink and writes that path to sysctl, the
// kernel's modprobe path. A symlink, not a hard link: on the overlay of a disk root
// (kernel+squashfs) a hard link copies the whole binary up into the overlay's memory.
func linkModprobe(exe, link, runLink, sysctl string) error {
	if _, err := os.Lstat(link); err == nil {
		return nil
	}
	lerr := os.Symlink(exe, link)
	if lerr == nil {
		return nil
	}
	if err := os.Symlink(exe, runLink); err != nil {
		return fmt.Errorf("%w; symlink %s: %w", lerr, runLink, err)
	}
	if err := os.WriteFile(sysctl, []byte(runLink+"\n"), 0o644); err != nil {
		return fmt.Errorf("%w; %s: %w", lerr, sysctl, err)
	}
	return nil
}

// resolve returns the module paths a name or alias stands for.
func (k *kmod) resolve(name string) []string {
	if p, ok := k.byName[strings.ReplaceAll(name, "-", "_")]; ok {
		return []string{p}
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range k.aliases {
		if ok, _ := path.Match(a.pattern, name); ok {
			if p, found := k.byName[a.module]; found && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// loadOrder returns the modules in paths with their dependencies, each after what it needs.
func (k *kmod) loadOrder(paths ...string) []string {
	var out []string
	done := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		if done[m] {
			return
		}
		done[m] = true
		deps := k.deps[m]
		for i := len(deps) - 1; i >= 0; i-- {
			visit(deps[i])
		}
		out = append(out, m)
	}
	for _, p := range paths {
		visit(p)
	}
	return out
}

// load loads the modules a name or alias stands for, dependencies first. It returns how many
// were newly loaded; a module for hardware that is absent (ENODEV) is no error.
func (k *kmod) load(name string) (int, error) {
	mods := k.resolve(name)
	if len(mods) == 0 {
		return 0, fmt.Errorf("module %s not found in %s", name, k.dir)
	}
	n := 0
	var errs []error
	for _, m := range k.loadOrder(mods...) {
		loaded, err := loadModule(filepath.Join(k.dir, m))
		switch {
		case errors.Is(err, unix.ENODEV):
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", moduleName(m), err))
		case loaded:
			n++
		}
	}
	return n, errors.Join(errs...)
}

// loadModule loads one module file; loaded is false when it was loaded already.
func loadModule(p string) (loaded bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	flags := 0
	if strings.HasSuffix(p, ".xz") || strings.HasSuffix(p, ".zst") || strings.HasSuffix(p, ".gz") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(int(f.Fd()), "", flags); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return false, nil
		}
		return false, fmt.Errorf("finit_module: %w", err)
	}
	return true, nil
}

// coldplug loads the drivers of the devices present, again while loading drivers makes new
// devices appear (a PCI transport driver reveals virtio devices, for example). It returns how
// many modules it loaded.
func coldplug() int {
	k, err := openKmod()
	if err != nil {
		logf("kernel modules: %v", err)
		return 0
	}
	if k == nil {
		return 0
	}
	tried := map[string]bool{}
	total := 0
	for pass := 0; pass < 8; pass++ {
		n := 0
		for _, alias := range deviceAliases() {
			if tried[alias] {
				continue
			}
			tried[alias] = true
			if len(k.resolve(alias)) == 0 {
				continue
			}
			loaded, err := k.load(alias)
			if err != nil {
				logf("kernel modules for %s: %v", alias, err)
			}
			n += loaded
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total > 0 {
		logf("loaded %d kernel modules for the devices present", total)
	}
	return total
}

// deviceAliases reads the modalias of every device on every bus, as udev's coldplug does.
func deviceAliases() []string {
	var out []string
	devs, _ := filepath.Glob("/sys/bus/*/devices/*")
	for _, d := range devs {
		if data, err := os.ReadFile(filepath.Join(d, "modalias")); err == nil {
			if a := strings.TrimSpace(string(data)); a != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// modprobe is the init binary answering as /sbin/modprobe, the kernel's usermode helper for
// request_module: "modprobe -q -- fs-ext4". It loads the module and its dependencies.
func modprobe(args []string) int {
	quiet := false
	var names []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			names = append(names, args[i+1:]...)
			i = len(args)
		case a == "-q" || a == "--quiet":
			quiet = true
		case strings.HasPrefix(a, "-"):
			// -b, -v and the like change nothing here.
		default:
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		fmt.Fprintln(os.Stderr, "usage: modprobe [-q] [--] MODULE")
		return 2
	}
	k, err := openKmod()
	if err != nil || k == nil {
		if !quiet {
			fmt.Fprintf(os.Stderr, "modprobe: no modules: %v\n", err)
		}
		return 1
	}
	// Only the module name counts; parameters after it are not supported.
	if _, err := k.load(names[0]); err != nil {
		if !quiet {
			fmt.Fprintf(os.Stderr, "modprobe: %v\n", err)
		}
		return 1
	}
	return 0
}
