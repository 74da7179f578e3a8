package kernel

import (
	"fmt"
	"runtime"
)

// target is what differs between architectures when building a kernel.
type target struct {
	karch  string // the kernel's ARCH=
	triple string // Debian's cross toolchain prefix, without the trailing "-"
	image  string // make target for the boot image
	path   string // the boot image, relative to the build directory
}

var targets = map[string]target{
	"amd64": {"x86_64", "x86_64-linux-gnu", "bzImage", "arch/x86/boot/bzImage"},
	"arm64": {"arm64", "aarch64-linux-gnu", "Image", "arch/arm64/boot/Image"},
	"s390x": {"s390", "s390x-linux-gnu", "bzImage", "arch/s390/boot/bzImage"},
}

// Arches lists the architectures Build supports.
func Arches() []string { return []string{"amd64", "arm64", "s390x"} }

func targetFor(arch string) (target, error) {
	t, ok := targets[arch]
	if !ok {
		return target{}, fmt.Errorf("kernel: unsupported arch %q (want amd64, arm64 or s390x)", arch)
	}
	return t, nil
}

// crossCompile is the CROSS_COMPILE= prefix for building on this host: none for the host's
// own architecture, else Debian's TRIPLE- cross compiler.
func (t target) crossCompile(arch string) string {
	if runtime.GOOS == "linux" && runtime.GOARCH == arch {
		return ""
	}
	return t.triple + "-"
}
