package kernelconfig

import (
	"embed"
	"fmt"
	"os"

	"github.com/keel-os/keel/arch"
)

//go:embed *.config
var fragmentFS embed.FS

// commonFragment is merged first for every architecture.
const commonFragment = "common.config"

// Fragment is a kernel config fragment: CONFIG_X=... and "# CONFIG_X is not set" lines.
type Fragment struct {
	Name string // file name or path, as errors and problems name it
	Data []byte
}

// Fragments returns the embedded fragments for the arch archName, in merge order: common.config, then
// ARCH.config.
func Fragments(archName string) ([]Fragment, error) {
	if _, err := arch.Lookup(archName); err != nil {
		return nil, fmt.Errorf("kernel config: no fragments: %w", err)
	}
	var frags []Fragment
	for _, name := range []string{commonFragment, archName + ".config"} {
		data, err := fragmentFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("kernel config: embedded fragment %s: %w", name, err)
		}
		frags = append(frags, Fragment{Name: name, Data: data})
	}
	return frags, nil
}

// LoadFragment reads a fragment from disk; its Name is path.
func LoadFragment(path string) (Fragment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Fragment{}, fmt.Errorf("kernel config fragment: %w", err)
	}
	return Fragment{Name: path, Data: data}, nil
}
