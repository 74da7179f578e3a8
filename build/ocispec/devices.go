package ocispec

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
)

// devices returns the device nodes to create and the cgroup resources, with a device
// cgroup rule allowing each device (or, for path "all", each class of devices).
func (c *converter) devices() ([]specs.LinuxDevice, *specs.LinuxResources, error) {
	y, l := c.yaml, c.label
	var res specs.LinuxResources
	if r := pickPtr(y.Resources, l.Resources); r != nil {
		// A deep copy: device rules are appended, and the input must not change.
		data, err := json.Marshal(r)
		if err != nil {
			return nil, nil, fmt.Errorf("resources: %w", err)
		}
		if err := json.Unmarshal(data, &res); err != nil {
			return nil, nil, fmt.Errorf("resources: %w", err)
		}
	}
	var devices []specs.LinuxDevice
	for _, d := range pick(y.Devices, l.Devices, nil) {
		if d.Path == "all" {
			res.Devices = append(res.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Access: "rwm"})
			continue
		}
		dev := specs.LinuxDevice{Path: d.Path, Type: d.Type, Major: d.Major, Minor: d.Minor}
		if d.Mode != "" {
			mode, err := spec.ParseMode(d.Mode)
			if err != nil {
				return nil, nil, fmt.Errorf("device %s: %w", d.Path, err)
			}
			fm := os.FileMode(mode)
			dev.FileMode = &fm
		}
		devices = append(devices, dev)
		major, minor := d.Major, d.Minor
		res.Devices = append(res.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: "rwm"})
	}
	if isZeroResources(&res) {
		return devices, nil, nil
	}
	return devices, &res, nil
}

func isZeroResources(r *specs.LinuxResources) bool {
	data, _ := json.Marshal(r)
	return string(data) == "{}"
}
