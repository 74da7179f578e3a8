package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/keel-os/keel/guest"
)

// The NoCloud file names, on a cidata volume.
const (
	userDataFile      = "user-data"
	metaDataFile      = "meta-data"
	networkConfigFile = "network-config"
)

// fwcfgNames are the fw_cfg files keel run qemu --data-via fwcfg passes, by NoCloud name.
var fwcfgNames = map[string]string{
	userDataFile:      guest.FwCfgUserData,
	metaDataFile:      guest.FwCfgMetaData,
	networkConfigFile: guest.FwCfgNetworkConfig,
}

// cmdlineKey is the kernel command-line key carrying base64 user data.
const cmdlineKey = guest.KeyUserData

// readLimited reads at most maxUserData bytes of a file; a missing file is nil, nil.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxUserData+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxUserData {
		return nil, fmt.Errorf("%s: more than %d bytes", name, maxUserData)
	}
	return b, nil
}

// noCloud reads user-data, meta-data and network-config from dir through read.
func noCloud(provider string, read func(name string) ([]byte, error)) (*Data, error) {
	d := &Data{Provider: provider}
	var err error
	if d.UserData, err = read(userDataFile); err != nil {
		return nil, err
	}
	if d.NetworkConfig, err = read(networkConfigFile); err != nil {
		return nil, err
	}
	meta, err := read(metaDataFile)
	if err != nil {
		return nil, err
	}
	if d.UserData == nil && meta == nil && d.NetworkConfig == nil {
		return nil, fmt.Errorf("%w: no %s, %s or %s", errAbsent, userDataFile, metaDataFile, networkConfigFile)
	}
	if meta != nil {
		if err := parseMetaData(meta, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// parseMetaData reads NoCloud's meta-data (YAML or JSON): instance-id, local-hostname and
// public-keys (a list, a map or one string).
func parseMetaData(b []byte, d *Data) error {
	var md struct {
		InstanceID    string    `yaml:"instance-id"`
		LocalHostname string    `yaml:"local-hostname"`
		Hostname      string    `yaml:"hostname"`
		PublicKeys    yaml.Node `yaml:"public-keys"`
	}
	if err := yaml.Unmarshal(b, &md); err != nil {
		return fmt.Errorf("%s: %w", metaDataFile, err)
	}
	d.Hostname = md.LocalHostname
	if d.Hostname == "" {
		d.Hostname = md.Hostname
	}
	d.Facts = facts("instance_id", md.InstanceID, "local_hostname", md.LocalHostname)
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			d.SSHKeys = append(d.SSHKeys, n.Value)
		case yaml.SequenceNode:
			for _, c := range n.Content {
				collect(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				collect(n.Content[i])
			}
		}
	}
	collect(&md.PublicKeys)
	return nil
}

// fwcfgProvider reads NoCloud files QEMU passes as fw_cfg entries.
type fwcfgProvider struct{ e *env }

func (fwcfgProvider) name() string { return "fwcfg" }

func (p fwcfgProvider) fetch(context.Context) (*Data, error) {
	dir := filepath.Join(p.e.sys, "firmware/qemu_fw_cfg/by_name")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: %v", errAbsent, err)
	}
	return noCloud("fw_cfg", func(name string) ([]byte, error) {
		return readLimited(filepath.Join(dir, filepath.FromSlash(fwcfgNames[name]), "raw"))
	})
}

// cmdlineProvider reads keel.userdata=BASE64 from the kernel command line.
type cmdlineProvider struct{ e *env }

func (cmdlineProvider) name() string { return "cmdline" }

func (p cmdlineProvider) fetch(context.Context) (*Data, error) {
	line, err := readLimited(p.e.cmdline)
	if err != nil || line == nil {
		return nil, fmt.Errorf("%w: %s: %v", errAbsent, p.e.cmdline, err)
	}
	ud, err := cmdlineUserData(string(line))
	if err != nil {
		return nil, err
	}
	return &Data{Provider: "cmdline", UserData: ud}, nil
}

// cmdlineUserData decodes the keel.userdata value (standard or URL-safe base64, padded or
// not), split from the line as PID 1 splits it: quotes kept together, the last value wins.
// An empty value is no user data.
func cmdlineUserData(line string) ([]byte, error) {
	val := guest.CmdlineParams(line)[cmdlineKey]
	if val == "" {
		return nil, fmt.Errorf("%w: no %s= value on the kernel command line", errAbsent, cmdlineKey)
	}
	val = strings.TrimRight(val, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(val); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s: not base64", cmdlineKey)
}

// fileProvider reads user data from a file of the machine (bound into the container).
type fileProvider struct{ path string }

func (fileProvider) name() string { return "file" }

func (p fileProvider) fetch(context.Context) (*Data, error) {
	b, err := readLimited(p.path)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: %s missing", errAbsent, p.path)
	}
	return &Data{Provider: "file", UserData: b}, nil
}

// readVolumeFile reads name from a mounted ISO or FAT volume; when it is missing, its
// ISO 9660 level 1 form too ("user-data" → "user_dat"), which Linux shows when an image has
// neither Joliet nor Rock Ridge names.
func readVolumeFile(dir, name string) ([]byte, error) {
	b, err := readLimited(filepath.Join(dir, name))
	if b != nil || err != nil {
		return b, err
	}
	short := []byte(strings.ToLower(name))
	for i, c := range short {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			short[i] = '_'
		}
	}
	if len(short) > 8 {
		short = short[:8]
	}
	if string(short) == name {
		return nil, nil
	}
	return readLimited(filepath.Join(dir, string(short)))
}

// volume is a block device and the file system its first sectors show.
type volume struct {
	dev    string // /dev/sr0
	fstype string // "iso9660" or "vfat"
	label  string
}

// blockVolumes lists the CD-ROMs (sr*) and virtio disks and partitions (vd*) with an ISO
// 9660 or FAT file system, in name order.
func blockVolumes(e *env) []volume {
	entries, err := os.ReadDir(filepath.Join(e.sys, "class/block"))
	if err != nil {
		return nil
	}
	var names []string
	for _, ent := range entries {
		if n := ent.Name(); strings.HasPrefix(n, "sr") || strings.HasPrefix(n, "vd") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []volume
	for _, n := range names {
		dev := filepath.Join(e.dev, n)
		fstype, label, err := readLabel(dev)
		if err != nil {
			continue // no medium, or neither ISO 9660 nor FAT
		}
		out = append(out, volume{dev: dev, fstype: fstype, label: label})
	}
	return out
}

// readLabel reads the file system type and volume label from a device's first sectors:
// the ISO 9660 primary volume descriptor at 32 KiB, or a FAT boot sector's label.
func readLabel(dev string) (fstype, label string, err error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	buf := make([]byte, 32768+2048)
	n, _ := io.ReadFull(f, buf)
	return labelOf(buf[:n])
}

func labelOf(b []byte) (fstype, label string, err error) {
	if len(b) >= 32768+72 && b[32768] == 1 && string(b[32769:32774]) == "CD001" {
		return "iso9660", strings.TrimRight(string(b[32768+40:32768+72]), " \x00"), nil
	}
	if len(b) >= 512 && b[510] == 0x55 && b[511] == 0xAA {
		switch {
		case b[66] == 0x29 && string(b[82:87]) == "FAT32": // FAT32 extended boot record
			return "vfat", strings.TrimRight(string(b[71:82]), " \x00"), nil
		case b[38] == 0x29 && string(b[54:57]) == "FAT": // FAT12/16
			return "vfat", strings.TrimRight(string(b[43:54]), " \x00"), nil
		}
	}
	return "", "", errors.New("no ISO 9660 or FAT file system")
}

// withMounted mounts v read-only on a fresh directory, runs fn on it and unmounts.
func withMounted(e *env, v volume, fn func(dir string) (*Data, error)) (*Data, error) {
	dir, err := os.MkdirTemp(e.mountDir, "metadata-")
	if err != nil {
		return nil, fmt.Errorf("mount point: %w", err)
	}
	defer os.Remove(dir)
	if err := e.mount(v.dev, dir, v.fstype); err != nil {
		return nil, fmt.Errorf("mount %s (%s) on %s: %w", v.dev, v.fstype, dir, err)
	}
	defer func() {
		if err := e.unmount(dir); err != nil {
			e.log.Printf("unmount %s: %v", dir, err)
		}
	}()
	return fn(dir)
}

// cidataProvider reads a NoCloud volume: ISO 9660 or FAT labelled cidata.
type cidataProvider struct{ e *env }

func (cidataProvider) name() string { return "cidata" }

func (p cidataProvider) fetch(context.Context) (*Data, error) {
	for _, v := range blockVolumes(p.e) {
		if !strings.EqualFold(v.label, "cidata") {
			continue
		}
		return withMounted(p.e, v, func(dir string) (*Data, error) {
			return noCloud("NoCloud", func(name string) ([]byte, error) {
				return readVolumeFile(dir, name)
			})
		})
	}
	return nil, fmt.Errorf("%w: no volume labelled cidata", errAbsent)
}

// cdromProvider follows LinuxKit's CD-ROM convention: a file "config" (or "user-data") at
// the root of an ISO 9660 CD-ROM.
type cdromProvider struct{ e *env }

func (cdromProvider) name() string { return "cdrom" }

func (p cdromProvider) fetch(context.Context) (*Data, error) {
	for _, v := range blockVolumes(p.e) {
		if v.fstype != "iso9660" || !strings.HasPrefix(filepath.Base(v.dev), "sr") || strings.EqualFold(v.label, "cidata") {
			continue
		}
		d, err := withMounted(p.e, v, func(dir string) (*Data, error) {
			for _, name := range []string{"config", userDataFile} {
				b, err := readVolumeFile(dir, name)
				if err != nil {
					return nil, err
				}
				if b != nil {
					return &Data{Provider: "CDROM " + v.dev, UserData: b}, nil
				}
			}
			return nil, fmt.Errorf("%w: %s has no config or user-data", errAbsent, v.dev)
		})
		if errors.Is(err, errAbsent) {
			continue
		}
		return d, err
	}
	return nil, fmt.Errorf("%w: no CD-ROM with config or user-data", errAbsent)
}
