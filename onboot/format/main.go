// Command format partitions and formats a disk at boot, with the options of LinuxKit's
// format package: the first blank disk, or the one named, gets a partition table (GPT by
// default, -partition dos for MBR) with one Linux partition over the whole disk, and an ext4
// filesystem on it (Debian's mke2fs). A disk that holds a partition table or a filesystem is
// never touched unless -force is given with its name, so format can run on every boot.
//
//	format [-type ext4] [-label NAME] [-partition gpt|dos] [-force] [-verbose] [DEVICE]
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
	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, disk.Host))
}

// options are format's command line.
type options struct {
	fsType, label, scheme string
	force, verbose        bool
	device                string
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("format", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.StringVar(&o.fsType, "type", "ext4", "filesystem to create: ext4")
	fl.StringVar(&o.label, "label", "", "filesystem label (and GPT partition name)")
	fl.StringVar(&o.scheme, "partition", disk.SchemeGPT, "partition table: gpt or dos")
	fl.BoolVar(&o.force, "force", false, "format the named DEVICE even if it holds a partition table or filesystem")
	fl.BoolVar(&o.verbose, "verbose", false, "say what is considered and why")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fl.NArg() > 1:
		return o, fmt.Errorf("one DEVICE at most, got %q", fl.Args())
	case o.fsType != "ext4":
		return o, fmt.Errorf("-type %s: only ext4 is supported", o.fsType)
	case o.scheme != disk.SchemeGPT && o.scheme != disk.SchemeDOS:
		return o, fmt.Errorf("-partition %s: want gpt or dos", o.scheme)
	case len(o.label) > 16:
		return o, fmt.Errorf("-label %q: ext4 labels have at most 16 bytes", o.label)
	}
	o.device = fl.Arg(0)
	return o, nil
}

// run is format's main; it returns the exit status. Finding nothing to format is success:
// the disk was formatted on an earlier boot.
func run(args []string, out io.Writer, sys disk.Sys) int {
	o, err := parse(args, out)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(out, "format: %v\n", err)
		return 2
	}
	f := formatter{options: o, out: out, wait: 10 * time.Second}
	dev, err := f.pick(sys)
	if err == nil && dev != "" {
		err = f.format(dev)
	}
	if err != nil {
		fmt.Fprintf(out, "format: %v\n", err)
		return 1
	}
	return 0
}

type formatter struct {
	options
	out  io.Writer
	wait time.Duration // for the partition's device node
}

func (f *formatter) logf(format string, args ...any) {
	fmt.Fprintf(f.out, "format: "+format+"\n", args...)
}

func (f *formatter) debugf(format string, args ...any) {
	if f.verbose {
		f.logf(format, args...)
	}
}

// pick returns the device to format: the named one if it is blank or -force is given, else
// the first blank disk; "" when there is none.
func (f *formatter) pick(sys disk.Sys) (string, error) {
	if f.device != "" {
		sig, err := probe(f.device)
		if err != nil {
			return "", err
		}
		switch {
		case f.force:
			if sig != "" {
				f.logf("%s holds a %s: formatting it anyway (-force)", f.device, sig)
			}
			return f.device, nil
		case sig != "":
			f.logf("%s holds a %s: left untouched (-force formats it)", f.device, sig)
			return "", nil
		}
		return f.device, nil
	}
	disks, err := sys.Disks()
	if err != nil {
		return "", err
	}
	for _, d := range disks {
		sig, err := probe(d)
		if err != nil {
			f.logf("%v: skipped", err)
			continue
		}
		if sig == "" {
			f.debugf("%s is blank", d)
			return d, nil
		}
		f.debugf("%s holds a %s: skipped", d, sig)
	}
	f.logf("no blank disk among %q: nothing to format", disks)
	return "", nil
}

// probe returns the signature on the disk (or image file) at path; "" is blank.
func probe(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() && (fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0) {
		return "", fmt.Errorf("%s is not a block device", path)
	}
	d, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer d.Close()
	size, err := disk.Size(d)
	if err != nil {
		return "", err
	}
	sig, err := disk.Probe(d, size)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return sig, nil
}

// format partitions dev and makes the filesystem on its partition.
func (f *formatter) format(dev string) error {
	part, ss, image, err := f.partition(dev)
	if err != nil {
		return err
	}
	args := []string{"-q", "-F", "-t", f.fsType}
	if f.label != "" {
		args = append(args, "-L", f.label)
	}
	target := disk.PartitionPath(dev, part.Number)
	if image {
		// an image file: the filesystem goes at the partition's offset
		target = dev
		args = append(args, "-E", "offset="+strconv.FormatInt(part.Offset(ss), 10), dev, strconv.FormatInt(part.Size(ss)/1024, 10)+"k")
	} else {
		if err := disk.WaitBlock(target, f.wait); err != nil {
			return err
		}
		args = append(args, target)
	}
	start := time.Now()
	if err := disk.Run("mke2fs", args...); err != nil {
		return err
	}
	f.logf("%s: %s partition table, %s %s on %s (%d MiB) in %s", dev, f.scheme, f.fsType, labelText(f.label), target,
		part.Size(ss)>>20, time.Since(start).Round(time.Millisecond))
	return nil
}

// partition writes the partition table and has the kernel read it. The disk is opened
// exclusively, so a disk in use cannot be partitioned even with -force, and closed before
// mke2fs, which cannot claim a partition of a disk someone else holds exclusively.
func (f *formatter) partition(dev string) (part disk.Part, ss int64, image bool, err error) {
	d, err := os.OpenFile(dev, os.O_RDWR|unix.O_EXCL, 0)
	if err != nil {
		return part, 0, false, fmt.Errorf("open %s: %w", dev, err)
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return part, 0, false, err
	}
	size, err := disk.Size(d)
	if err != nil {
		return part, 0, false, err
	}
	ss = disk.SectorSize(d)
	if f.force {
		if err := wipe(d, size); err != nil {
			return part, 0, false, fmt.Errorf("wipe %s: %w", dev, err)
		}
	}
	part, err = disk.Create(d, size, ss, f.scheme, f.label)
	if err != nil {
		return part, 0, false, fmt.Errorf("partition %s: %w", dev, err)
	}
	if err := d.Sync(); err != nil {
		return part, 0, false, fmt.Errorf("partition %s: %w", dev, err)
	}
	if err := disk.Reread(d, part, ss); err != nil {
		return part, 0, false, err
	}
	return part, ss, fi.Mode().IsRegular(), nil
}

func labelText(label string) string {
	if label == "" {
		return "without label"
	}
	return "labelled " + label
}

// wipe zeroes the first and last MiB of the disk: old partition tables (both GPT copies)
// and the signatures of a filesystem over the whole disk.
func wipe(d *os.File, size int64) error {
	zero := make([]byte, 1<<20)
	for _, off := range []int64{0, max(0, size-int64(len(zero)))} {
		n := min(int64(len(zero)), size-off)
		if _, err := d.WriteAt(zero[:n], off); err != nil {
			return err
		}
	}
	return nil
}
