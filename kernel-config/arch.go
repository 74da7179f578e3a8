package kernelconfig

import "github.com/keel-os/keel/arch"

// GuessArch returns the architecture a config was made for, from the arch's own symbol
// (CONFIG_X86_64, CONFIG_ARM64 or CONFIG_S390), or "" when it has none of them.
func GuessArch(cfg Config) string {
	for _, a := range arch.All() {
		if cfg[a.Kconfig] == "y" {
			return a.Name
		}
	}
	return ""
}
