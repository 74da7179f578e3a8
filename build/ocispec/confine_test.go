package ocispec

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
)

func convertService(t *testing.T, entry string, label *spec.ImageConfig, opts Options) *specs.Spec {
	t.Helper()
	img, ids := service(t, entry)
	opts.Kind, opts.IDs = Service, ids
	s, _, err := Convert(img, label, shell, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConvertMasksProcPathsAndMakesProcSysReadOnlyByDefault(t *testing.T) {
	s := convertService(t, "    capabilities: []\n", nil, Options{})
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/sys/firmware"} {
		if !slices.Contains(s.Linux.MaskedPaths, p) {
			t.Errorf("maskedPaths %v lack %s", s.Linux.MaskedPaths, p)
		}
	}
	// core_pattern is under /proc/sys.
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger"} {
		if !slices.Contains(s.Linux.ReadonlyPaths, p) {
			t.Errorf("readonlyPaths %v lack %s", s.Linux.ReadonlyPaths, p)
		}
	}
	for _, p := range s.Linux.MaskedPaths {
		if strings.HasPrefix(p, "/sys/devices/system/cpu/") {
			t.Errorf("maskedPaths hold the build host's CPU path %s", p)
		}
	}
}

func TestConvertEmptyMaskedAndReadonlyPathsInYAMLOptOut(t *testing.T) {
	s := convertService(t, "    maskedPaths: []\n    readonlyPaths: []\n", nil, Options{})
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Errorf("masked %v readonly %v, want none", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

func TestConvertGivesSysAdminOrAllCapabilitiesNoDefaultPaths(t *testing.T) {
	for _, caps := range []string{"[CAP_SYS_ADMIN]", "[all]"} {
		s := convertService(t, "    capabilities: "+caps+"\n", nil, Options{})
		if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
			t.Errorf("%s: masked %v readonly %v, want none", caps, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
		}
		// A list given explicitly still applies.
		s = convertService(t, "    capabilities: "+caps+"\n    readonlyPaths: [/proc/sys]\n", nil, Options{})
		if !reflect.DeepEqual(s.Linux.ReadonlyPaths, []string{"/proc/sys"}) {
			t.Errorf("%s: readonly %v, want the YAML's", caps, s.Linux.ReadonlyPaths)
		}
	}
}

// mountAt is the mount of s at dst, or fails the test.
func mountAt(t *testing.T, s *specs.Spec, dst string) specs.Mount {
	t.Helper()
	i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == dst })
	if i < 0 {
		t.Fatalf("no mount at %s in %+v", dst, s.Mounts)
	}
	return s.Mounts[i]
}

func TestConvertMountsSysReadOnlyUnlessPrivileged(t *testing.T) {
	for _, tc := range []struct {
		entry  string
		label  *spec.ImageConfig
		sysRO  bool
		reason string
	}{
		{"    capabilities: []\n", nil, true, "no capabilities"},
		{"    capabilities: [CAP_NET_ADMIN, CAP_SYS_TIME]\n", nil, true, "capabilities without CAP_SYS_ADMIN"},
		{"    maskedPaths: []\n    readonlyPaths: []\n", nil, true, "the path lists turned off"},
		{"    capabilities: [CAP_SYS_ADMIN]\n", nil, false, "CAP_SYS_ADMIN"},
		{"    capabilities: [all]\n", nil, false, "all capabilities"},
		{"", &spec.ImageConfig{Capabilities: &[]string{"CAP_SYS_ADMIN"}}, false, "CAP_SYS_ADMIN from the label"},
		{"    capabilities: [CAP_SYS_ADMIN]\n    readonlyPaths: [/proc/sys]\n", nil, false, "CAP_SYS_ADMIN with its own read-only paths"},
		{"    capabilities: [all]\n    readonly: true\n", nil, true, "all capabilities and a read-only root"},
	} {
		s := convertService(t, tc.entry, tc.label, Options{})
		sys := mountAt(t, s, "/sys")
		if got := slices.Contains(sys.Options, "ro"); got != tc.sysRO {
			t.Errorf("%s: /sys options %v, read-only %v, want %v", tc.reason, sys.Options, got, tc.sysRO)
		}
		if cg := mountAt(t, s, "/sys/fs/cgroup"); !reflect.DeepEqual(cg.Options, []string{"nosuid", "noexec", "nodev", "relatime", "ro"}) {
			t.Errorf("%s: /sys/fs/cgroup options %v changed", tc.reason, cg.Options)
		}
	}
}

func TestConvertReportsAReadWriteSysMountOfAConfinedContainer(t *testing.T) {
	rw := specs.Mount{Source: "sysfs", Destination: "/sys", Options: []string{"nosuid", "noexec", "nodev"}}
	r := reportOf(t, "    mounts: [{source: sysfs, destination: /sys, options: [nosuid, noexec, nodev]}]\n", nil)
	if !has(r, AspectConfinement, "sys=rw", FromYAML) {
		t.Errorf("no sys=rw from the YAML in %+v", r.Privileges)
	}
	r = reportOf(t, "", &spec.ImageConfig{Mounts: &[]specs.Mount{rw}})
	if !has(r, AspectConfinement, "sys=rw", FromLabel) {
		t.Errorf("no sys=rw from the label in %+v", r.Privileges)
	}
	// Read-only, or privileged anyway: nothing to report.
	ro := rw
	ro.Options = append(slices.Clone(rw.Options), "ro")
	for _, tc := range []struct {
		entry string
		label *spec.ImageConfig
	}{
		{"", nil},
		{"", &spec.ImageConfig{Mounts: &[]specs.Mount{ro}}},
		{"    capabilities: [CAP_SYS_ADMIN]\n", &spec.ImageConfig{Mounts: &[]specs.Mount{rw}}},
	} {
		r := reportOf(t, tc.entry, tc.label)
		if slices.ContainsFunc(r.Privileges, func(p Privilege) bool { return strings.HasPrefix(p.Value, "sys=") }) {
			t.Errorf("%q: reported %+v", tc.entry, r.Privileges)
		}
	}
	img, ids := service(t, "")
	_, _, err := Convert(img, &spec.ImageConfig{Mounts: &[]specs.Mount{rw}}, shell, Options{Kind: Service, IDs: ids, Strict: true})
	wantConvertError(t, err, `label grants confinement sys=rw`)
}

func TestConvertAppliesContainerdsDefaultSeccompProfile(t *testing.T) {
	for _, caps := range []string{"[]", "[CAP_SYS_ADMIN, CAP_NET_ADMIN]"} {
		s := convertService(t, "    capabilities: "+caps+"\n", nil, Options{})
		if s.Linux.Seccomp == nil {
			t.Fatalf("%s: no seccomp profile", caps)
		}
		got := s.Linux.Seccomp
		s.Linux.Seccomp = nil
		if want := seccomp.DefaultProfile(s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: profile differs from containerd's DefaultProfile for the same spec", caps)
		}
		if got.DefaultAction != specs.ActErrno {
			t.Errorf("%s: default action %s", caps, got.DefaultAction)
		}
	}
}

func TestConvertSeccompUnconfinedOptsOut(t *testing.T) {
	s := convertService(t, "    seccomp: unconfined\n", nil, Options{})
	if s.Linux.Seccomp != nil {
		t.Errorf("seccomp set despite seccomp: unconfined")
	}
}

func TestConvertAllCapabilitiesAreUnconfinedAndMayGainPrivileges(t *testing.T) {
	s := convertService(t, "    capabilities: [all]\n", nil, Options{})
	if s.Linux.Seccomp != nil || s.Process.NoNewPrivileges {
		t.Errorf("seccomp %v noNewPrivileges %v, want none and false", s.Linux.Seccomp != nil, s.Process.NoNewPrivileges)
	}
	// YAML keys win over the privileged defaults.
	s = convertService(t, "    capabilities: [all]\n    seccomp: default\n    noNewPrivileges: true\n", nil, Options{})
	if s.Linux.Seccomp == nil || !s.Process.NoNewPrivileges {
		t.Errorf("seccomp %v noNewPrivileges %v, want the YAML's", s.Linux.Seccomp != nil, s.Process.NoNewPrivileges)
	}
}

func TestConvertSetsNoNewPrivilegesUnlessTheYAMLOptsOut(t *testing.T) {
	if s := convertService(t, "", nil, Options{}); !s.Process.NoNewPrivileges {
		t.Errorf("noNewPrivileges false by default")
	}
	if s := convertService(t, "    noNewPrivileges: false\n", nil, Options{}); s.Process.NoNewPrivileges {
		t.Errorf("noNewPrivileges true despite noNewPrivileges: false")
	}
}

func TestRetargetProfileGivesTheTargetsArchitecturesSyscallsAndCloneArgument(t *testing.T) {
	for _, host := range []string{"amd64", "arm64", "s390x"} {
		for _, target := range []string{"amd64", "arm64", "s390x"} {
			if host == target {
				continue
			}
			cloneIndex := uint(0)
			if host == "s390x" {
				cloneIndex = 1
			}
			p := &specs.LinuxSeccomp{
				Architectures: seccompArches[host],
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"read"}, Action: specs.ActAllow},
					{Names: slices.Clone(archSyscalls[host]), Action: specs.ActAllow},
					{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: cloneIndex, Value: 0x7e020000, Op: specs.OpMaskedEqual}}},
				},
			}
			got, err := retargetProfile(p, host, target)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Architectures, seccompArches[target]) {
				t.Errorf("%s→%s: architectures %v", host, target, got.Architectures)
			}
			if !reflect.DeepEqual(got.Syscalls[1].Names, archSyscalls[target]) || len(got.Syscalls) != 3 {
				t.Errorf("%s→%s: arch syscalls %v (%d rules)", host, target, got.Syscalls[1].Names, len(got.Syscalls))
			}
			want := uint(0)
			if target == "s390x" {
				want = 1
			}
			if got.Syscalls[2].Args[0].Index != want {
				t.Errorf("%s→%s: clone flags at argument %d, want %d", host, target, got.Syscalls[2].Args[0].Index, want)
			}
		}
	}
	if _, err := retargetProfile(&specs.LinuxSeccomp{}, "amd64", "mips"); err == nil {
		t.Errorf("no error for an architecture without a profile")
	}
}

// The tables retargetProfile swaps must be what containerd's DefaultProfile writes.
func TestSeccompTablesMatchContainerdOnThisHost(t *testing.T) {
	arches, ok := seccompArches[runtime.GOARCH]
	if !ok {
		t.Skipf("Keel does not build for %s", runtime.GOARCH)
	}
	s := convertService(t, "", nil, Options{Arch: runtime.GOARCH})
	p := s.Linux.Seccomp
	if !reflect.DeepEqual(p.Architectures, arches) {
		t.Errorf("containerd's architectures %v, table %v", p.Architectures, arches)
	}
	if !slices.ContainsFunc(p.Syscalls, func(sc specs.LinuxSyscall) bool { return slices.Equal(sc.Names, archSyscalls[runtime.GOARCH]) }) {
		t.Errorf("containerd's profile has no rule %v", archSyscalls[runtime.GOARCH])
	}
}

func TestConvertHonoursTheImagesUser(t *testing.T) {
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1001:\nstaff:x:50:app\n",
	}
	readFile := func(name string) ([]byte, error) {
		if d, ok := files[name]; ok {
			return []byte(d), nil
		}
		return nil, os.ErrNotExist
	}
	for _, tc := range []struct {
		user     string
		uid, gid uint32
	}{
		{"app", 1000, 1001},
		{"1000", 1000, 1001},
		{"2000", 2000, 0},
		{"app:staff", 1000, 50},
		{"app:7", 1000, 7},
		{"3:4", 3, 4},
	} {
		img, ids := service(t, "")
		ic := shell
		ic.User = tc.user
		s, _, err := Convert(img, nil, ic, Options{Kind: Service, IDs: ids, ReadFile: readFile})
		if err != nil {
			t.Errorf("USER %s: %v", tc.user, err)
			continue
		}
		if u := s.Process.User; u.UID != tc.uid || u.GID != tc.gid {
			t.Errorf("USER %s: uid %d gid %d, want %d %d", tc.user, u.UID, u.GID, tc.uid, tc.gid)
		}
	}
}

func TestConvertYAMLUIDOverridesTheImagesUser(t *testing.T) {
	img, ids := service(t, "    uid: 5\n")
	ic := shell
	ic.User = "nobody"
	s, _, err := Convert(img, nil, ic, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if u := s.Process.User; u.UID != 5 || u.GID != 0 {
		t.Errorf("user %+v, want uid 5 gid 0", u)
	}
}

func TestConvertNamesTheImageWhenItsUserCannotBeResolved(t *testing.T) {
	img, ids := service(t, "")
	ic := shell
	ic.User = "app"
	_, _, err := Convert(img, nil, ic, Options{Kind: Service, IDs: ids})
	wantConvertError(t, err, `svc.yml:2: services "svc": image "example/svc:1" USER "app": the image's /etc/passwd is not at hand`)
	_, _, err = Convert(img, nil, ic, Options{Kind: Service, IDs: ids, ReadFile: func(string) ([]byte, error) { return []byte("root:x:0:0::/:/bin/sh\n"), nil }})
	wantConvertError(t, err, `image "example/svc:1" USER "app": no user "app" in the image's /etc/passwd`)
}

func reportOf(t *testing.T, entry string, label *spec.ImageConfig) Report {
	t.Helper()
	var got []Report
	convertService(t, entry, label, Options{Report: func(r Report) { got = append(got, r) }})
	if len(got) != 1 {
		t.Fatalf("%d reports, want 1", len(got))
	}
	return got[0]
}

func has(r Report, aspect, value string, src Source) bool {
	return slices.ContainsFunc(r.Privileges, func(p Privilege) bool {
		return p.Aspect == aspect && p.Value == value && p.Source == src
	})
}

func TestReportSaysWhereEachPrivilegeComesFrom(t *testing.T) {
	label := &spec.ImageConfig{
		Capabilities: &[]string{"CAP_SYS_ADMIN"},
		Pid:          ptr("host"),
		Net:          ptr("host"),
		Devices:      &[]spec.Device{{Path: "all", Type: "c"}},
		Resources:    &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}},
		Binds:        &[]string{"/:/hostroot"},
		Runtime:      &spec.Runtime{Mkdir: &[]string{"/var/lib/x"}, Mounts: &[]specs.Mount{{Source: "/", Destination: "/mnt", Type: "bind", Options: []string{"rbind", "rw"}}}},
	}
	r := reportOf(t, "    capabilities.add: [CAP_NET_ADMIN]\n    binds.add: [/var/log:/var/log]\n", label)
	for _, w := range []struct {
		aspect, value string
		src           Source
	}{
		{AspectCapabilities, "CAP_SYS_ADMIN", FromLabel},
		{AspectCapabilities, "CAP_NET_ADMIN", FromYAML},
		{AspectNamespace, "pid", FromLabel},
		{AspectNamespace, "net", FromDefault}, // LinuxKit's default: the label grants nothing
		{AspectDevice, "all c", FromLabel},
		{AspectDevice, "cgroup a *:* rwm", FromLabel},
		{AspectHostPath, "/:/hostroot", FromLabel},
		{AspectHostPath, "/var/log:/var/log", FromYAML},
		{AspectHostPath, "runtime mkdir /var/lib/x", FromLabel},
		{AspectHostPath, "runtime mount /:/mnt", FromLabel},
		{AspectConfinement, "masked=none", FromLabel}, // CAP_SYS_ADMIN from the label
		{AspectConfinement, "seccomp=default", FromDefault},
		{AspectConfinement, "nnp=true", FromDefault},
	} {
		if !has(r, w.aspect, w.value, w.src) {
			t.Errorf("no %s %q from %s in %+v", w.aspect, w.value, w.src, r.Privileges)
		}
	}
}

func TestStrictRefusesHostPrivilegesOnlyALabelGrants(t *testing.T) {
	img, ids := service(t, "    capabilities: []\n")
	label := &spec.ImageConfig{
		Capabilities: &[]string{"CAP_SYS_ADMIN"}, // replaced by the YAML: not granted
		Pid:          ptr("host"),
		Devices:      &[]spec.Device{{Path: "all", Type: "c"}},
		Runtime:      &spec.Runtime{Mounts: &[]specs.Mount{{Source: "/", Destination: "/mnt", Type: "bind", Options: []string{"rbind", "rw"}}}},
		Seccomp:      ptr("unconfined"),
	}
	_, _, err := Convert(img, label, shell, Options{Kind: Service, IDs: ids, Strict: true})
	wantConvertError(t, err,
		`svc.yml:2: services "svc": strict: image "example/svc:1" label grants host namespace pid, device all c, `+
			`host path runtime mount /:/mnt, confinement seccomp=unconfined; set them in the YAML`)
	if strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
		t.Errorf("error %q names a capability the YAML took away", err)
	}
	// Without strict, or with the YAML asking for the same, the label's privileges apply.
	if _, _, err := Convert(img, label, shell, Options{Kind: Service, IDs: ids}); err != nil {
		t.Errorf("not strict: %v", err)
	}
	img, ids = service(t, "    capabilities: []\n    pid: host\n    devices: [{path: all, type: c}]\n    runtime: {mounts: [{source: /, destination: /mnt, type: bind, options: [rbind, rw]}]}\n    seccomp: unconfined\n")
	if _, _, err := Convert(img, label, shell, Options{Kind: Service, IDs: ids, Strict: true}); err != nil {
		t.Errorf("strict with the YAML granting the same: %v", err)
	}
}

func TestStrictAcceptsAConfinedLabel(t *testing.T) {
	img, ids := service(t, "")
	label := &spec.ImageConfig{Net: ptr("host"), Readonly: ptr(true)}
	if _, _, err := Convert(img, label, shell, Options{Kind: Service, IDs: ids, Strict: true}); err != nil {
		t.Errorf("strict: %v", err)
	}
}

func TestWriteReportsPrintsOneLinePerContainerWithSources(t *testing.T) {
	var b bytes.Buffer
	err := WriteReports(&b, []Report{
		{Kind: Service, Name: "getty", Privileges: []Privilege{
			{AspectCapabilities, "CAP_SYS_ADMIN", FromLabel, true},
			{AspectCapabilities, "CAP_CHOWN", FromYAML, true},
			{AspectNamespace, "net", FromDefault, true},
			{AspectConfinement, "seccomp=default", FromDefault, false},
		}},
		{Kind: Onboot, Name: "000-x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "CONTAINER       CAPABILITIES                  HOST NS  DEVICES  HOST PATHS  CONFINEMENT\n" +
		"services/getty  chown(yaml) sys_admin(label)  net      -        -           seccomp=default\n" +
		"onboot/000-x    -                             -        -        -           -\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := WriteReports(failWriter{}, nil); err == nil {
		t.Errorf("no error from a failing writer")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken") }
