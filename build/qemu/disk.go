package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ParseDisk parses a --disk value: "file=PATH,size=SIZE,format=raw|qcow2", or a bare PATH.
func ParseDisk(s string) (Disk, error) {
	var d Disk
	if !strings.Contains(s, "=") {
		return Disk{Path: s, Format: "raw"}, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "file":
			d.Path = v
		case "size":
			n, err := ParseSize(v)
			if err != nil {
				return d, fmt.Errorf("disk %q: %w", s, err)
			}
			d.Size = n
		case "format":
			if v != "raw" && v != "qcow2" {
				return d, fmt.Errorf("disk %q: format %q: want raw or qcow2", s, v)
			}
			d.Format = v
		default:
			return d, fmt.Errorf("disk %q: unknown key %q (want file, size, format)", s, k)
		}
	}
	if d.Path == "" {
		return d, fmt.Errorf("disk %q: file= is required", s)
	}
	if d.Format == "" {
		d.Format = "raw"
	}
	return d, nil
}

// ParseSize parses a byte count with an optional K, M, G or T suffix (powers of 1024,
// an optional trailing "B" or "iB" allowed): "1G", "512M", "4096".
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := int64(1)
	if t != "" {
		if i := strings.IndexByte("KMGT", t[len(t)-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a positive number with an optional K, M, G or T suffix", s)
	}
	return n * mult, nil
}

// ParseMem reads a guest memory size as qemu -m takes it ("1G", "512M", or a bare number of
// MiB) and returns it in whole MiB.
func ParseMem(s string) (int, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.Atoi(t); err == nil && n > 0 {
		return n, nil
	}
	n, err := ParseSize(t)
	if err != nil || n < 1<<20 || n%(1<<20) != 0 {
		return 0, fmt.Errorf("guest memory %q: want whole MiB: a number of MiB, or one with M or G", s)
	}
	return int(n >> 20), nil
}

// prepareDisks creates every missing disk file: raw ones sparse (truncate), qcow2 ones
// with qemu-img.
func prepareDisks(ctx context.Context, disks []Disk) error {
	for _, d := range disks {
		if _, err := os.Stat(d.Path); err == nil {
			continue
		} else if !os.IsNotExist(err) {
			return fmt.Errorf("disk %s: %w", d.Path, err)
		}
		if d.Size <= 0 {
			return fmt.Errorf("disk %s does not exist and has no size= to create it with", d.Path)
		}
		if err := createDisk(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func createDisk(ctx context.Context, d Disk) error {
	if d.Format == "qcow2" {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", d.Path, strconv.FormatInt(d.Size, 10))
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("create disk %s with qemu-img: %w: %s", d.Path, err, strings.TrimSpace(out.String()))
		}
		return nil
	}
	f, err := os.OpenFile(d.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create disk: %w", err)
	}
	if err := f.Truncate(d.Size); err != nil {
		f.Close()
		return fmt.Errorf("create disk %s: %w", d.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create disk %s: %w", d.Path, err)
	}
	return nil
}
