// Package disk holds what Keel's storage packages (onboot/format, mount, extend and swap)
// share: telling a blank disk from one with a partition table or filesystem by their
// signatures, reading a filesystem's type, label and UUID, writing and growing a partition
// table (GPT, or DOS/MBR), finding disks and partitions through sysfs, asking the kernel to
// re-read a partition table, waiting for a device node, sizes such as "256M", and running
// Debian's e2fsprogs.
package disk
