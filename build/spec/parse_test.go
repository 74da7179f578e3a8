package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"gopkg.in/yaml.v3"

	"github.com/keel-os/keel/bundle"
)

// linuxkitExample is in the style of LinuxKit's examples, using every section.
const linuxkitExample = `
kernel:
  image: linuxkit/kernel:6.6.13
  cmdline: "console=tty0 console=ttyS0"
  tar: none
  ucode: intel-ucode.cpio
init:
  - linuxkit/init:v1.0.0
  - linuxkit/runc:v1.0.0
  - linuxkit/containerd:v1.0.0
onboot:
  - name: sysctl
    image: linuxkit/sysctl:v1.0.0
  - name: dhcpcd
    image: linuxkit/dhcpcd:v1.0.0
    command: ["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"]
onshutdown:
  - name: shutdown
    image: busybox:latest
    command: ["/bin/echo", "so long and thanks for all the fish"]
services:
  - name: getty
    image: linuxkit/getty:v1.0.0
    env:
     - INSECURE=true
  - name: rngd
    image: linuxkit/rngd:v1.0.0
  - name: nginx
    image: nginx:1.25-alpine
    capabilities:
     - CAP_NET_BIND_SERVICE
     - CAP_CHOWN
     - CAP_SETUID
     - CAP_SETGID
     - CAP_DAC_OVERRIDE
    binds:
     - /etc/resolv.conf:/etc/resolv.conf
files:
  - path: etc/linuxkit-config
    metadata: yaml
  - path: etc/motd
    contents: "welcome\n"
    mode: "0644"
  - path: root/.ssh
    directory: true
    mode: "0700"
  - path: root/.ssh/authorized_keys
    source: ~/.ssh/id_ed25519.pub
    optional: true
    mode: "0600"
  - path: usr/bin/vi
    symlink: busybox
volumes:
  - name: data
  - name: alpine
    image: alpine:3.19
    format: oci
    platforms: [linux/amd64, linux/arm64]
    readonly: true
trust:
  org:
    - linuxkit
`

func TestParseAcceptsLinuxKitExample(t *testing.T) {
	cfg := mustParse(t, linuxkitExample)
	if got, want := cfg.Kernel, (Kernel{
		Image: "linuxkit/kernel:6.6.13", Cmdline: "console=tty0 console=ttyS0",
		Tar: ptr("none"), UCode: ptr("intel-ucode.cpio"), Pos: Pos{"test.yml", 2},
	}); !reflect.DeepEqual(got, want) {
		t.Errorf("kernel = %+v, want %+v", got, want)
	}
	var inits []string
	for _, r := range cfg.Init {
		inits = append(inits, r.Image)
	}
	if want := []string{"linuxkit/init:v1.0.0", "linuxkit/runc:v1.0.0", "linuxkit/containerd:v1.0.0"}; !reflect.DeepEqual(inits, want) {
		t.Errorf("init = %v, want %v", inits, want)
	}
	if len(cfg.Onboot) != 2 || len(cfg.Onshutdown) != 1 || len(cfg.Services) != 3 || len(cfg.Files) != 5 || len(cfg.Volumes) != 2 {
		t.Fatalf("section sizes = %d %d %d %d %d", len(cfg.Onboot), len(cfg.Onshutdown), len(cfg.Services), len(cfg.Files), len(cfg.Volumes))
	}
	nginx := cfg.Services[2]
	if nginx.Name != "nginx" || nginx.Image != "nginx:1.25-alpine" || len(*nginx.Capabilities) != 5 || (*nginx.Binds)[0] != "/etc/resolv.conf:/etc/resolv.conf" {
		t.Errorf("nginx = %+v", nginx)
	}
	if got := *cfg.Files[1].Contents; got != "welcome\n" {
		t.Errorf("motd contents = %q", got)
	}
	if v := cfg.Volumes[1]; !v.ReadOnly || v.Format != "oci" || len(v.Platforms) != 2 {
		t.Errorf("volume = %+v", v)
	}
	if cfg.Trust == nil || cfg.Trust.Org[0] != "linuxkit" {
		t.Errorf("trust = %+v", cfg.Trust)
	}
}

func TestParseRecordsWhereEachEntryIs(t *testing.T) {
	cfg := mustParse(t, linuxkitExample)
	for _, tc := range []struct {
		what string
		got  Pos
		line int
	}{
		{"kernel", cfg.Kernel.Pos, 2},
		{"init[1]", cfg.Init[1].Pos, 8},
		{"onboot[1]", cfg.Onboot[1].Pos, 13},
		{"onshutdown[0]", cfg.Onshutdown[0].Pos, 17},
		{"services[2]", cfg.Services[2].Pos, 27},
		{"files[1]", cfg.Files[1].Pos, 40},
		{"volumes[1]", cfg.Volumes[1].Pos, 54},
	} {
		if want := (Pos{File: "test.yml", Line: tc.line}); tc.got != want {
			t.Errorf("%s at %v, want %v", tc.what, tc.got, want)
		}
	}
}

func TestParseDistinguishesUnsetFromEmpty(t *testing.T) {
	cfg := mustParse(t, `
services:
  - name: unset
    image: a:1
  - name: empty
    image: a:1
    binds: []
    capabilities: []
    env: []
    sysctl: {}
    hostname: ""
`)
	unset, empty := cfg.Services[0], cfg.Services[1]
	if unset.Binds != nil || unset.Capabilities != nil || unset.Env != nil || unset.Sysctl != nil || unset.Hostname != nil {
		t.Errorf("unset entry has values: %+v", unset.ImageConfig)
	}
	if empty.Binds == nil || len(*empty.Binds) != 0 || empty.Capabilities == nil || empty.Env == nil ||
		empty.Sysctl == nil || len(*empty.Sysctl) != 0 || empty.Hostname == nil || *empty.Hostname != "" {
		t.Errorf("empty entry lost its empty values: %+v", empty.ImageConfig)
	}
}

func TestParseDecodesEveryImageField(t *testing.T) {
	cfg := mustParse(t, `
services:
  - name: all
    image: example/all:1
    capabilities: [CAP_NET_ADMIN]
    capabilities.add: [sys_time]
    ambient: [CAP_NET_RAW]
    mounts:
      - {type: proc, destination: /proc, options: [nosuid]}
    binds: [/var:/var]
    binds.add: ["/run:/run:ro"]
    devices:
      - {path: /dev/console, type: c, major: 5, minor: 1, mode: "0620"}
    tmpfs: ["/tmp:size=1m"]
    command: [/bin/all, -v]
    env: [A=1]
    cwd: /srv
    net: new
    pid: host
    ipc: /run/ipcns
    uts: new
    userns: new
    hostname: allhost
    readonly: true
    maskedPaths: [/proc/kcore]
    readonlyPaths: [/proc/sys]
    uid: 1000
    gid: getty
    additionalGids: [10, "20", wheel]
    noNewPrivileges: true
    oomScoreAdj: -500
    rootfsPropagation: rshared
    cgroupsPath: /all
    resources:
      memory: {limit: 1048576, disableOOMKiller: true}
      cpu: {shares: 512, cpus: "0-1"}
      pids: {limit: 100}
      blockio: {weight: 10}
      devices: [{allow: true, type: c, major: 1, minor: 3, access: rwm}]
    sysctl: {net.ipv4.ip_forward: "1"}
    rlimits: ["nofile,1024,2048", "core:unlimited:unlimited"]
    uidMappings: [{containerID: 0, hostID: 100000, size: 65536}]
    gidMappings: [{containerID: 0, hostID: 100000, size: 65536}]
    annotations: {org.example/x: "y"}
    runtime:
      cgroups: [podruntime]
      mounts: [{type: bind, source: /a, destination: /b, options: [rbind]}]
      mkdir: [/var/lib/all]
      interfaces: [{name: eth1, add: veth, peer: veth-all}]
      bindNS: {net: /run/netns/all}
      namespace: all.ns
`)
	ic := cfg.Services[0].ImageConfig
	memLimit, shares, pids, weight := int64(1048576), uint64(512), int64(100), uint16(10)
	major, minor := int64(1), int64(3)
	want := ImageConfig{
		Capabilities:      &[]string{"CAP_NET_ADMIN"},
		CapabilitiesAdd:   &[]string{"sys_time"},
		Ambient:           &[]string{"CAP_NET_RAW"},
		Mounts:            &[]specs.Mount{{Type: "proc", Destination: "/proc", Options: []string{"nosuid"}}},
		Binds:             &[]string{"/var:/var"},
		BindsAdd:          &[]string{"/run:/run:ro"},
		Devices:           &[]Device{{Path: "/dev/console", Type: "c", Major: 5, Minor: 1, Mode: "0620"}},
		Tmpfs:             &[]string{"/tmp:size=1m"},
		Command:           &[]string{"/bin/all", "-v"},
		Env:               &[]string{"A=1"},
		Cwd:               ptr("/srv"),
		Net:               ptr("new"),
		Pid:               ptr("host"),
		Ipc:               ptr("/run/ipcns"),
		Uts:               ptr("new"),
		Userns:            ptr("new"),
		Hostname:          ptr("allhost"),
		Readonly:          ptr(true),
		MaskedPaths:       &[]string{"/proc/kcore"},
		ReadonlyPaths:     &[]string{"/proc/sys"},
		UID:               &ID{Num: 1000},
		GID:               &ID{Name: "getty"},
		AdditionalGids:    &[]ID{{Num: 10}, {Num: 20}, {Name: "wheel"}},
		NoNewPrivileges:   ptr(true),
		OOMScoreAdj:       ptr(-500),
		RootfsPropagation: ptr("rshared"),
		CgroupsPath:       ptr("/all"),
		Resources: &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: &memLimit, DisableOOMKiller: ptr(true)},
			CPU:     &specs.LinuxCPU{Shares: &shares, Cpus: "0-1"},
			Pids:    &specs.LinuxPids{Limit: &pids},
			BlockIO: &specs.LinuxBlockIO{Weight: &weight},
			Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"}},
		},
		Sysctl:      &map[string]string{"net.ipv4.ip_forward": "1"},
		Rlimits:     &[]string{"nofile,1024,2048", "core:unlimited:unlimited"},
		UIDMappings: &[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GIDMappings: &[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		Annotations: &map[string]string{"org.example/x": "y"},
		Runtime: &Runtime{
			Cgroups:    &[]string{"podruntime"},
			Mounts:     &[]specs.Mount{{Type: "bind", Source: "/a", Destination: "/b", Options: []string{"rbind"}}},
			Mkdir:      &[]string{"/var/lib/all"},
			Interfaces: &[]bundle.Interface{{Name: "eth1", Add: "veth", Peer: "veth-all"}},
			BindNS:     &Namespaces{Net: ptr("/run/netns/all")},
			Namespace:  ptr("all.ns"),
		},
	}
	if !reflect.DeepEqual(ic, want) {
		got, _ := yaml.Marshal(ic)
		exp, _ := yaml.Marshal(want)
		t.Errorf("decoded\n%s\nwant\n%s", got, exp)
	}
}

func TestParseAcceptsRelativeMountDestinationsAsLinuxKit(t *testing.T) {
	cfg := mustParse(t, `
onboot:
  - name: format
    image: linuxkit/format:v1
    mounts:
      - type: tmpfs
        source: tmpfs
        destination: tmp/scratch
    runtime:
      mounts:
        - type: bind
          source: /var/lib/cache
          destination: var/cache
      mkdir:
        - var/cache/apk
        - /var/lib/cache
`)
	rt := cfg.Onboot[0].Runtime
	if got := (*rt.Mounts)[0].Destination; got != "var/cache" {
		t.Errorf("runtime.mounts[0].destination = %q, want it kept relative (to the container's rootfs)", got)
	}
	if got := *rt.Mkdir; !reflect.DeepEqual(got, []string{"var/cache/apk", "/var/lib/cache"}) {
		t.Errorf("runtime.mkdir = %q", got)
	}
	if got := (*cfg.Onboot[0].Mounts)[0].Destination; got != "tmp/scratch" {
		t.Errorf("mounts[0].destination = %q, want it as written (made absolute when converted)", got)
	}
}

func TestParseMatchesOCIKeysIgnoringCase(t *testing.T) {
	// LinuxKit (yaml.v3 without tags) spells it "blockio"; OCI JSON spells it "blockIO".
	cfg := mustParse(t, `
services:
  - name: a
    image: a:1
    resources: {blockio: {weight: 10}, hugepageLimits: [{pageSize: 2MB, limit: 1}]}
  - name: b
    image: b:1
    resources: {blockIO: {weight: 20}, hugepagelimits: [{pagesize: 2MB, limit: 2}]}
`)
	for i, want := range []uint16{10, 20} {
		r := cfg.Services[i].Resources
		if *r.BlockIO.Weight != want || r.HugepageLimits[0].Pagesize != "2MB" || r.HugepageLimits[0].Limit != uint64(i+1) {
			t.Errorf("services[%d].resources = %+v", i, r)
		}
	}
}

func TestParseTakesTheTextOfScalarsForStrings(t *testing.T) {
	// An unquoted mode is an integer to YAML; what the author meant is its text.
	cfg := mustParse(t, `
files:
  - path: etc/x
    contents: x
    mode: 0644
services:
  - name: a
    image: a:1
    devices: [{path: /dev/null, type: c, major: 1, minor: 3, mode: 0666}]
    sysctl: {vm.swappiness: 10}
`)
	if got := cfg.Files[0].Mode; got != "0644" {
		t.Errorf("mode = %q, want 0644", got)
	}
	if got := (*cfg.Services[0].Devices)[0].Mode; got != "0666" {
		t.Errorf("device mode = %q, want 0666", got)
	}
	if got := (*cfg.Services[0].Sysctl)["vm.swappiness"]; got != "10" {
		t.Errorf("sysctl = %q, want 10", got)
	}
}

func TestParseAcceptsIDsAsNumbersNamesOrNumericStrings(t *testing.T) {
	cfg := mustParse(t, `
services:
  - name: a
    image: a:1
    uid: 0
    gid: "42"
    additionalGids: [root, a]
files:
  - path: x
    contents: ""
    uid: a
    gid: 7
`)
	s, f := cfg.Services[0], cfg.Files[0]
	if *s.UID != NumericID(0) || *s.GID != NumericID(42) || (*s.AdditionalGids)[0] != NamedID("root") ||
		*f.UID != NamedID("a") || *f.GID != NumericID(7) {
		t.Errorf("ids: uid %v gid %v additional %v file %v %v", s.UID, s.GID, s.AdditionalGids, f.UID, f.GID)
	}
	ids := cfg.IDs()
	for _, tc := range []struct {
		id   ID
		want uint32
	}{{*s.GID, 42}, {NamedID("root"), 0}, {*f.UID, 100}} {
		if got, err := tc.id.Resolve(ids); err != nil || got != tc.want {
			t.Errorf("%v.Resolve = %d, %v; want %d", tc.id, got, err, tc.want)
		}
	}
	if _, err := NamedID("nobody").Resolve(ids); err == nil || !strings.Contains(err.Error(), `unknown id "nobody"`) {
		t.Errorf("Resolve(nobody) error = %v", err)
	}
}

func TestConfigIDsAllocatesFrom100InSectionOrder(t *testing.T) {
	cfg := mustParse(t, `
services:
  - {name: s1, image: a:1}
  - {name: s2, image: a:1}
onshutdown:
  - {name: d1, image: a:1}
onboot:
  - {name: b1, image: a:1}
  - {name: b2, image: a:1}
`)
	want := map[string]uint32{"b1": 100, "b2": 101, "d1": 102, "s1": 103, "s2": 104}
	if got := cfg.IDs(); !reflect.DeepEqual(got, want) {
		t.Errorf("IDs = %v, want %v", got, want)
	}
}

func TestParseFollowsAnchorsAndAliases(t *testing.T) {
	cfg := mustParse(t, `
services:
  - name: a
    image: a:1
    binds: &common ["/var:/var"]
  - name: b
    image: b:1
    binds: *common
`)
	if got := *cfg.Services[1].Binds; len(got) != 1 || got[0] != "/var:/var" {
		t.Errorf("aliased binds = %v", got)
	}
}

func TestParseOfEmptyFileIsEmptyConfig(t *testing.T) {
	for _, src := range []string{"", "# nothing here\n", "---\n"} {
		cfg, err := Parse(Source{Name: "empty.yml", Data: []byte(src)})
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if !reflect.DeepEqual(cfg, &Config{}) {
			t.Errorf("Parse(%q) = %+v, want empty", src, cfg)
		}
	}
}

func TestMarshalYAMLParsesBackToTheSameConfig(t *testing.T) {
	cfg := mustParse(t, linuxkitExample)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(Source{Name: "again.yml", Data: out})
	if err != nil {
		t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
	}
	clearPositions(cfg)
	clearPositions(again)
	if !reflect.DeepEqual(cfg, again) {
		t.Errorf("round trip changed the configuration; YAML was\n%s", out)
	}
	for _, unwanted := range []string{"null", "{}", "Pos"} {
		if strings.Contains(string(out), unwanted) {
			t.Errorf("YAML contains %q:\n%s", unwanted, out)
		}
	}
}

func clearPositions(c *Config) {
	c.Kernel.Pos = Pos{}
	for i := range c.Init {
		c.Init[i].Pos = Pos{}
	}
	for _, sec := range [][]Image{c.Onboot, c.Onshutdown, c.Services} {
		for i := range sec {
			sec[i].Pos = Pos{}
			sec[i].KeyPos = nil
		}
	}
	for i := range c.Files {
		c.Files[i].Pos = Pos{}
	}
	for i := range c.Volumes {
		c.Volumes[i].Pos = Pos{}
	}
}

func TestDecodeStrictFillsPositionsAndReportsEveryProblemInLineOrder(t *testing.T) {
	type item struct {
		Name string `yaml:"name"`
		Pos  Pos
	}
	type doc struct {
		Items  []item         `yaml:"items"`
		Extra  map[string]any `yaml:"extra"`
		KeyPos map[string]Pos
	}
	var d doc
	err := DecodeStrict("d.yml", []byte("items:\n  - name: a\nextra:\n  x: [1, {y: z}]\n"), &d)
	if err != nil {
		t.Fatal(err)
	}
	if d.Items[0].Pos != (Pos{"d.yml", 2}) || d.KeyPos["extra"] != (Pos{"d.yml", 3}) {
		t.Errorf("positions: item %v, extra %v", d.Items[0].Pos, d.KeyPos["extra"])
	}
	if want := map[string]any{"x": []any{1, map[string]any{"y": "z"}}}; !reflect.DeepEqual(d.Extra, want) {
		t.Errorf("extra = %#v, want %#v", d.Extra, want)
	}

	err = DecodeStrict("d.yml", []byte("extra:\n  x: 1\n  x: 2\nitems: {}\nnope: 1\n"), &doc{})
	want := `d.yml:3: extra: key "x" is set twice (first at line 2)
d.yml:4: items: expected a list, got a mapping
d.yml:5: unknown key "nope"`
	var list ErrorList
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.As(err, &list) || len(list) != 3 {
		t.Errorf("err = %v, want an ErrorList starting with\n%s", err, want)
	}
}
