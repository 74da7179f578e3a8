// Package ocispec turns one container of an image description (a spec.Image from the
// YAML), the org.mobyproject.config label of its image and the image's own config into
// the two files of its bundle: config.json (an OCI runtime spec for runc or containerd)
// and runtime.json (bundle.Runtime, what PID 1 does around the container).
//
// The rules are LinuxKit's (its moby ConfigToOCI), summarised here:
//
//   - Precedence: a key set in the YAML (even to an empty value) replaces the label's,
//     which replaces the built-in default. Command, env and cwd fall back to the image's
//     entrypoint+cmd, env and working directory. Unlike LinuxKit, the image's USER
//     applies when neither YAML nor label sets uid or gid, resolved as runtimes do
//     (names through the image's /etc/passwd and /etc/group, Options.ReadFile).
//   - capabilities.add and binds.add add to the capabilities and binds in effect (the
//     label's, or the YAML's replacement of them). Keel also honours them in the label
//     and together with capabilities/binds in the YAML, where LinuxKit drops them.
//   - Capabilities: none unless given (LinuxKit has no default set); "all" is every
//     capability, "none" nothing. Bounding, permitted and inheritable are the
//     capabilities plus the ambient ones; effective are the capabilities.
//   - Mounts: /proc, /dev (tmpfs), /dev/pts, /dev/shm, /dev/mqueue, /sys and
//     /sys/fs/cgroup (cgroup2, read-only) by default; /dev and /sys become read-only
//     with readonly. Then tmpfs entries, binds and mounts, each replacing whatever is at
//     the same destination, sorted by destination so parents come first. A bind without
//     options is "rw,rbind,rshared"; with options, rbind is added. A relative mounts
//     destination is from the container's / (as runc takes it) and written absolute. A
//     bind (or bind mount) whose source is not an absolute path names a volume
//     (Options.Volumes), whose directory is the source; a readonly volume's binds get "ro"
//     ("rw" is an error).
//   - resolv.conf (Keel's, not LinuxKit's): a container sharing the host's network namespace
//     gets the machine's resolver configuration (bundle.ResolvConf, which the network
//     package writes) bound read-only at /etc/resolv.conf, unless the YAML or label puts a
//     mount at /etc/resolv.conf or /etc. It is not reported as a privilege.
//   - runtime.json: as the YAML (or label) says, relative runtime mounts and mkdir
//     included: PID 1 resolves those inside the container's rootfs, and interfaces with
//     a peer and no add are veth pairs, as in LinuxKit's init.
//   - Namespaces: a new mount and cgroup namespace always; a new pid namespace unless
//     pid is host; the host's net, ipc, uts and user namespaces unless the key is new
//     (or none, for net) or a path to join.
//   - Confinement (Keel's, not LinuxKit's): containerd's masked and read-only paths
//     (Docker's lists, without the build host's per-CPU paths), containerd's default
//     seccomp profile for Options.Arch, and noNewPrivileges, unless the YAML or label
//     sets maskedPaths, readonlyPaths, seccomp (Keel-only: default or unconfined) or
//     noNewPrivileges. Privileged containers keep LinuxKit's behaviour: CAP_SYS_ADMIN
//     (or all capabilities) gets no default paths; all capabilities get no seccomp and
//     noNewPrivileges false, as Docker's --privileged.
//   - Privileges: each container's capabilities, host namespaces, devices, binds of
//     host paths, runtime mounts and mkdir, and confinement are reported with their
//     source (YAML, label or default; Options.Report, WriteReports); Options.Strict
//     refuses those only the label grants.
//   - Devices: each device node is also allowed in the device cgroup; path "all"
//     allows a whole class.
//   - cgroupsPath: for services, "/<name>" unless given.
//   - Keel-only keys (restart, backoff, after, wait, emergency, console, essential,
//     timeout; docs/yaml.md) go to runtime.json's "keel" object, YAML over label per key
//     (backoff per field), nil when none is set; label keys that do not apply to the
//     container's section are ignored.
//   - Root: "rootfs" in the bundle, or for services the absolute path of the service's
//     rootfs, since containerd does not run the spec from the bundle directory.
//
// Keel differs from LinuxKit in the default mounts (LinuxKit has no /dev/shm and
// /dev/mqueue, and mounts /sys/fs/cgroup as type cgroup), in the .add rules above, in
// rejecting hostname without a new uts namespace and an empty command at build time, and
// in de-duplicating capabilities and binds.
//
// Output is deterministic: mounts are sorted, capability lists are sorted and Marshal
// writes stable, indented JSON.
package ocispec
