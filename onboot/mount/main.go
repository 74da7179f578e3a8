// Command mount mounts a filesystem at boot, as LinuxKit's mount package: the device is
// named (a path, LABEL=name or UUID=id, or -device, -label, -uuid), or else the first
// partition holding a filesystem that is not mounted yet. The mount point is created and the
// mount made shared, so that with the package's rshared bind of /var it appears in the
// machine's /var and in every container started later. An ext2/3/4 filesystem is checked
// with e2fsck -p first.
//
//	mount [-label NAME | -uuid UUID | -device PATH] [DEVICE] MOUNTPOINT
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/keel-os/keel/onboot/internal/disk"
	"golang.org/x/sys/unix"
)

func main() {
	m := mounter{sys: disk.Host, out: os.Stdout, mountinfo: "/proc/self/mountinfo", wait: 5 * time.Second,
		fsck: disk.Fsck, mount: mountShared}
	os.Exit(m.run(os.Args[1:]))
}

// mounter holds what run needs from the machine, so tests can replace it.
type mounter struct {
	sys       disk.Sys
	out       io.Writer
	mountinfo string        // the mount table
	wait      time.Duration // for a named device or label to appear
	fsck      func(dev string, force bool) error
	mount     func(dev, target, fstype string) error
}

// options are mount's command line.
type options struct {
	device, label, uuid, target string
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("mount", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.StringVar(&o.device, "device", "", "device to mount")
	fl.StringVar(&o.label, "label", "", "mount the filesystem with this label")
	fl.StringVar(&o.uuid, "uuid", "", "mount the filesystem with this UUID")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	switch fl.NArg() {
	case 0:
		return o, errors.New("no mount point given")
	case 1:
		o.target = fl.Arg(0)
	case 2:
		if o.device != "" {
			return o, errors.New("both -device and a DEVICE argument given")
		}
		o.device, o.target = fl.Arg(0), fl.Arg(1)
	default:
		return o, fmt.Errorf("too many arguments: %q", fl.Args())
	}
	if v, ok := strings.CutPrefix(o.device, "LABEL="); ok {
		o.device, o.label = "", v
	} else if v, ok := strings.CutPrefix(o.device, "UUID="); ok {
		o.device, o.uuid = "", v
	}
	n := 0
	for _, s := range []string{o.device, o.label, o.uuid} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return o, errors.New("give one of a device, -label and -uuid")
	}
	if !filepath.IsAbs(o.target) {
		return o, fmt.Errorf("mount point %q must be absolute", o.target)
	}
	o.target = filepath.Clean(o.target)
	return o, nil
}

// run is mount's main; it returns the exit status.
func (m *mounter) run(args []string) int {
	o, err := parse(args, m.out)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(m.out, "mount: %v\n", err)
		return 2
	}
	if err := m.mountOne(o); err != nil {
		fmt.Fprintf(m.out, "mount: %v\n", err)
		return 1
	}
	return 0
}

func (m *mounter) mountOne(o options) error {
	mounts, err := readMountinfo(m.mountinfo)
	if err != nil {
		return err
	}
	dev, fs, err := m.find(o, mounts)
	if err != nil {
		return err
	}
	devno, err := devNumber(dev)
	if err != nil {
		return err
	}
	for _, mt := range mounts {
		if mt.target == o.target && mt.dev == devno {
			fmt.Fprintf(m.out, "mount: %s is already mounted at %s\n", dev, o.target)
			return nil
		}
	}
	if fs.Type == disk.Ext {
		if _, err := exec.LookPath("e2fsck"); err == nil {
			if err := m.fsck(dev, false); err != nil {
				return fmt.Errorf("check %s before mounting: %w", dev, err)
			}
		}
	}
	if err := os.MkdirAll(o.target, 0o755); err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if err := m.mount(dev, o.target, fstype(fs.Type)); err != nil {
		return err
	}
	fmt.Fprintf(m.out, "mount: %s (%s%s) mounted at %s\n", dev, fs.Type, labelText(fs.Label), o.target)
	return nil
}

func labelText(label string) string {
	if label == "" {
		return ""
	}
	return " labelled " + label
}

// fstype is the kernel's name of the filesystem Probe calls sig.
func fstype(sig string) string {
	if sig == disk.Ext {
		return "ext4" // also mounts ext2 and ext3
	}
	return sig
}

// mountShared mounts dev at target and makes the mount shared.
func mountShared(dev, target, fstype string) error {
	if err := unix.Mount(dev, target, fstype, unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("mount %s at %s (%s): %w", dev, target, fstype, err)
	}
	if err := unix.Mount("", target, "", unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("make %s shared: %w", target, err)
	}
	return nil
}

// find returns the device to mount and its filesystem, waiting up to m.wait for a named
// device, label or UUID to appear.
func (m *mounter) find(o options, mounts []mountEntry) (string, disk.FS, error) {
	deadline := time.Now().Add(m.wait)
	for {
		dev, fs, err := m.findOnce(o, mounts)
		if err == nil || time.Now().After(deadline) || (o.device == "" && o.label == "" && o.uuid == "") {
			return dev, fs, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *mounter) findOnce(o options, mounts []mountEntry) (string, disk.FS, error) {
	if o.device != "" {
		fs, ok, err := readFS(o.device)
		switch {
		case err != nil:
			return "", fs, err
		case !ok:
			return "", fs, fmt.Errorf("%s holds no ext4, xfs or btrfs filesystem", o.device)
		}
		return o.device, fs, nil
	}
	if o.label != "" || o.uuid != "" {
		devs, err := m.sys.Devices()
		if err != nil {
			return "", disk.FS{}, err
		}
		for _, d := range devs {
			fs, ok, err := readFS(d)
			if err != nil || !ok {
				continue
			}
			if (o.label != "" && fs.Label == o.label) || (o.uuid != "" && strings.EqualFold(fs.UUID, o.uuid)) {
				return d, fs, nil
			}
		}
		if o.label != "" {
			return "", disk.FS{}, fmt.Errorf("no filesystem labelled %s", o.label)
		}
		return "", disk.FS{}, fmt.Errorf("no filesystem with UUID %s", o.uuid)
	}
	return m.firstUnmounted(mounts)
}

// firstUnmounted returns the first partition, in disk then partition order, that holds a
// filesystem and is not mounted.
func (m *mounter) firstUnmounted(mounts []mountEntry) (string, disk.FS, error) {
	mounted := map[string]bool{}
	for _, mt := range mounts {
		mounted[mt.dev] = true
	}
	disks, err := m.sys.Disks()
	if err != nil {
		return "", disk.FS{}, err
	}
	for _, d := range disks {
		parts, err := m.sys.Partitions(d)
		if err != nil {
			continue
		}
		nums := make([]int, 0, len(parts))
		for n := range parts {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			p := parts[n]
			if devno, err := devNumber(p); err == nil && mounted[devno] {
				continue
			}
			if fs, ok, err := readFS(p); err == nil && ok {
				return p, fs, nil
			}
		}
	}
	return "", disk.FS{}, errors.New("no unmounted partition with a filesystem")
}

// readFS reads the filesystem on the device (or image file) at path.
func readFS(path string) (disk.FS, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return disk.FS{}, false, err
	}
	defer f.Close()
	size, err := disk.Size(f)
	if err != nil {
		return disk.FS{}, false, err
	}
	fs, ok, err := disk.ReadFS(f, size)
	if err != nil {
		return fs, ok, fmt.Errorf("%s: %w", path, err)
	}
	return fs, ok, nil
}

// devNumber returns "major:minor" of the block device at path, as mountinfo writes it.
func devNumber(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", nil
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), nil
}

// mountEntry is a line of /proc/self/mountinfo: the device number and the mount point.
type mountEntry struct{ dev, target string }

// readMountinfo reads the device number and mount point of each line of mountinfo.
func readMountinfo(path string) ([]mountEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	defer f.Close()
	var out []mountEntry
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, mountEntry{dev: fields[2], target: disk.Unescape(fields[4])})
	}
	return out, s.Err()
}
