package kernelconfig

import "runtime"

// Arches lists the architectures Keel has kernel fragments for.
func Arches() []string { return []string{"amd64", "arm64", "s390x"} }

// knownArch reports whether arch is one of Arches.
func knownArch(arch string) bool {
	for _, a := range Arches() {
		if a == arch {
			return true
		}
	}
	return false
}

// KernelArch returns the kernel's ARCH= for a Go architecture name and the CROSS_COMPILE=
// prefix of Debian's cross compiler for it: empty when this host is that architecture.
// Both are empty for an architecture Keel has no kernel for.
func KernelArch(arch string) (karch, crossCompile string) {
	switch arch {
	case "amd64":
		karch, crossCompile = "x86_64", "x86_64-linux-gnu-"
	case "arm64":
		karch, crossCompile = "arm64", "aarch64-linux-gnu-"
	case "s390x":
		karch, crossCompile = "s390", "s390x-linux-gnu-"
	default:
		return "", ""
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == arch {
		crossCompile = ""
	}
	return karch, crossCompile
}

// GuessArch returns the architecture a config was made for, from CONFIG_X86_64,
// CONFIG_ARM64 or CONFIG_S390, or "" when it has none of them.
func GuessArch(cfg Config) string {
	switch {
	case cfg["CONFIG_X86_64"] == "y":
		return "amd64"
	case cfg["CONFIG_ARM64"] == "y":
		return "arm64"
	case cfg["CONFIG_S390"] == "y":
		return "s390x"
	}
	return ""
}
