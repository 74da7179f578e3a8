// Command extend grows the last partition of a disk, and the ext4 filesystem on it, to fill
// a disk that was made larger, as LinuxKit's extend package: every disk with a partition
// table, or the disks named. A GPT's backup header moves to the new end of the disk. It runs
// before the filesystem is mounted (e2fsck -f, then Debian's resize2fs); a disk with
// nothing to grow is left alone, so extend can run on every boot.
//
//	extend [-type ext4] [-verbose] [DEVICE...]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/keel-os/keel/onboot/internal/disk"
)

func main() {
	e := extender{sys: disk.Host, out: os.Stdout, wait: 10 * time.Second, fsck: disk.Fsck, run: disk.Run}
	os.Exit(e.main(os.Args[1:]))
}

// extender holds what extend needs from the machine, so tests can replace it.
type extender struct {
	sys     disk.Sys
	out     io.Writer
	wait    time.Duration // for the partition's device node after the table is re-read
	fsck    func(dev string, force bool) error
	run     func(name string, args ...string) error
	verbose bool
}

func (e *extender) logf(format string, args ...any) {
	fmt.Fprintf(e.out, "extend: "+format+"\n", args...)
}

func (e *extender) debugf(format string, args ...any) {
	if e.verbose {
		e.logf(format, args...)
	}
}

func (e *extender) main(args []string) int {
	fl := flag.NewFlagSet("extend", flag.ContinueOnError)
	fl.SetOutput(e.out)
	fsType := fl.String("type", "ext4", "filesystem to grow: ext4")
	fl.BoolVar(&e.verbose, "verbose", false, "say what is considered and why")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *fsType != "ext4" {
		e.logf("-type %s: only ext4 is supported", *fsType)
		return 2
	}
	devs := fl.Args()
	named := len(devs) > 0
	if !named {
		var err error
		if devs, err = e.sys.Disks(); err != nil {
			e.logf("%v", err)
			return 1
		}
	}
	status := 0
	for _, d := range devs {
		err := e.extend(d)
		if errors.Is(err, disk.ErrNoTable) && !named {
			e.debugf("%s: no partition table: skipped", d)
			continue
		}
		if err != nil {
			e.logf("%s: %v", d, err)
			status = 1
		}
	}
	return status
}

// extend grows the last partition of dev and the filesystem on it.
func (e *extender) extend(dev string) error {
	d, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	size, err := disk.Size(d)
	if err != nil {
		return err
	}
	ss := disk.SectorSize(d)
	part, grown, err := disk.Grow(d, size, ss)
	if err != nil {
		return err
	}
	fi, err := d.Stat()
	if err != nil {
		return err
	}
	image := fi.Mode().IsRegular()
	target := disk.PartitionPath(dev, part.Number)
	if grown {
		if err := d.Sync(); err != nil {
			return err
		}
		if err := disk.Reread(d, part, ss); err != nil {
			return err
		}
		e.logf("%s: partition %d grown to %d MiB", dev, part.Number, part.Size(ss)>>20)
	}
	if !image {
		if err := disk.WaitBlock(target, e.wait); err != nil {
			return err
		}
	}
	fs, ok, err := e.readFS(d, target, image, part, ss)
	if err != nil {
		return err
	}
	if !ok || fs.Type != disk.Ext {
		if grown {
			e.logf("%s: no ext4 filesystem on partition %d to grow", dev, part.Number)
		}
		return nil
	}
	// Less than a block short is full: a filesystem holds whole blocks.
	if fs.Size+64<<10 > part.Size(ss) {
		e.debugf("%s: partition %d and its filesystem fill the disk", dev, part.Number)
		return nil
	}
	// resize2fs and e2fsck take an image file's partition as FILE?offset=N, and its size
	resizeArgs := []string{target}
	if image {
		target = dev + "?offset=" + strconv.FormatInt(part.Offset(ss), 10)
		resizeArgs = []string{target, strconv.FormatInt(part.Size(ss)>>10, 10) + "K"}
	}
	start := time.Now()
	if err := e.fsck(target, true); err != nil {
		return fmt.Errorf("check before resizing: %w", err)
	}
	if err := e.run("resize2fs", resizeArgs...); err != nil {
		return err
	}
	e.logf("%s: ext4 on partition %d grown from %d to %d MiB in %s", dev, part.Number, fs.Size>>20, part.Size(ss)>>20,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// readFS reads the filesystem of the partition: through its device node, or in an image.
func (e *extender) readFS(d *os.File, target string, image bool, part disk.Part, ss int64) (disk.FS, bool, error) {
	if image {
		return disk.ReadFS(io.NewSectionReader(d, part.Offset(ss), part.Size(ss)), part.Size(ss))
	}
	p, err := os.Open(target)
	if err != nil {
		return disk.FS{}, false, err
	}
	defer p.Close()
	size, err := disk.Size(p)
	if err != nil {
		return disk.FS{}, false, err
	}
	return disk.ReadFS(p, size)
}
