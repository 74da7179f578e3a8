// Package kernel builds Keel's tuned Linux kernels: it unpacks a kernel source tarball once,
// merges the kernel-config fragments for an architecture on allnoconfig, checks that no
// requested symbol was dropped, cross-compiles the kernel and its modules with Debian's
// compilers, and packages them the way LinuxKit kernel images are laid out (kernel,
// kernel.tar of lib/modules, and the config). Results are cached under the Keel cache,
// keyed by the hash of the source, the fragments and the compiler, so a second build of the
// same inputs is instant. A build reports its compile progress and keeps make's log in its
// build directory; Prune removes what the current inputs no longer use.
package kernel
