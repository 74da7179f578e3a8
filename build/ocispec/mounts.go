package ocispec

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

// defaultMounts are the filesystems every container gets, keyed by destination. The
// options are Docker's, as in LinuxKit; readonly makes /dev and /sys read-only too, and
// sysReadonly /sys alone.
func defaultMounts(readonly, sysReadonly bool) map[string]specs.Mount {
	ro := func(opts ...string) []string {
		if readonly {
			return append(opts, "ro")
		}
		return opts
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "nodev", "noexec", "relatime"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: ro("nosuid", "strictatime", "mode=755", "size=65536k")},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOptions(readonly || sysReadonly)},
		{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
	m := make(map[string]specs.Mount, len(ms))
	for _, mnt := range ms {
		m[mnt.Destination] = mnt
	}
	return m
}

// sysOptions are the options of the default sysfs mount at /sys.
func sysOptions(readonly bool) []string {
	if readonly {
		return []string{"nosuid", "noexec", "nodev", "ro"}
	}
	return []string{"nosuid", "noexec", "nodev"}
}

// mounts layers the default mounts, tmpfs, binds and mounts entries (a later one
// replaces an earlier one at the same destination) and sorts them by destination, which
// puts every mount after the mount of its parent directory.
func (c *converter) mounts(readonly, sysReadonly bool) ([]specs.Mount, error) {
	y, l := c.yaml, c.label
	mounts := defaultMounts(readonly, sysReadonly)
	defaults := defaultMounts(readonly, sysReadonly)
	for _, s := range pick(y.Tmpfs, l.Tmpfs, nil) {
		t, err := spec.ParseTmpfs(s)
		if err != nil {
			return nil, err
		}
		dst := path.Clean(t.Destination)
		mounts[dst] = specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: t.Options}
	}
	for _, s := range addLists(l.Binds, l.BindsAdd, y.Binds, y.BindsAdd) {
		b, err := spec.ParseBind(s)
		if err != nil {
			return nil, err
		}
		src, opts := b.Source, b.Options
		if !strings.HasPrefix(src, "/") {
			if src, opts, err = c.volume(b.Source, opts); err != nil {
				return nil, fmt.Errorf("bind %q: %w", s, err)
			}
		}
		dst := path.Clean(b.Destination)
		mounts[dst] = specs.Mount{Destination: dst, Type: "bind", Source: src, Options: bindOptions(opts)}
	}
	for _, m := range pick(y.Mounts, l.Mounts, nil) {
		m, err := spec.NormalizeMount(m)
		if err != nil {
			return nil, err
		}
		m.Options = slices.Clone(m.Options)
		if isBind(m) && !strings.HasPrefix(m.Source, "/") {
			if m.Source, m.Options, err = c.volume(m.Source, m.Options); err != nil {
				return nil, fmt.Errorf("mount at %q: %w", m.Destination, err)
			}
		}
		mounts[m.Destination] = m
	}
	if c.sharesHostNet() && !coversResolvConf(mounts) {
		mounts[resolvConfDst] = resolvConfBind()
		c.resolvConfBound = true
	}
	list := make([]specs.Mount, 0, len(mounts))
	for dst, m := range mounts {
		if _, isDefault := defaults[dst]; isDefault && m.Type == defaults[dst].Type && m.Source == defaults[dst].Source && underRecursiveBind(mounts, dst) {
			// A recursive bind of a parent (binds: [/dev:/dev]) brings the host's
			// mount here already; mounting the default again fails (mqueue: EBUSY).
			continue
		}
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b specs.Mount) int { return strings.Compare(a.Destination, b.Destination) })
	return list, nil
}

// volume resolves a bind of the volume called name to its directory, with opts made
// read-only for a readonly volume ("ro" added; "rw" is an error, as in LinuxKit).
func (c *converter) volume(name string, opts []string) (string, []string, error) {
	i := slices.IndexFunc(c.opts.Volumes, func(v spec.Volume) bool { return v.Name == name })
	if i < 0 {
		return "", nil, fmt.Errorf("no volume named %q in volumes", name)
	}
	if c.opts.Volumes[i].ReadOnly && !slices.Contains(opts, "ro") {
		if slices.Contains(opts, "rw") {
			return "", nil, fmt.Errorf("volume %q is read-only: bind it with \"ro\", not \"rw\"", name)
		}
		if len(opts) == 0 {
			opts = []string{"rbind", "rshared"}
		}
		opts = append([]string{"ro"}, opts...)
	}
	return volumePath(name), opts, nil
}

// volumePath is where the volume called name is in the machine's root filesystem.
func volumePath(name string) string { return "/" + path.Join(bundle.VolumesDir, name) }

// isBind reports whether m is a bind mount.
func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// underRecursiveBind reports whether a recursive bind mount covers a parent of dst.
func underRecursiveBind(mounts map[string]specs.Mount, dst string) bool {
	for d := path.Dir(dst); ; d = path.Dir(d) {
		if m, ok := mounts[d]; ok && m.Type == "bind" && slices.Contains(m.Options, "rbind") {
			return true
		}
		if d == "/" {
			return false
		}
	}
}

// bindOptions are LinuxKit's: "rw,rbind,rshared" when none are given, else the given
// options made recursive.
func bindOptions(opts []string) []string {
	if len(opts) == 0 {
		return []string{"rw", "rbind", "rshared"}
	}
	if slices.Contains(opts, "bind") || slices.Contains(opts, "rbind") {
		return slices.Clone(opts)
	}
	return append(slices.Clone(opts), "rbind")
}

// resolvConfDst is where a container's resolver configuration is.
const resolvConfDst = "/etc/resolv.conf"

// resolvConfBind binds the machine's resolv.conf, which the network package writes, read-only
// at /etc/resolv.conf: a container sharing the host's network uses the host's resolver, as
// Docker gives --net=host containers the host's resolv.conf.
func resolvConfBind() specs.Mount {
	return specs.Mount{Destination: resolvConfDst, Type: "bind", Source: bundle.ResolvConf, Options: []string{"ro", "rbind"}}
}

// coversResolvConf reports whether a mount the YAML or label asked for is at
// /etc/resolv.conf or /etc: the container's own choice of resolver.
func coversResolvConf(mounts map[string]specs.Mount) bool {
	_, file := mounts[resolvConfDst]
	_, dir := mounts[path.Dir(resolvConfDst)]
	return file || dir
}

// sharesHostNet reports whether the container shares the host's network namespace.
func (c *converter) sharesHostNet() bool {
	v := firstNonEmpty(deref(c.yaml.Net), deref(c.label.Net), spec.NSHost)
	return v == spec.NSHost || v == "root"
}
