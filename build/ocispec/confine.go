package ocispec

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
)

// containerdPaths are the masked and read-only paths containerd gives a container by
// default (Docker's lists). containerd also masks the build host's per-CPU
// thermal_throttle directories; those say nothing about the machine being built, so they
// are left out.
func containerdPaths() (masked, readonly []string, err error) {
	ctx := namespaces.WithNamespace(context.Background(), "keel")
	s, err := oci.GenerateSpecWithPlatform(ctx, nil, "linux", &containers.Container{ID: "keel"})
	if err != nil {
		return nil, nil, fmt.Errorf("containerd's default spec: %w", err)
	}
	for _, p := range s.Linux.MaskedPaths {
		if !strings.HasPrefix(p, "/sys/devices/system/cpu/") {
			masked = append(masked, p)
		}
	}
	return masked, slices.Clone(s.Linux.ReadonlyPaths), nil
}

// seccompArches and archSyscalls are what containerd's DefaultProfile adds for each
// architecture Keel builds for, keyed by GOARCH. DefaultProfile reads the architecture
// from runtime.GOARCH, so a profile for another target has these parts swapped
// (TestSeccompTablesMatchContainerdOnThisHost keeps them in step with containerd).
var (
	seccompArches = map[string][]specs.Arch{
		"amd64": {specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		"arm64": {specs.ArchARM, specs.ArchAARCH64},
		"s390x": {specs.ArchS390, specs.ArchS390X},
	}
	archSyscalls = map[string][]string{
		"amd64": {"arch_prctl", "modify_ldt"},
		"arm64": {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"},
		"s390x": {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
	}
)

// seccompProfile is containerd's default profile for s (it allows more syscalls to more
// capabilities, so s.Process.Capabilities must be final) on arch, a GOARCH.
func seccompProfile(s *specs.Spec, arch string) (*specs.LinuxSeccomp, error) {
	p := seccomp.DefaultProfile(s)
	if len(p.Syscalls) == 0 {
		return nil, errors.New("containerd's default seccomp profile is only available when keel runs on Linux; build there or set seccomp: unconfined")
	}
	return retargetProfile(p, runtime.GOARCH, arch)
}

// retargetProfile turns p, DefaultProfile's result on host, into the profile for arch.
func retargetProfile(p *specs.LinuxSeccomp, host, arch string) (*specs.LinuxSeccomp, error) {
	if arch == host {
		return p, nil
	}
	arches, ok := seccompArches[arch]
	if !ok {
		return nil, fmt.Errorf("seccomp: no default profile for architecture %q", arch)
	}
	p.Architectures = slices.Clone(arches)
	swapped := false
	for i := range p.Syscalls {
		sc := &p.Syscalls[i]
		if hostOnly, ok := archSyscalls[host]; ok && !swapped && slices.Equal(sc.Names, hostOnly) {
			sc.Names = slices.Clone(archSyscalls[arch])
			swapped = true
		}
		// The namespace-flags rule: clone's flags are its second argument on s390x only.
		if slices.Equal(sc.Names, []string{"clone"}) && len(sc.Args) == 1 && sc.Args[0].Op == specs.OpMaskedEqual {
			sc.Args[0].Index = 0
			if arch == "s390x" {
				sc.Args[0].Index = 1
			}
		}
	}
	if !swapped {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: slices.Clone(archSyscalls[arch]), Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{}})
	}
	return p, nil
}

// confinement is the state of a container's confinement and where each part came from.
type confinement struct {
	masked, readonly       []string
	maskedSrc, readonlySrc Source
	seccomp                string
	seccompSrc             Source
	noNewPrivileges        bool
	nnpSrc                 Source
	// sysReadonly mounts /sys read-only, as Docker and containerd do for a container
	// that is not privileged; the masked and read-only path lists do not change it.
	sysReadonly bool
	// containerd's lists, to tell how much a given list leaves out.
	defaultMasked, defaultReadonly []string
}

// confine applies the defaults of the masked and read-only paths, a read-only /sys,
// seccomp and noNewPrivileges: confined unless the YAML or label says otherwise, or the
// container is privileged. CAP_SYS_ADMIN (capsSrc says where it came from) clears the
// default paths and keeps /sys read-write, as it can unmount or remount them anyway; all
// capabilities also turn off seccomp and noNewPrivileges, as Docker's --privileged does.
func (c *converter) confine(caps []string, capsSrc Source) (*confinement, error) {
	y, l := c.yaml, c.label
	masked, readonly, err := containerdPaths()
	if err != nil {
		return nil, err
	}
	cf := &confinement{defaultMasked: masked, defaultReadonly: readonly}
	sysAdmin := slices.Contains(caps, "CAP_SYS_ADMIN")
	all := true
	for _, cp := range spec.AllCapabilities() {
		if !slices.Contains(caps, cp) {
			all = false
			break
		}
	}
	layer := func(yv, lv *[]string, def []string) ([]string, Source) {
		switch {
		case yv != nil:
			return slices.Clone(*yv), FromYAML
		case lv != nil:
			return slices.Clone(*lv), FromLabel
		case sysAdmin:
			return nil, capsSrc
		}
		return def, FromDefault
	}
	cf.masked, cf.maskedSrc = layer(y.MaskedPaths, l.MaskedPaths, masked)
	cf.readonly, cf.readonlySrc = layer(y.ReadonlyPaths, l.ReadonlyPaths, readonly)
	cf.sysReadonly = !sysAdmin

	cf.seccomp, cf.seccompSrc = spec.SeccompDefault, FromDefault
	cf.noNewPrivileges, cf.nnpSrc = true, FromDefault
	if all {
		cf.seccomp, cf.seccompSrc = spec.SeccompUnconfined, capsSrc
		cf.noNewPrivileges, cf.nnpSrc = false, capsSrc
	}
	switch {
	case y.Seccomp != nil:
		cf.seccomp, cf.seccompSrc = *y.Seccomp, FromYAML
	case l.Seccomp != nil:
		cf.seccomp, cf.seccompSrc = *l.Seccomp, FromLabel
	}
	switch {
	case y.NoNewPrivileges != nil:
		cf.noNewPrivileges, cf.nnpSrc = *y.NoNewPrivileges, FromYAML
	case l.NoNewPrivileges != nil:
		cf.noNewPrivileges, cf.nnpSrc = *l.NoNewPrivileges, FromLabel
	}
	return cf, nil
}
