package ocispec

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

// Kind is the section a container belongs to.
type Kind string

// Kinds of container.
const (
	Onboot     Kind = spec.SectionOnboot
	Onshutdown Kind = spec.SectionOnshutdown
	Service    Kind = spec.SectionServices
)

// Options are the facts about a container that are not in its configuration.
type Options struct {
	// Kind is the section of the container; services get containerd settings (an
	// absolute root path and a default cgroupsPath).
	Kind Kind
	// Rootfs overrides the spec's root path ("rootfs" in the bundle, or for services
	// /containers/services/<name>/rootfs).
	Rootfs string
	// IDs resolves uid and gid names to numbers: spec.Config.IDs().
	IDs map[string]uint32
	// Arch is the target's GOARCH, for the seccomp profile; empty is the build host's.
	Arch string
	// ReadFile reads a file of the image's root filesystem ("etc/passwd"), to resolve a
	// user or group name in the image's USER; nil when the root filesystem is not at hand.
	ReadFile func(name string) ([]byte, error)
	// Strict refuses host privileges that only the image's label grants (Report.LabelGranted).
	Strict bool
	// Report, if set, receives the container's privileges in effect.
	Report func(Report)
	// Volumes are the description's volumes, which binds and bind mounts may name as
	// their source (spec.Config.Volumes).
	Volumes []spec.Volume
}

// ConvertImage is Convert with the label read from the image config's
// org.mobyproject.config label, if it has one.
func ConvertImage(img spec.Image, image v1.ImageConfig, opts Options) (*specs.Spec, bundle.Runtime, error) {
	var label *spec.ImageConfig
	if text := image.Labels[spec.LabelKey]; text != "" {
		var err error
		label, err = spec.ParseLabel(fmt.Sprintf("image %q label %s", img.Image, spec.LabelKey), []byte(text))
		if err != nil {
			return nil, bundle.Runtime{}, wrap(img, opts, err)
		}
	}
	return Convert(img, label, image, opts)
}

// Convert builds the config.json and runtime.json of img. label is the image's default
// configuration (nil for none) and image its OCI config (entrypoint, cmd, env, working
// directory). Errors are *spec.Error at img.Pos.
func Convert(img spec.Image, label *spec.ImageConfig, image v1.ImageConfig, opts Options) (*specs.Spec, bundle.Runtime, error) {
	if label == nil {
		label = &spec.ImageConfig{}
	}
	c := &converter{yaml: &img.ImageConfig, label: label, image: image, opts: opts, name: img.Name, ref: img.Image}
	s, err := c.spec()
	if err != nil {
		return nil, bundle.Runtime{}, wrap(img, opts, err)
	}
	rt := runtimeConfig(img.Runtime, label.Runtime)
	if rt.Keel, err = keelConfig(&img.ImageConfig, label, opts.Kind); err != nil {
		return nil, bundle.Runtime{}, wrap(img, opts, err)
	}
	c.runtimePrivileges(img.Runtime, label.Runtime)
	sortPrivileges(c.privs)
	report := Report{Kind: opts.Kind, Name: img.Name, Image: img.Image, Privileges: c.privs}
	if opts.Strict {
		if err := report.strictError(); err != nil {
			return nil, bundle.Runtime{}, wrap(img, opts, err)
		}
	}
	if opts.Report != nil {
		opts.Report(report)
	}
	return s, rt, nil
}

// wrap places err at the image's position.
func wrap(img spec.Image, opts Options, err error) error {
	kind := string(opts.Kind)
	if kind == "" {
		kind = "image"
	}
	return &spec.Error{Pos: img.Pos, Field: fmt.Sprintf("%s %q", kind, img.Name), Err: err}
}

// converter holds the three layers of configuration: yaml over label over image.
type converter struct {
	yaml, label *spec.ImageConfig
	image       v1.ImageConfig
	opts        Options
	name        string
	ref         string // the image reference
	// privs are the privileges in effect, recorded as they are worked out.
	privs []Privilege
	// resolvConfBound is set when the container got the host's resolv.conf (net: host).
	resolvConfBound bool
}

func (c *converter) spec() (*specs.Spec, error) {
	y, l := c.yaml, c.label
	args := pick(y.Command, l.Command, append(slices.Clip(c.image.Entrypoint), c.image.Cmd...))
	if len(args) == 0 {
		return nil, errors.New("no command: the image has no entrypoint or cmd, and no command is given")
	}
	readonly := pick(y.Readonly, l.Readonly, false)

	// The capabilities decide the confinement, which decides the /sys mount.
	caps, err := c.capabilities()
	if err != nil {
		return nil, err
	}
	adminSrc, err := c.capabilityPrivileges(caps.Bounding)
	if err != nil {
		return nil, err
	}
	cf, err := c.confine(caps.Bounding, adminSrc)
	if err != nil {
		return nil, err
	}
	mounts, err := c.mounts(readonly, cf.sysReadonly)
	if err != nil {
		return nil, err
	}
	namespaces, err := c.namespaces()
	if err != nil {
		return nil, err
	}
	hostname := pick(y.Hostname, l.Hostname, "")
	if hostname != "" && !slices.ContainsFunc(namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.UTSNamespace }) {
		return nil, fmt.Errorf("hostname %q needs its own uts namespace (uts: new)", hostname)
	}
	c.namespacePrivileges()
	c.mountPrivileges(mounts)
	c.confinementPrivileges(cf)
	c.sysPrivilege(mounts, cf.sysReadonly)
	user, err := c.user()
	if err != nil {
		return nil, err
	}
	rlimits, err := c.rlimits()
	if err != nil {
		return nil, err
	}
	devices, resources, err := c.devices()
	if err != nil {
		return nil, err
	}
	c.devicePrivileges()

	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User: user,
			Args: slices.Clone(args),
			Env:  nonEmpty(pick(y.Env, l.Env, c.image.Env)),
			Cwd:  firstNonEmpty(deref(y.Cwd), deref(l.Cwd), c.image.WorkingDir, "/"),
			// Never nil: runc would keep every capability.
			Capabilities:    caps,
			Rlimits:         rlimits,
			NoNewPrivileges: cf.noNewPrivileges,
			OOMScoreAdj:     pickPtr(y.OOMScoreAdj, l.OOMScoreAdj),
		},
		Root:        &specs.Root{Path: c.rootfs(), Readonly: readonly},
		Hostname:    hostname,
		Mounts:      mounts,
		Annotations: nonEmptyMap(pick(y.Annotations, l.Annotations, nil)),
		Linux: &specs.Linux{
			UIDMappings:       pick(y.UIDMappings, l.UIDMappings, nil),
			GIDMappings:       pick(y.GIDMappings, l.GIDMappings, nil),
			Sysctl:            nonEmptyMap(pick(y.Sysctl, l.Sysctl, nil)),
			Resources:         resources,
			CgroupsPath:       pick(y.CgroupsPath, l.CgroupsPath, c.defaultCgroupsPath()),
			Namespaces:        namespaces,
			Devices:           devices,
			RootfsPropagation: pick(y.RootfsPropagation, l.RootfsPropagation, ""),
			MaskedPaths:       nonEmpty(cf.masked),
			ReadonlyPaths:     nonEmpty(cf.readonly),
		},
	}
	if cf.seccomp == spec.SeccompDefault {
		arch := c.opts.Arch
		if arch == "" {
			arch = runtime.GOARCH
		}
		if s.Linux.Seccomp, err = seccompProfile(s, arch); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (c *converter) rootfs() string {
	switch {
	case c.opts.Rootfs != "":
		return c.opts.Rootfs
	case c.opts.Kind == Service:
		return "/" + path.Join(bundle.ServicesDir, c.name, bundle.RootfsDir)
	default:
		return bundle.RootfsDir
	}
}

// defaultCgroupsPath puts a service in its own cgroup below the root, where runc would
// put it under containerd anyway; onboot containers keep runc's default.
func (c *converter) defaultCgroupsPath() string {
	if c.opts.Kind == Service {
		return "/" + c.name
	}
	return ""
}

func (c *converter) user() (specs.User, error) {
	y, l := c.yaml, c.label
	var u specs.User
	var err error
	if y.UID == nil && l.UID == nil && y.GID == nil && l.GID == nil && c.image.User != "" {
		// The image's USER applies unless the YAML or label sets uid or gid.
		if u.UID, u.GID, err = c.imageUser(c.image.User); err != nil {
			return u, err
		}
	} else {
		if u.UID, err = pick(y.UID, l.UID, spec.ID{}).Resolve(c.opts.IDs); err != nil {
			return u, fmt.Errorf("uid: %w", err)
		}
		if u.GID, err = pick(y.GID, l.GID, spec.ID{}).Resolve(c.opts.IDs); err != nil {
			return u, fmt.Errorf("gid: %w", err)
		}
	}
	for _, id := range pick(y.AdditionalGids, l.AdditionalGids, nil) {
		g, err := id.Resolve(c.opts.IDs)
		if err != nil {
			return u, fmt.Errorf("additionalGids: %w", err)
		}
		u.AdditionalGids = append(u.AdditionalGids, g)
	}
	return u, nil
}

func (c *converter) rlimits() ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, s := range pick(c.yaml.Rlimits, c.label.Rlimits, nil) {
		r, err := spec.ParseRlimit(s)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
