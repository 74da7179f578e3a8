// Command swap creates a swap file of a given size on a mounted disk and turns it on, with
// the options of LinuxKit's swap package:
//
//	swap -path /var/external/swap -size 2G [-condition part:PATH[:true]]
//	     [-condition partsize:PATH:SIZE[:true]] [-debug]
//
// A condition that does not hold skips the swap file (exit 0), or fails (exit 1) when its
// last field is true. The file is allocated, given a swap header written here (no mkswap)
// and enabled with swapon(2); on the next boot a file of the right size with a header is
// reused as it is.
package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/keel-os/keel/onboot/internal/disk"
	"golang.org/x/sys/unix"
)

func main() {
	s := swapper{out: os.Stdout, mountinfo: "/proc/self/mountinfo", swaps: "/proc/swaps", swapon: swapon}
	os.Exit(s.run(os.Args[1:]))
}

// swapper holds what run needs from the machine, so tests can replace it.
type swapper struct {
	out       io.Writer
	mountinfo string // the mount table, for part: conditions
	swaps     string // the active swap areas
	swapon    func(path string) error
	debug     bool
}

// conditions collects -condition flags.
type conditions []string

func (c *conditions) String() string     { return strings.Join(*c, " ") }
func (c *conditions) Set(v string) error { *c = append(*c, v); return nil }

type options struct {
	path       string
	size       int64
	conditions conditions
	debug      bool
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	var size string
	var encrypt bool
	fl := flag.NewFlagSet("swap", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.StringVar(&o.path, "path", "", "the swap file, under /var (required)")
	fl.StringVar(&size, "size", "", "its size: bytes, or a number with K, M or G (required)")
	fl.Var(&o.conditions, "condition", "part:PATH[:REQUIRED] or partsize:PATH:SIZE[:REQUIRED]; repeatable")
	fl.BoolVar(&o.debug, "debug", false, "say what is done")
	fl.BoolVar(&encrypt, "encrypt", false, "not supported")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fl.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fl.Args())
	case encrypt:
		return o, errors.New("-encrypt is not supported")
	case o.path == "":
		return o, errors.New("-path is required")
	case size == "":
		return o, errors.New("-size is required")
	}
	if p := filepath.Clean(o.path); p != o.path || !strings.HasPrefix(p, "/var/") {
		return o, fmt.Errorf("-path %s: want a clean path under /var", o.path)
	}
	var err error
	if o.size, err = disk.ParseSize(size); err != nil {
		return o, fmt.Errorf("-size: %w", err)
	}
	for _, c := range o.conditions {
		if _, err := parseCondition(c); err != nil {
			return o, err
		}
	}
	return o, nil
}

// condition is a parsed -condition.
type condition struct {
	kind, path string
	size       int64
	required   bool
}

func parseCondition(s string) (condition, error) {
	f := strings.Split(s, ":")
	c := condition{kind: f[0]}
	bad := fmt.Errorf("-condition %q: want part:PATH[:true] or partsize:PATH:SIZE[:true]", s)
	switch {
	case c.kind == "part" && (len(f) == 2 || len(f) == 3):
		c.path = f[1]
		c.required = len(f) == 3 && f[2] == "true"
	case c.kind == "partsize" && (len(f) == 3 || len(f) == 4):
		c.path = f[1]
		n, err := disk.ParseSize(f[2])
		if err != nil {
			return c, bad
		}
		c.size = n
		c.required = len(f) == 4 && f[3] == "true"
	default:
		return c, bad
	}
	if !filepath.IsAbs(c.path) {
		return c, bad
	}
	return c, nil
}

// run is swap's main; it returns the exit status.
func (s *swapper) run(args []string) int {
	o, err := parse(args, s.out)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(s.out, "swap: %v\n", err)
		return 2
	}
	s.debug = o.debug
	for _, cs := range o.conditions {
		c, _ := parseCondition(cs)
		ok, why, err := s.holds(c)
		if err != nil {
			fmt.Fprintf(s.out, "swap: condition %s: %v\n", cs, err)
			return 1
		}
		if !ok {
			fmt.Fprintf(s.out, "swap: condition %s does not hold (%s): no swap file\n", cs, why)
			if c.required {
				return 1
			}
			return 0
		}
	}
	if err := s.swap(o.path, o.size); err != nil {
		fmt.Fprintf(s.out, "swap: %v\n", err)
		return 1
	}
	return 0
}

func (s *swapper) debugf(format string, args ...any) {
	if s.debug {
		fmt.Fprintf(s.out, "swap: "+format+"\n", args...)
	}
}

// holds checks a condition: part, that its path is a mount point; partsize, that the
// filesystem holding its path has at least its size.
func (s *swapper) holds(c condition) (bool, string, error) {
	if c.kind == "part" {
		f, err := os.Open(s.mountinfo)
		if err != nil {
			return false, "", err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == filepath.Clean(c.path) {
				return true, "", nil
			}
		}
		return false, c.path + " is not a mount point", sc.Err()
	}
	var st unix.Statfs_t
	if err := unix.Statfs(c.path, &st); err != nil {
		return false, "", fmt.Errorf("statfs %s: %w", c.path, err)
	}
	total := int64(st.Blocks) * int64(st.Bsize)
	if total < c.size {
		return false, fmt.Sprintf("%s holds %d MiB", c.path, total>>20), nil
	}
	return true, "", nil
}

// swap makes path a swap file of size bytes, unless it is one already, and turns it on.
func (s *swapper) swap(path string, size int64) error {
	if active, err := s.active(path); err != nil {
		return err
	} else if active {
		fmt.Fprintf(s.out, "swap: %s is already in use\n", path)
		return nil
	}
	page := os.Getpagesize()
	size -= size % int64(page)
	if !hasHeader(path, size, page) {
		if err := create(path, size, page, false); err != nil {
			return err
		}
		s.debugf("created %s (%d MiB)", path, size>>20)
	} else {
		s.debugf("%s is a swap file already", path)
	}
	if err := s.swapon(path); err != nil {
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
		// some filesystems refuse preallocated (unwritten) blocks: write zeros instead
		s.debugf("swapon %s: %v: writing zeros", path, err)
		if err := create(path, size, page, true); err != nil {
			return err
		}
		if err := s.swapon(path); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.out, "swap: %s on (%d MiB)\n", path, size>>20)
	return nil
}

// active reports whether path is listed in /proc/swaps.
func (s *swapper) active(path string) (bool, error) {
	data, err := os.ReadFile(s.swaps)
	if err != nil {
		return false, fmt.Errorf("swap areas: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 && disk.Unescape(f[0]) == path {
			return true, nil
		}
	}
	return false, nil
}

// hasHeader reports whether path is a file of size bytes with a swap header for page.
func hasHeader(path string, size int64, page int) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	magic := make([]byte, len(swapMagic))
	_, err = f.ReadAt(magic, int64(page-len(swapMagic)))
	return err == nil && string(magic) == swapMagic
}

// create writes the swap file: size bytes allocated (or, with zeroFill, written), mode 0600,
// the header in its first page.
func create(path string, size int64, page int, zeroFill bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("swap file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("swap file: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("swap file: %w", err)
	}
	if zeroFill {
		err = writeZeros(f, size)
	} else if err = unix.Fallocate(int(f.Fd()), 0, 0, size); errors.Is(err, unix.EOPNOTSUPP) {
		err = writeZeros(f, size)
	}
	if err != nil {
		return fmt.Errorf("allocate %s: %w", path, err)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID, as mkswap makes
	id[8] = id[8]&0x3f | 0x80
	h, err := header(size, page, id, "")
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(h, 0); err != nil {
		return fmt.Errorf("write swap header: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("swap file: %w", err)
	}
	return nil
}

func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return nil
}

// swapon turns the swap file at path on.
func swapon(path string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return fmt.Errorf("swapon %s: %w", path, errno)
	}
	return nil
}
