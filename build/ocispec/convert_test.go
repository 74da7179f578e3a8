package ocispec

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

// service parses a one-service configuration; its entry starts on line 2 of svc.yml.
func service(t *testing.T, entry string) (spec.Image, map[string]uint32) {
	t.Helper()
	cfg, err := spec.Parse(spec.Source{Name: "svc.yml", Data: []byte("services:\n  - name: svc\n    image: example/svc:1\n" + entry)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Services[0], cfg.IDs()
}

var shell = v1.ImageConfig{Cmd: []string{"/bin/sh"}}

func wantConvertError(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", wants)
	}
	var e *spec.Error
	if !errors.As(err, &e) {
		t.Errorf("error %v is %T, not *spec.Error", err, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestConvertRejectsHostnameWithoutUTSNamespace(t *testing.T) {
	img, ids := service(t, "    hostname: box\n")
	_, _, err := Convert(img, nil, shell, Options{Kind: Service, IDs: ids})
	wantConvertError(t, err, `svc.yml:2: services "svc": hostname "box" needs its own uts namespace (uts: new)`)
}

func TestConvertRejectsImageWithoutCommand(t *testing.T) {
	img, ids := service(t, "")
	_, _, err := Convert(img, nil, v1.ImageConfig{Env: []string{"A=1"}}, Options{Kind: Service, IDs: ids})
	wantConvertError(t, err, "svc.yml:2: ", "no command")
}

func TestConvertRejectsUnknownUserNameAtTheImage(t *testing.T) {
	img, ids := service(t, "    uid: nobody\n")
	_, _, err := Convert(img, nil, shell, Options{Kind: Service, IDs: ids})
	wantConvertError(t, err, `svc.yml:2: services "svc": uid: unknown id "nobody"`)
}

func TestConvertResolvesLabelUserNamesToContainerIDs(t *testing.T) {
	img, ids := service(t, "")
	label := &spec.ImageConfig{UID: &spec.ID{Name: "svc"}, GID: &spec.ID{Name: "root"}}
	s, _, err := Convert(img, label, shell, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 100 || s.Process.User.GID != 0 {
		t.Errorf("user = %+v, want uid 100 gid 0", s.Process.User)
	}
}

func TestConvertImageReportsABadLabelAtTheImage(t *testing.T) {
	img, ids := service(t, "")
	ic := shell
	ic.Labels = map[string]string{spec.LabelKey: `{"capabilities": ["CAP_NOPE"]}`}
	_, _, err := ConvertImage(img, ic, Options{Kind: Service, IDs: ids})
	wantConvertError(t, err, `svc.yml:2: services "svc": image "example/svc:1" label org.mobyproject.config: capabilities[0]: unknown capability "CAP_NOPE"`)
}

func TestConvertImageWithoutLabelUsesImageConfig(t *testing.T) {
	img, ids := service(t, "")
	s, _, err := ConvertImage(img, v1.ImageConfig{Entrypoint: []string{"/e"}, Cmd: []string{"c"}, Env: []string{"X=1"}, WorkingDir: "/w"}, Options{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Process; !reflect.DeepEqual(p.Args, []string{"/e", "c"}) || !reflect.DeepEqual(p.Env, []string{"X=1"}) || p.Cwd != "/w" {
		t.Errorf("process = %+v", p)
	}
}

func TestConvertBindsVolumesByNameAndRefusesUnknownOnes(t *testing.T) {
	cfg, err := spec.Parse(spec.Source{Name: "svc.yml", Data: []byte(`volumes: [{name: data}, {name: conf, readonly: true}]
services: [{name: svc, image: i:1, binds: ["data:/data", "conf:/etc/app"], mounts: [{type: bind, source: data, destination: /var/data}]}]
`)})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := Convert(cfg.Services[0], nil, shell, Options{Kind: Service, Volumes: cfg.Volumes})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]specs.Mount{
		"/data":     {Destination: "/data", Type: "bind", Source: "/containers/volumes/data", Options: []string{"rw", "rbind", "rshared"}},
		"/etc/app":  {Destination: "/etc/app", Type: "bind", Source: "/containers/volumes/conf", Options: []string{"ro", "rbind", "rshared"}},
		"/var/data": {Destination: "/var/data", Type: "bind", Source: "/containers/volumes/data"},
	}
	for _, m := range s.Mounts {
		if w, ok := want[m.Destination]; ok {
			if !reflect.DeepEqual(m, w) {
				t.Errorf("mount %+v, want %+v", m, w)
			}
			delete(want, m.Destination)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing mounts %v", want)
	}

	_, _, err = Convert(cfg.Services[0], nil, shell, Options{Kind: Service})
	wantConvertError(t, err, `svc.yml:2: `, `bind "data:/data": no volume named "data" in volumes`)
}

func TestConvertReportsInvalidLabelValuesGivenDirectly(t *testing.T) {
	img, ids := service(t, "")
	for _, tc := range []struct {
		label spec.ImageConfig
		want  string
	}{
		{spec.ImageConfig{Binds: &[]string{"/nowhere"}}, `invalid bind "/nowhere"`},
		{spec.ImageConfig{Tmpfs: &[]string{"tmp"}}, `invalid tmpfs "tmp"`},
		{spec.ImageConfig{Mounts: &[]specs.Mount{{Destination: "/x"}}}, `mount at "/x" has no type`},
		{spec.ImageConfig{Capabilities: &[]string{"CAP_NOPE"}}, `capabilities: unknown capability "CAP_NOPE"`},
		{spec.ImageConfig{Ambient: &[]string{"CAP_NOPE"}}, `ambient: unknown capability "CAP_NOPE"`},
		{spec.ImageConfig{Rlimits: &[]string{"nofile"}}, `invalid rlimit "nofile"`},
		{spec.ImageConfig{Net: ptr("bridge")}, `net: invalid net namespace "bridge"`},
		{spec.ImageConfig{Devices: &[]spec.Device{{Path: "/dev/x", Type: "c", Mode: "rw"}}}, `device /dev/x: invalid mode "rw"`},
		{spec.ImageConfig{AdditionalGids: &[]spec.ID{{Name: "ghost"}}}, `additionalGids: unknown id "ghost"`},
		{spec.ImageConfig{GID: &spec.ID{Name: "ghost"}}, `gid: unknown id "ghost"`},
	} {
		_, _, err := Convert(img, &tc.label, shell, Options{Kind: Service, IDs: ids})
		wantConvertError(t, err, "svc.yml:2: ", tc.want)
	}
}

func TestConvertAlwaysWritesCapabilitiesSoRuncDropsThem(t *testing.T) {
	img, ids := service(t, "")
	s, _, err := Convert(img, nil, shell, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"capabilities": {}`) {
		t.Errorf("config.json has no empty capabilities object:\n%s", data)
	}
}

func TestConvertTreatsNoneAsNoCapabilitiesAndAllAsEvery(t *testing.T) {
	img, ids := service(t, "    capabilities: [none]\n    capabilities.add: [net_admin]\n")
	s, _, err := Convert(img, &spec.ImageConfig{Capabilities: &[]string{"all"}}, shell, Options{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Process.Capabilities.Effective; !reflect.DeepEqual(got, []string{"CAP_NET_ADMIN"}) {
		t.Errorf("effective = %v, want [CAP_NET_ADMIN]", got)
	}
	img, _ = service(t, "")
	s, _, err = Convert(img, &spec.ImageConfig{Capabilities: &[]string{"ALL"}}, shell, Options{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Process.Capabilities.Bounding; !reflect.DeepEqual(got, spec.AllCapabilities()) {
		t.Errorf("bounding = %v, want all", got)
	}
}

func TestConvertRootfsDependsOnKindUnlessGiven(t *testing.T) {
	img, ids := service(t, "")
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Kind: Onboot}, "rootfs"},
		{Options{Kind: Onshutdown}, "rootfs"},
		{Options{Kind: Service}, "/containers/services/svc/rootfs"},
		{Options{Kind: Service, Rootfs: "/elsewhere"}, "/elsewhere"},
	} {
		tc.opts.IDs = ids
		s, _, err := Convert(img, nil, shell, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.Root.Path != tc.want {
			t.Errorf("%+v: root = %q, want %q", tc.opts, s.Root.Path, tc.want)
		}
	}
}

func TestConvertDoesNotChangeItsInputs(t *testing.T) {
	img, ids := service(t, `    devices: [{path: /dev/fuse, type: c, major: 10, minor: 229}]
    resources: {devices: [{allow: false, access: rwm}]}
    binds: ["/a:/a"]
    command: [/bin/x]
`)
	label := &spec.ImageConfig{BindsAdd: &[]string{"/b:/b"}, Capabilities: &[]string{"CAP_KILL"}}
	before, _ := json.Marshal(struct {
		I spec.Image
		L *spec.ImageConfig
	}{img, label})
	s, _, err := Convert(img, label, shell, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	s.Process.Args[0] = "changed"
	s.Linux.Resources.Devices[0].Access = "changed"
	after, _ := json.Marshal(struct {
		I spec.Image
		L *spec.ImageConfig
	}{img, label})
	if string(before) != string(after) {
		t.Errorf("inputs changed:\n%s\n%s", before, after)
	}
}

func TestConvertIsDeterministic(t *testing.T) {
	img, ids := service(t, `    binds: ["/z:/z", "/a:/a", "/m:/m"]
    tmpfs: [/t1, /t0]
    sysctl: {b: "2", a: "1", c: "3"}
    capabilities: [CAP_SYS_ADMIN, CAP_CHOWN, CAP_KILL]
`)
	var first []byte
	for i := range 20 {
		s, rt, err := Convert(img, nil, shell, Options{Kind: Service, IDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := Marshal(s)
		b, _ := Marshal(rt)
		out := append(a, b...)
		if i == 0 {
			first = out
		} else if string(out) != string(first) {
			t.Fatalf("run %d differs", i)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestDefaultMountsBelowARecursiveBindAreLeftToTheBind(t *testing.T) {
	img := spec.Image{Name: "getty", Image: "keel/getty:dev"}
	binds := []string{"/dev:/dev"}
	img.Binds = &binds
	s, _, err := Convert(img, nil, v1.ImageConfig{Entrypoint: []string{"/bin/sh"}}, Options{Kind: Service})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Mounts {
		switch m.Destination {
		case "/dev/pts", "/dev/shm", "/dev/mqueue":
			t.Errorf("default mount %s kept under the /dev rbind", m.Destination)
		case "/dev":
			if m.Type != "bind" {
				t.Errorf("/dev is %s, want the bind", m.Type)
			}
		}
	}
}

func TestConvertMountsRelativeDestinationsFromTheContainerRoot(t *testing.T) {
	s := convertService(t, `    mounts:
      - type: tmpfs
        source: tmpfs
        destination: tmp/scratch
      - type: tmpfs
        destination: run
        options: [nosuid, size=1m]
`, nil, Options{})
	found := map[string]specs.Mount{}
	for _, m := range s.Mounts {
		found[m.Destination] = m
	}
	if m, ok := found["/tmp/scratch"]; !ok || m.Type != "tmpfs" {
		t.Errorf("mounts = %+v, want tmpfs on /tmp/scratch", s.Mounts)
	}
	if m := found["/run"]; !reflect.DeepEqual(m.Options, []string{"nosuid", "size=1m"}) {
		t.Errorf("/run mount = %+v", m)
	}
	for _, m := range s.Mounts {
		if !strings.HasPrefix(m.Destination, "/") {
			t.Errorf("config.json mount destination %q is relative", m.Destination)
		}
	}
}

func TestConvertKeepsRuntimePathsAndInterfacesAsLinuxKitWritesThem(t *testing.T) {
	img, ids := service(t, `    net: new
    runtime:
      mounts:
        - type: tmpfs
          source: tmpfs
          destination: var/cache
      mkdir: [var/cache/apk, /var/lib/svc]
      interfaces:
        - name: eth1
          peer: veth-svc
        - name: wg0
          add: wireguard
          createInRoot: true
`)
	_, rt, err := Convert(img, nil, shell, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Mounts) != 1 || rt.Mounts[0].Destination != "var/cache" {
		t.Errorf("runtime mounts = %+v, want the relative destination kept for PID 1 to resolve in the rootfs", rt.Mounts)
	}
	if !reflect.DeepEqual(rt.Mkdir, []string{"var/cache/apk", "/var/lib/svc"}) {
		t.Errorf("runtime mkdir = %q", rt.Mkdir)
	}
	want := []bundle.Interface{{Name: "eth1", Peer: "veth-svc"}, {Name: "wg0", Add: "wireguard", CreateInRoot: true}}
	if !reflect.DeepEqual(rt.Interfaces, want) {
		t.Errorf("runtime interfaces = %+v, want %+v", rt.Interfaces, want)
	}
}

func TestConvertBindsTheHostResolvConfIntoHostNetworkContainersOnly(t *testing.T) {
	for _, c := range []struct {
		name, entry string
		want        *specs.Mount
	}{
		{"host network", "", &specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: bundle.ResolvConf, Options: []string{"ro", "rbind"}}},
		{"own network", "    net: new\n", nil},
		{"joined network", "    net: /run/netns/x\n", nil},
		{"own resolv.conf", "    binds: [/etc/myresolv:/etc/resolv.conf:ro]\n", &specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/etc/myresolv", Options: []string{"ro", "rbind"}}},
		{"tmpfs /etc", "    tmpfs: [/etc]\n", nil},
	} {
		img, ids := service(t, c.entry)
		var report Report
		s, _, err := Convert(img, nil, shell, Options{Kind: Service, IDs: ids, Strict: true, Report: func(r Report) { report = r }})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got *specs.Mount
		for _, m := range s.Mounts {
			if m.Destination == "/etc/resolv.conf" {
				got = &m
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: /etc/resolv.conf mount %+v, want %+v", c.name, got, c.want)
		}
		for _, p := range report.Privileges {
			if strings.Contains(p.Value, bundle.ResolvConf) {
				t.Errorf("%s: the resolver bind is reported as a privilege: %+v", c.name, p)
			}
		}
	}
}
