package spec

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseRlimitAcceptsLinuxKitAndColonForms(t *testing.T) {
	for in, want := range map[string]specs.POSIXRlimit{
		"nofile,1024,2048":                  {Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048},
		"nofile:1024:2048":                  {Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048},
		"RLIMIT_CORE, unlimited, unlimited": {Type: "RLIMIT_CORE", Soft: Unlimited, Hard: Unlimited},
		"memlock,0,infinity":                {Type: "RLIMIT_MEMLOCK", Soft: 0, Hard: Unlimited},
	} {
		got, err := ParseRlimit(in)
		if err != nil || got != want {
			t.Errorf("ParseRlimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"nofile:abc":       `expected "name,soft,hard"`,
		"nofile:abc:1":     `"abc" is not a number`,
		"nofile,-1,2":      `"-1" is not a number`,
		"nofiles,1,2":      `unknown limit "nofiles"`,
		"nofile,2,1":       "soft limit is above hard limit",
		"nofile,1024:2048": `expected "name,soft,hard"`,
	} {
		if _, err := ParseRlimit(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRlimit(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestParseBindSplitsSourceDestinationAndOptions(t *testing.T) {
	for in, want := range map[string]Bind{
		"/var:/var":               {Source: "/var", Destination: "/var"},
		"/var:/var:rshared,rbind": {Source: "/var", Destination: "/var", Options: []string{"rshared", "rbind"}},
		"data:/data:ro":           {Source: "data", Destination: "/data", Options: []string{"ro"}},
	} {
		got, err := ParseBind(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseBind(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"/var", "/var:var", ":/x", "/a:/b:", "/a:/b:c:d", "a b:/c"} {
		if _, err := ParseBind(in); err == nil {
			t.Errorf("ParseBind(%q) succeeded", in)
		}
	}
}

func TestParseTmpfsSplitsDestinationAndOptions(t *testing.T) {
	if got, err := ParseTmpfs("/tmp:size=1m,mode=1777"); err != nil || !reflect.DeepEqual(got, Tmpfs{Destination: "/tmp", Options: []string{"size=1m", "mode=1777"}}) {
		t.Errorf("ParseTmpfs = %+v, %v", got, err)
	}
	if got, err := ParseTmpfs("/run"); err != nil || !reflect.DeepEqual(got, Tmpfs{Destination: "/run"}) {
		t.Errorf("ParseTmpfs = %+v, %v", got, err)
	}
	for _, in := range []string{"tmp", "/tmp:a:b", "/tmp:"} {
		if _, err := ParseTmpfs(in); err == nil {
			t.Errorf("ParseTmpfs(%q) succeeded", in)
		}
	}
}

func TestNormalizeMountInfersTypeSourceAndDestinationAsLinuxKit(t *testing.T) {
	for _, tc := range []struct{ in, want specs.Mount }{
		{specs.Mount{Source: "proc"}, specs.Mount{Type: "proc", Source: "proc", Destination: "/proc"}},
		{specs.Mount{Source: "mqueue"}, specs.Mount{Type: "mqueue", Source: "mqueue", Destination: "/dev/mqueue"}},
		{specs.Mount{Type: "cgroup2"}, specs.Mount{Type: "cgroup2", Source: "cgroup2", Destination: "/sys/fs/cgroup"}},
		{specs.Mount{Destination: "/dev/"}, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "/dev"}},
		{specs.Mount{Type: "bind", Source: "/a", Destination: "/b/../c", Options: []string{"ro"}}, specs.Mount{Type: "bind", Source: "/a", Destination: "/c", Options: []string{"ro"}}},
	} {
		got, err := NormalizeMount(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NormalizeMount(%+v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []specs.Mount{{Destination: "/data"}, {Type: "tmpfs"}} {
		if _, err := NormalizeMount(in); err == nil {
			t.Errorf("NormalizeMount(%+v) succeeded", in)
		}
	}
}

func TestNormalizeMountTakesARelativeDestinationFromTheContainerRootAsRunc(t *testing.T) {
	for _, tc := range []struct{ in, want specs.Mount }{
		{specs.Mount{Type: "tmpfs", Destination: "tmp"}, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "/tmp"}},
		{specs.Mount{Type: "bind", Source: "/var/lib/cache", Destination: "var/cache/./apk/", Options: []string{"rbind"}}, specs.Mount{Type: "bind", Source: "/var/lib/cache", Destination: "/var/cache/apk", Options: []string{"rbind"}}},
		{specs.Mount{Type: "tmpfs", Destination: "../../run/x"}, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "/run/x"}},
		{specs.Mount{Destination: "dev"}, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "/dev"}},
	} {
		got, err := NormalizeMount(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NormalizeMount(%+v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeCapabilityAcceptsAnyCaseWithOrWithoutPrefix(t *testing.T) {
	for _, in := range []string{"CAP_NET_ADMIN", "cap_net_admin", "net_admin", " NET_ADMIN "} {
		if got, err := NormalizeCapability(in); err != nil || got != "CAP_NET_ADMIN" {
			t.Errorf("NormalizeCapability(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"all", "none", "CAP_NOPE", ""} {
		if _, err := NormalizeCapability(in); err == nil {
			t.Errorf("NormalizeCapability(%q) succeeded", in)
		}
	}
	all := AllCapabilities()
	if len(all) != 41 || all[0] != "CAP_AUDIT_CONTROL" || all[40] != "CAP_WAKE_ALARM" {
		t.Errorf("AllCapabilities = %v", all)
	}
}

func TestParseModeAcceptsOctalPermissionsOnly(t *testing.T) {
	for in, want := range map[string]uint32{"0644": 0o644, "755": 0o755, "4755": 0o4755, "0": 0} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %o, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0999", "rw-r--r--", "0o644", "17777"} {
		if _, err := ParseMode(in); err == nil {
			t.Errorf("ParseMode(%q) succeeded", in)
		}
	}
}

func TestCheckNamespaceAcceptsHostNewPathsAndNoneForNetOnly(t *testing.T) {
	for _, v := range []string{"", "host", "root", "new", "/run/netns/x"} {
		if err := CheckNamespace("pid", v); err != nil {
			t.Errorf("CheckNamespace(pid, %q): %v", v, err)
		}
	}
	if err := CheckNamespace("net", "none"); err != nil {
		t.Errorf("CheckNamespace(net, none): %v", err)
	}
	for _, v := range []string{"none", "bridge", "run/x"} {
		if err := CheckNamespace("pid", v); err == nil {
			t.Errorf("CheckNamespace(pid, %q) succeeded", v)
		}
	}
}
