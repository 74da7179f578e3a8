// Package bundle defines the on-image layout that the image builder writes and PID 1 reads:
// where container bundles live, and runtime.json, LinuxKit's extra per-container runtime
// configuration (mkdir, mounts, interfaces, bindNS, cgroups, containerd namespace).
package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Directories, relative to the image root, that hold one bundle per container.
const (
	OnbootDir     = "containers/onboot"
	OnshutdownDir = "containers/onshutdown"
	ServicesDir   = "containers/services"
)

// VolumesDir, relative to the image root, holds one directory per volume of the image's YAML,
// for containers to bind-mount.
const VolumesDir = "containers/volumes"

// File names inside a bundle directory.
const (
	ConfigFile  = "config.json"
	RuntimeFile = "runtime.json"
	RootfsDir   = "rootfs"
)

// DefaultNamespace is the containerd namespace services run in unless runtime.json says
// otherwise. It is LinuxKit's, so `ctr -n services.linuxkit` works as LinuxKit users expect.
const DefaultNamespace = "services.linuxkit"

// Runtime is runtime.json: actions PID 1 performs for a container beyond the OCI spec.
// Field names and JSON keys are LinuxKit's.
type Runtime struct {
	// Cgroups are created (under /sys/fs/cgroup) before the container starts.
	Cgroups []string `json:"cgroups,omitempty" yaml:"cgroups,omitempty"`
	// Mounts are performed in the host mount namespace before the container starts.
	Mounts []specs.Mount `json:"mounts,omitempty" yaml:"mounts,omitempty"`
	// Mkdir lists directories created (with parents) before the container starts.
	Mkdir []string `json:"mkdir,omitempty" yaml:"mkdir,omitempty"`
	// Interfaces are created or moved into the container's network namespace.
	Interfaces []Interface `json:"interfaces,omitempty" yaml:"interfaces,omitempty"`
	// BindNS bind-mounts the container's namespaces to these paths once it is running.
	BindNS Namespaces `json:"bindNS,omitempty" yaml:"bindNS,omitempty"`
	// Namespace is the containerd namespace for a service (default DefaultNamespace).
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// Keel holds Keel's own settings for the container (supervision, ordering); LinuxKit
	// tools ignore it.
	Keel *Keel `json:"keel,omitempty" yaml:"keel,omitempty"`
}

// Restart policies of a service.
const (
	RestartOnFailure = "on-failure" // the default: restart after a non-zero exit or a signal
	RestartAlways    = "always"
	RestartNever     = "never"
)

// WaitNetwork makes a service wait for a default route and a name server in ResolvConf
// before it starts.
const WaitNetwork = "network"

// ResolvConf is the machine's resolver configuration, written by the network package
// (keel/dhcpcd). PID 1 creates it empty at boot; the root's /etc/resolv.conf links to it
// and containers that share the host's network get it bound at /etc/resolv.conf.
const ResolvConf = "/run/resolvconf/resolv.conf"

// Keel is the Keel-only part of runtime.json. Durations are Go duration strings ("100ms").
type Keel struct {
	// Services.
	Restart string   `json:"restart,omitempty"` // RestartOnFailure (default), RestartAlways, RestartNever
	Backoff *Backoff `json:"backoff,omitempty"` // restart delays; unset fields take the defaults
	After   []string `json:"after,omitempty"`   // services that must be running before this one starts
	Wait    string   `json:"wait,omitempty"`    // WaitNetwork, or ""
	// Emergency services also start when an essential onboot container failed.
	Emergency bool `json:"emergency,omitempty"`
	// Console echoes the container's output to the console.
	Console bool `json:"console,omitempty"`

	// Onboot containers.
	Essential bool   `json:"essential,omitempty"` // a failure stops boot in an emergency state
	Timeout   string `json:"timeout,omitempty"`   // kill the container after this long
}

// Backoff is the restart delay schedule: Initial, doubling up to Max; the delay goes back to
// Initial once the service has run healthily for Reset.
type Backoff struct {
	Initial string `json:"initial,omitempty"` // default 100ms
	Max     string `json:"max,omitempty"`     // default 30s
	Reset   string `json:"reset,omitempty"`   // default 60s
}

// Interface is a network interface to create (Add: "veth" with Peer, or another link
// type) or an existing one (Name) to move into the container's network namespace.
type Interface struct {
	Name         string `json:"name,omitempty" yaml:"name,omitempty"`
	Add          string `json:"add,omitempty" yaml:"add,omitempty"`
	Peer         string `json:"peer,omitempty" yaml:"peer,omitempty"`
	CreateInRoot bool   `json:"createInRoot" yaml:"createInRoot"`
}

// Namespaces holds, per namespace type, the path a namespace is bound to.
type Namespaces struct {
	Cgroup string `json:"cgroup,omitempty" yaml:"cgroup,omitempty"`
	Ipc    string `json:"ipc,omitempty" yaml:"ipc,omitempty"`
	Mnt    string `json:"mnt,omitempty" yaml:"mnt,omitempty"`
	Net    string `json:"net,omitempty" yaml:"net,omitempty"`
	Pid    string `json:"pid,omitempty" yaml:"pid,omitempty"`
	User   string `json:"user,omitempty" yaml:"user,omitempty"`
	Uts    string `json:"uts,omitempty" yaml:"uts,omitempty"`
}

// Bundle is one container bundle found on the image.
type Bundle struct {
	Name    string // directory name, e.g. "001-sysctl" or "getty"
	Dir     string // absolute path of the bundle directory
	Spec    *specs.Spec
	Runtime Runtime
}

// Rootfs is the path of the bundle's root filesystem.
func (b *Bundle) Rootfs() string { return filepath.Join(b.Dir, RootfsDir) }

// Load reads the bundle in dir. A missing runtime.json is an empty Runtime.
func Load(dir string) (*Bundle, error) {
	b := &Bundle{Name: filepath.Base(dir), Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	b.Spec = new(specs.Spec)
	if err := json.Unmarshal(data, b.Spec); err != nil {
		return nil, fmt.Errorf("bundle %s: parse %s: %w", dir, ConfigFile, err)
	}
	data, err = os.ReadFile(filepath.Join(dir, RuntimeFile))
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	default:
		if err := json.Unmarshal(data, &b.Runtime); err != nil {
			return nil, fmt.Errorf("bundle %s: parse %s: %w", dir, RuntimeFile, err)
		}
	}
	return b, nil
}

// List returns the bundle directories under root/sub in name order (the boot order for
// onboot and onshutdown). A missing directory is an empty list.
func List(root, sub string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, sub))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list bundles in %s: %w", sub, err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(root, sub, e.Name()))
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// IsBind reports whether a config.json mount is a bind mount, which makes its source a path
// outside the container.
func IsBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}
