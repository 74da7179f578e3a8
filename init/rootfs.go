package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// makeRootPivotable turns an initramfs root into a mount that runc can pivot_root away from,
// without copying it: / is bind-mounted onto a directory inside itself, that mount is moved
// over /, and PID 1 chroots into it. Every process started later inherits the new root.
func makeRootPivotable() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	if st.Type != unix.RAMFS_MAGIC && st.Type != unix.TMPFS_MAGIC {
		return nil // a real root filesystem: pivot_root works already
	}
	const dir = "/.keel-root"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	if err := unix.Mount("/", dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind / on %s: %w", dir, err)
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// Superblock magics of the read-only root filesystems a kernel+squashfs machine boots from.
const (
	squashfsMagic = 0x73717368
	erofsMagic    = 0xe0f5e1e2
)

// The overlay that makes a read-only root writable. overlayDir is a directory every Keel
// root has (PID 1 mounts /run over it later); lowerDir is where the read-only root sits
// while PID 1 leaves it.
const (
	overlayDir = "/run"
	lowerDir   = "/.keel-lower"
)

// overlayReadOnlyRoot lays a tmpfs over a squashfs or erofs root, which the kernel mounted
// from a disk, and makes the union the root: the system sees the same writable root as on an
// initramfs, files are read from the disk as they are used, and only what is written takes
// memory. An initramfs root is left alone. On failure the root stays as it was, read-only.
func overlayReadOnlyRoot() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	if st.Type != squashfsMagic && st.Type != erofsMagic {
		return nil
	}
	if err := unix.Mount("keel-root", overlayDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", overlayDir, err)
	}
	if err := pivotToOverlay(); err != nil {
		_ = unix.Unmount(overlayDir, unix.MNT_DETACH)
		return err
	}
	// The overlay holds the disk's filesystem and the tmpfs; the old root's other mounts
	// (the kernel's /dev) go with it.
	if err := unix.Unmount(lowerDir, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the old root %s: %w", lowerDir, err)
	}
	if err := os.Remove(lowerDir); err != nil {
		return fmt.Errorf("remove %s: %w", lowerDir, err)
	}
	return nil
}

// pivotToOverlay mounts the overlay of / and the tmpfs on overlayDir and makes it the root,
// with the old root on lowerDir.
func pivotToOverlay() error {
	upper, work, merged := overlayDir+"/upper", overlayDir+"/work", overlayDir+"/root"
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	data := "lowerdir=/,upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, data); err != nil {
		return fmt.Errorf("mount overlay %s on %s: %w", data, merged, err)
	}
	if err := os.Mkdir(merged+lowerDir, 0o700); err != nil {
		_ = unix.Unmount(merged, unix.MNT_DETACH)
		return fmt.Errorf("mkdir %s: %w", merged+lowerDir, err)
	}
	if err := unix.PivotRoot(merged, merged+lowerDir); err != nil {
		_ = unix.Unmount(merged, unix.MNT_DETACH)
		return fmt.Errorf("pivot_root to the overlay: %w", err)
	}
	return unix.Chdir("/")
}
