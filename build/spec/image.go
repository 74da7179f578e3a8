package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/bundle"
)

// LabelKey is the image label holding an image's default ImageConfig as JSON.
const LabelKey = "org.mobyproject.config"

// Image is an entry of onboot, onshutdown or services: a container to run.
type Image struct {
	// Name is the container's name: its bundle directory and containerd id.
	Name string `yaml:"name" json:"name" check:"name" required:"true"`
	// Image is the image reference holding the root filesystem.
	Image       string `yaml:"image" json:"image" check:"ref" required:"true"`
	ImageConfig `yaml:",inline"`

	// Pos is where the entry starts, for later errors ("a.yml:12: image ... not found").
	Pos Pos `yaml:"-" json:"-"`
	// KeyPos is where each key of the entry is written, for checks across entries
	// ("a.yml:14: services[0] \"a\": after: ...").
	KeyPos map[string]Pos `yaml:"-" json:"-"`
}

// ImageConfig is the per-image configuration: the YAML keys of an image entry besides name
// and image, and the JSON object in an image's org.mobyproject.config label. Every field
// is a pointer: nil is "not set" (the label's value, then the built-in default, applies).
//
// Fields are listed in LinuxKit's order; see docs of build/ocispec for how each becomes
// part of config.json.
type ImageConfig struct {
	// Capabilities replaces the label's capabilities; ["all"] is every capability.
	Capabilities *[]string `yaml:"capabilities,omitempty" json:"capabilities,omitempty" check:"capability"`
	// CapabilitiesAdd is added to the capabilities from the label (or Capabilities).
	CapabilitiesAdd *[]string `yaml:"capabilities.add,omitempty" json:"capabilities.add,omitempty" check:"capability"`
	// Ambient capabilities are kept across exec by a non-root user.
	Ambient *[]string `yaml:"ambient,omitempty" json:"ambient,omitempty" check:"capability"`
	// Mounts are full OCI mounts; type and destination may be inferred from the source.
	Mounts *[]specs.Mount `yaml:"mounts,omitempty" json:"mounts,omitempty" check:"mount"`
	// Binds are bind mounts "src:dst[:opt,opt]"; src is an absolute path or a volume name.
	Binds *[]string `yaml:"binds,omitempty" json:"binds,omitempty" check:"bind"`
	// BindsAdd is added to the binds from the label (or Binds).
	BindsAdd *[]string `yaml:"binds.add,omitempty" json:"binds.add,omitempty" check:"bind"`
	// Devices are device nodes to create, or with path "all" a class of devices to allow.
	Devices *[]Device `yaml:"devices,omitempty" json:"devices,omitempty"`
	// Tmpfs are tmpfs mounts "dst[:opt,opt]".
	Tmpfs *[]string `yaml:"tmpfs,omitempty" json:"tmpfs,omitempty" check:"tmpfs"`
	// Command replaces the image's entrypoint and cmd.
	Command *[]string `yaml:"command,omitempty" json:"command,omitempty"`
	// Env replaces the image's environment; entries are "NAME=value".
	Env *[]string `yaml:"env,omitempty" json:"env,omitempty" check:"env"`
	// Cwd is the working directory (default the image's, then "/").
	Cwd *string `yaml:"cwd,omitempty" json:"cwd,omitempty" check:"abs-path-or-empty"`
	// Net is "host" (default), "new" or "none" (a new, empty namespace), or the path of a
	// namespace to join.
	Net *string `yaml:"net,omitempty" json:"net,omitempty" check:"net-namespace"`
	// Pid is "new" (default), "host", or a namespace path.
	Pid *string `yaml:"pid,omitempty" json:"pid,omitempty" check:"namespace"`
	// Ipc is "host" (default), "new", or a namespace path.
	Ipc *string `yaml:"ipc,omitempty" json:"ipc,omitempty" check:"namespace"`
	// Uts is "host" (default), "new", or a namespace path.
	Uts *string `yaml:"uts,omitempty" json:"uts,omitempty" check:"namespace"`
	// Userns is "host" (default), "new", or a namespace path.
	Userns *string `yaml:"userns,omitempty" json:"userns,omitempty" check:"namespace"`
	// Hostname needs a new uts namespace.
	Hostname *string `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	// Readonly makes the root filesystem, /dev and /sys read-only.
	Readonly      *bool     `yaml:"readonly,omitempty" json:"readonly,omitempty"`
	MaskedPaths   *[]string `yaml:"maskedPaths,omitempty" json:"maskedPaths,omitempty" check:"abs-path"`
	ReadonlyPaths *[]string `yaml:"readonlyPaths,omitempty" json:"readonlyPaths,omitempty" check:"abs-path"`
	// Seccomp is SeccompDefault (containerd's default profile) or SeccompUnconfined; a
	// Keel-only key (build/ocispec has the default).
	Seccomp *string `yaml:"seccomp,omitempty" json:"seccomp,omitempty" check:"seccomp"`
	// UID, GID and AdditionalGids are numbers or names (see ID).
	UID             *ID   `yaml:"uid,omitempty" json:"uid,omitempty"`
	GID             *ID   `yaml:"gid,omitempty" json:"gid,omitempty"`
	AdditionalGids  *[]ID `yaml:"additionalGids,omitempty" json:"additionalGids,omitempty"`
	NoNewPrivileges *bool `yaml:"noNewPrivileges,omitempty" json:"noNewPrivileges,omitempty"`
	// OOMScoreAdj is between -1000 and 1000.
	OOMScoreAdj *int `yaml:"oomScoreAdj,omitempty" json:"oomScoreAdj,omitempty" check:"oom-score-adj"`
	// RootfsPropagation is shared, slave, private, unbindable or their r- variants.
	RootfsPropagation *string `yaml:"rootfsPropagation,omitempty" json:"rootfsPropagation,omitempty" check:"propagation"`
	CgroupsPath       *string `yaml:"cgroupsPath,omitempty" json:"cgroupsPath,omitempty"`
	// Resources are OCI cgroup limits; keys are the OCI JSON names, matched ignoring case
	// (LinuxKit's "blockio" and OCI's "blockIO" are the same key).
	Resources *specs.LinuxResources `yaml:"resources,omitempty" json:"resources,omitempty"`
	Sysctl    *map[string]string    `yaml:"sysctl,omitempty" json:"sysctl,omitempty"`
	// Rlimits are "name,soft,hard" (LinuxKit) or "name:soft:hard"; a limit may be
	// "unlimited"; the name may omit RLIMIT_ and is case-insensitive.
	Rlimits     *[]string               `yaml:"rlimits,omitempty" json:"rlimits,omitempty" check:"rlimit"`
	UIDMappings *[]specs.LinuxIDMapping `yaml:"uidMappings,omitempty" json:"uidMappings,omitempty"`
	GIDMappings *[]specs.LinuxIDMapping `yaml:"gidMappings,omitempty" json:"gidMappings,omitempty"`
	Annotations *map[string]string      `yaml:"annotations,omitempty" json:"annotations,omitempty"`

	// Runtime is what PID 1 does around the container (runtime.json).
	Runtime *Runtime `yaml:"runtime,omitempty" json:"runtime,omitempty"`

	// Keel-only keys (docs/yaml.md): supervision, ordering and logging, written to the
	// "keel" object of runtime.json (bundle.Keel). `sections` lists where a key may be
	// used in the YAML; in a label, keys that do not apply to the section are ignored.

	// Restart is bundle.RestartAlways, RestartOnFailure (default) or RestartNever.
	Restart *string `yaml:"restart,omitempty" json:"restart,omitempty" check:"restart" sections:"services"`
	// Backoff is the restart delay schedule.
	Backoff *Backoff `yaml:"backoff,omitempty" json:"backoff,omitempty" sections:"services"`
	// After names services of the same image description that must be running first.
	// It is not allowed in a label, so that the ordering is checked before any image is
	// pulled.
	After *[]string `yaml:"after,omitempty" json:"after,omitempty" check:"name" sections:"services"`
	// Wait is bundle.WaitNetwork: start once there is a default route.
	Wait *string `yaml:"wait,omitempty" json:"wait,omitempty" check:"wait" sections:"services"`
	// Emergency services also start when an essential onboot container failed.
	Emergency *bool `yaml:"emergency,omitempty" json:"emergency,omitempty" sections:"services"`
	// Console echoes the container's output to the console.
	Console *bool `yaml:"console,omitempty" json:"console,omitempty"`
	// Essential: a failure stops boot in an emergency state.
	Essential *bool `yaml:"essential,omitempty" json:"essential,omitempty" sections:"onboot,onshutdown"`
	// Timeout is a positive Go duration after which the container is killed.
	Timeout *string `yaml:"timeout,omitempty" json:"timeout,omitempty" check:"duration" sections:"onboot,onshutdown"`
}

// Backoff is the backoff key: restart delays as positive Go durations ("100ms", "30s");
// unset fields take the defaults (bundle.Backoff), and YAML overrides the label field by
// field.
type Backoff struct {
	Initial string `yaml:"initial,omitempty" json:"initial,omitempty" check:"duration"`
	Max     string `yaml:"max,omitempty" json:"max,omitempty" check:"duration"`
	Reset   string `yaml:"reset,omitempty" json:"reset,omitempty" check:"duration"`
}

// Device is a device node for the container ("path", "type" c/b/u/p, "major", "minor",
// octal "mode"), or with Path "all" permission for every device of Type (c, b or a).
type Device struct {
	Path  string `yaml:"path" json:"path" required:"true"`
	Type  string `yaml:"type" json:"type" required:"true"`
	Major int64  `yaml:"major,omitempty" json:"major,omitempty"`
	Minor int64  `yaml:"minor,omitempty" json:"minor,omitempty"`
	Mode  string `yaml:"mode,omitempty" json:"mode,omitempty" check:"mode"`
}

// Runtime is the runtime section: bundle.Runtime with "unset" (nil) distinguishable, so
// that YAML overrides the label field by field.
type Runtime struct {
	Cgroups    *[]string           `yaml:"cgroups,omitempty" json:"cgroups,omitempty"`
	Mounts     *[]specs.Mount      `yaml:"mounts,omitempty" json:"mounts,omitempty" check:"runtime-mount"`
	Mkdir      *[]string           `yaml:"mkdir,omitempty" json:"mkdir,omitempty" check:"runtime-path"`
	Interfaces *[]bundle.Interface `yaml:"interfaces,omitempty" json:"interfaces,omitempty" check:"interface"`
	BindNS     *Namespaces         `yaml:"bindNS,omitempty" json:"bindNS,omitempty"`
	Namespace  *string             `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// Namespaces is runtime.bindNS: per namespace type, the path to bind the container's
// namespace to once it runs.
type Namespaces struct {
	Cgroup *string `yaml:"cgroup,omitempty" json:"cgroup,omitempty" check:"abs-path"`
	Ipc    *string `yaml:"ipc,omitempty" json:"ipc,omitempty" check:"abs-path"`
	Mnt    *string `yaml:"mnt,omitempty" json:"mnt,omitempty" check:"abs-path"`
	Net    *string `yaml:"net,omitempty" json:"net,omitempty" check:"abs-path"`
	Pid    *string `yaml:"pid,omitempty" json:"pid,omitempty" check:"abs-path"`
	User   *string `yaml:"user,omitempty" json:"user,omitempty" check:"abs-path"`
	Uts    *string `yaml:"uts,omitempty" json:"uts,omitempty" check:"abs-path"`
}
