package ocispec

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
)

// capabilities are the process's capability sets, as LinuxKit computes them.
func (c *converter) capabilities() (*specs.LinuxCapabilities, error) {
	y, l := c.yaml, c.label
	caps, err := expandCapabilities(addLists(l.Capabilities, l.CapabilitiesAdd, y.Capabilities, y.CapabilitiesAdd))
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	ambient, err := expandCapabilities(pick(y.Ambient, l.Ambient, nil))
	if err != nil {
		return nil, fmt.Errorf("ambient: %w", err)
	}
	bounding := append(slices.Clone(caps), ambient...)
	slices.Sort(bounding)
	bounding = slices.Compact(bounding)
	return &specs.LinuxCapabilities{
		Bounding:    bounding,
		Effective:   caps,
		Inheritable: slices.Clone(bounding),
		Permitted:   slices.Clone(bounding),
		Ambient:     ambient,
	}, nil
}

// expandCapabilities normalizes names, expands "all", drops "none", sorts and removes
// duplicates. It returns nil for no capabilities.
func expandCapabilities(list []string) ([]string, error) {
	var out []string
	for _, s := range list {
		switch {
		case strings.EqualFold(s, "all"):
			out = append(out, spec.AllCapabilities()...)
		case strings.EqualFold(s, "none"):
		default:
			c, err := spec.NormalizeCapability(s)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
