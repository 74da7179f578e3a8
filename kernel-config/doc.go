// Package kernelconfig holds the Keel kernel configuration fragments and checks kernel
// configs against them and against what a Keel machine needs.
//
// A Keel kernel config is common.config merged with the architecture's fragment
// (amd64.config, arm64.config or s390x.config) on allnoconfig by the kernel's
// scripts/kconfig/merge_config.sh -n, which resolves dependencies the way olddefconfig does.
// Kconfig silently drops a requested symbol whose dependencies or menu are off, so a
// fragment can say CONFIG_SQUASHFS=y and still produce a kernel without squashfs. This
// package finds such drops (Dropped) and checks a final config (Check) against two lists:
// what containers need (moby's check-config.sh "Generally Necessary" list plus Keel's own
// needs) and the hardening LinuxKit's KSPP kernel-config test asks for.
//
// The fragments are embedded (Fragments); Merge runs merge_config.sh in a kernel source
// tree; ParseConfig and ReadConfigFile read a .config or /proc/config.gz.
package kernelconfig
