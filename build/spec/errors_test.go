package spec

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseRejectsUnknownKeyWithFileAndLine(t *testing.T) {
	_, err := parse(t, "file.yml", `
services:
  - name: getty
    image: linuxkit/getty:v1
    comand: ["/bin/sh"]
`)
	wantError(t, err, "file.yml:4: ", `services[0] "getty"`, `unknown key "comand"`, `did you mean "command"?`)
}

func TestParseRejectsUnknownTopLevelAndKernelKeys(t *testing.T) {
	_, err := parse(t, "file.yml", `
kernel:
  image: linuxkit/kernel:6.6
  cmdlne: console=ttyS0
servics: []
`)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`file.yml:3: kernel: unknown key "cmdlne" (did you mean "cmdline"?)`,
		`file.yml:4: unknown key "servics" (did you mean "services"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestParseRejectsWrongTypeWithFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		wants      []string
	}{
		{"string for bool", `readonly: "yes please"`, []string{"readonly: expected a boolean (true or false), got string \"yes please\""}},
		{"yaml 1.1 yes is a string", `readonly: yes`, []string{"readonly: expected a boolean", `got string "yes"`}},
		{"number for list", `capabilities: 3`, []string{"capabilities: expected a list, got integer 3"}},
		{"mapping for list", `binds: {a: b}`, []string{"binds: expected a list, got a mapping"}},
		{"string for integer", `oomScoreAdj: "5"`, []string{"oomScoreAdj: expected an integer, got string \"5\""}},
		{"list for string", `net: [host]`, []string{"net: expected a string, got a list"}},
		{"mapping in sysctl", `sysctl: {net: {ipv4: 1}}`, []string{"sysctl.net: expected a string, got a mapping"}},
		{"nested OCI field", `resources: {memory: {limit: lots}}`, []string{"resources.memory.limit: expected an integer, got string \"lots\""}},
		{"list element", `command: [ls, [a]]`, []string{"command[1]: expected a string, got a list"}},
		{"bool for uid", `uid: true`, []string{"uid: expected a number or a name, got boolean true"}},
		{"null for a setting", `binds:`, []string{"binds: expected a list, got null", "write [] for an empty list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "file.yml", `
services:
  - name: svc
    image: img:1
    `+tc.line+`
`)
			wantError(t, err, append([]string{"file.yml:4: ", `services[0] "svc": `}, tc.wants...)...)
		})
	}
}

func TestParseRejectsDuplicateServiceNameAndPointsAtFirst(t *testing.T) {
	_, err := parse(t, "file.yml", `
services:
  - name: getty
    image: linuxkit/getty:v1
  - name: sshd
    image: linuxkit/sshd:v1
  - name: getty
    image: linuxkit/getty:v2
`)
	wantError(t, err, "file.yml:6: ", `services[2] "getty"`, `duplicate name "getty" in services`, "first used at file.yml:2")
}

func TestParseAcceptsRepeatedOnbootAndOnshutdownNamesAsLinuxKit(t *testing.T) {
	for _, section := range []string{"onboot", "onshutdown"} {
		t.Run(section, func(t *testing.T) {
			cfg, err := parse(t, "file.yml", `
`+section+`:
  - name: sysctl
    image: linuxkit/sysctl:v1
  - name: dhcpcd
    image: linuxkit/dhcpcd:v1
    command: ["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"]
  - name: sysctl
    image: linuxkit/sysctl:v2
`)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			imgs := cfg.Onboot
			if section == "onshutdown" {
				imgs = cfg.Onshutdown
			}
			if len(imgs) != 3 || imgs[0].Name != "sysctl" || imgs[2].Name != "sysctl" || imgs[2].Image != "linuxkit/sysctl:v2" {
				t.Errorf("%s = %+v, want both sysctl entries in order", section, imgs)
			}
		})
	}
}

func TestParseRejectsMissingImageWithFileAndLine(t *testing.T) {
	_, err := parse(t, "file.yml", `
onboot:
  - name: dhcpcd
    image: linuxkit/dhcpcd:v1
  - name: sysctl
    readonly: true
`)
	wantError(t, err, "file.yml:4: ", `onboot[1] "sysctl"`, `missing required key "image"`)
}

func TestParseRejectsMissingName(t *testing.T) {
	_, err := parse(t, "file.yml", `
services:
  - image: linuxkit/getty:v1
`)
	wantError(t, err, "file.yml:2: ", "services[0]", `missing required key "name"`)
}

func TestParseRejectsEmptyImage(t *testing.T) {
	_, err := parse(t, "file.yml", `
services:
  - name: getty
    image:
`)
	wantError(t, err, "file.yml:3: ", `services[0] "getty": image: required key has no value`)
}

func TestParseRejectsKeySetTwice(t *testing.T) {
	_, err := parse(t, "file.yml", `
services:
  - name: getty
    image: linuxkit/getty:v1
    readonly: true
    readonly: false
`)
	wantError(t, err, "file.yml:5: ", `key "readonly" is set twice (first at line 4)`)
}

// Each case is a line 4 of a service entry that has a well-typed but invalid value.
func TestParseRejectsInvalidValuesWithFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"rlimit value", `rlimits: ["nofile:abc"]`, `rlimits[0]: invalid rlimit "nofile:abc"`},
		{"rlimit name", `rlimits: ["files,1,2"]`, `unknown limit "files"`},
		{"rlimit soft above hard", `rlimits: ["nofile,4096,1024"]`, "soft limit is above hard limit"},
		{"rlimit shape", `rlimits: ["nofile"]`, `expected "name,soft,hard"`},
		{"net value", `net: bridge`, `net: invalid net namespace "bridge": expected "host", "new", "none" or the absolute path`},
		{"pid none", `pid: none`, `pid: invalid namespace "none"`},
		{"relative namespace path", `ipc: run/ipc`, `ipc: invalid namespace "run/ipc"`},
		{"bind without destination", `binds: ["/var"]`, `binds[0]: invalid bind "/var": expected "source:destination[:options]"`},
		{"bind relative destination", `binds: ["/var:var"]`, "destination must be an absolute path"},
		{"bind bad source", `binds.add: ["Not A Volume:/x"]`, "source must be an absolute path or a volume name"},
		{"bind too many colons", `binds: ["/a:/b:ro:x"]`, "too many ':'"},
		{"bind empty option", `binds: ["/a:/b:ro,"]`, "empty mount option"},
		{"tmpfs relative", `tmpfs: ["tmp:size=1m"]`, `tmpfs[0]: invalid tmpfs "tmp:size=1m"`},
		{"capability", `capabilities: [CAP_SYS_ADMIN, CAP_NOPE]`, `capabilities[1]: unknown capability "CAP_NOPE"`},
		{"ambient capability", `ambient: [wizardry]`, `ambient[0]: unknown capability "wizardry"`},
		{"oom score", `oomScoreAdj: 5000`, "oomScoreAdj 5000 is not between -1000 and 1000"},
		{"propagation", `rootfsPropagation: sideways`, `invalid rootfsPropagation "sideways"`},
		{"env", `env: ["FOO"]`, `env[0]: invalid environment entry "FOO": expected NAME=value`},
		{"cwd", `cwd: srv`, `cwd: "srv" is not an absolute path`},
		{"masked path", `maskedPaths: [proc/kcore]`, `maskedPaths[0]: "proc/kcore" is not an absolute path`},
		{"negative uid", `uid: -1`, "uid: invalid uid/gid -1"},
		{"bad gid name", `gid: "no such"`, `gid: invalid uid/gid "no such"`},
		{"mount without type", `mounts: [{destination: /data}]`, `mounts[0]: mount at "/data" has no type`},
		{"mount without destination", `mounts: [{type: tmpfs}]`, "tmpfs mount has no destination"},
		{"mount unknown key", `mounts: [{type: proc, dest: /proc}]`, `mounts[0]: unknown key "dest"`},
		{"device type", `devices: [{path: /dev/console, type: x, major: 5, minor: 1, mode: "0666"}]`, `devices[0] "/dev/console": type: invalid device type "x"`},
		{"device mode", `devices: [{path: /dev/console, type: c, major: 5, minor: 1, mode: "rw"}]`, `mode: invalid mode "rw"`},
		{"device all type", `devices: [{path: all, type: u}]`, `invalid type "u" for path "all"`},
		{"device missing type", `devices: [{path: /dev/null}]`, `missing required key "type"`},
		{"runtime bindNS", `runtime: {bindNS: {net: run/netns/x}}`, `runtime.bindNS.net: "run/netns/x" is not an absolute path`},
		{"runtime interface", `runtime: {interfaces: [{add: veth}]}`, "runtime.interfaces[0]: interface has no name"},
		{"runtime interface peer", `runtime: {interfaces: [{name: wg0, add: wireguard, peer: x}]}`, "peer is only for veth"},
		{"runtime mkdir", `runtime: {mkdir: [""]}`, `runtime.mkdir[0]: empty path`},
		{"runtime mount", `runtime: {mounts: [{type: tmpfs, source: tmpfs}]}`, `runtime.mounts[0]: runtime mount of "tmpfs" has no destination`},
		{"runtime unknown", `runtime: {noRestart: true}`, `runtime: unknown key "noRestart"`},
		{"resources unknown", `resources: {memory: {limits: 1}}`, `resources.memory: unknown key "limits" (did you mean "limit"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "file.yml", `
services:
  - name: svc
    image: img:1
    `+tc.line+`
`)
			wantError(t, err, "file.yml:4: ", `services[0] "svc": `, tc.want)
		})
	}
}

func TestParseRejectsInvalidImageNames(t *testing.T) {
	for _, name := range []string{`"my service"`, `"-x"`, `"a/b"`, `"."`} {
		_, err := parse(t, "file.yml", `
services:
  - name: `+name+`
    image: img:1
`)
		wantError(t, err, "file.yml:2: ", "name: invalid name")
	}
}

func TestParseRejectsInvalidFiles(t *testing.T) {
	for _, tc := range []struct {
		name, entry string
		line        int
		want        string
	}{
		{"bad mode", "- path: etc/x\n  contents: x\n  mode: \"0999\"", 3, `files[0] "etc/x": mode: invalid mode "0999"`},
		{"contents and source", "- path: etc/x\n  contents: x\n  source: /etc/hosts", 3, "contents and source cannot both be set"},
		{"no content", "- path: etc/x\n  mode: \"0644\"", 1, "file has no content"},
		{"directory with contents", "- path: etc\n  directory: true\n  contents: x", 3, "a directory cannot have contents"},
		{"bad metadata", "- path: etc/x\n  metadata: xml", 2, `invalid metadata "xml"`},
		{"missing path", "- contents: x", 1, `missing required key "path"`},
		{"string uid", "- path: etc/x\n  contents: x\n  uid: [0]", 3, "uid: expected a number or a name, got a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "file.yml", "files:\n"+indent(tc.entry)+"\n")
			wantError(t, err, "file.yml:"+strconv.Itoa(tc.line+1)+": ", tc.want)
		})
	}
}

func TestParseRejectsInvalidVolumes(t *testing.T) {
	for _, tc := range []struct {
		name, yml string
		want      []string
	}{
		{"bad name", "volumes:\n  - name: My_Vol\n", []string{"file.yml:2: ", `invalid volume name "My_Vol"`}},
		{"duplicate", "volumes:\n  - name: v\n  - name: v\n", []string{"file.yml:3: ", `duplicate volume name "v" (first used at file.yml:2)`}},
		{"format without image", "volumes:\n  - name: v\n    format: oci\n", []string{"file.yml:3: ", "format is only for volumes with an image"}},
		{"bad format", "volumes:\n  - name: v\n    image: alpine:3\n    format: qcow2\n", []string{"file.yml:4: ", `invalid volume format "qcow2"`}},
		{"bad platform", "volumes:\n  - name: v\n    image: alpine:3\n    platforms: [arm64]\n", []string{"file.yml:4: ", `invalid platform "arm64"`}},
		{"bind to missing volume", "services:\n  - name: s\n    image: i:1\n    binds: [data:/data]\n", []string{"file.yml:2: ", `services[0] "s": binds[0]: bind "data:/data": no volume named "data"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(Source{Name: "file.yml", Data: []byte(tc.yml)})
			wantError(t, err, tc.want...)
		})
	}
}

func TestParseRejectsInvalidInitEntries(t *testing.T) {
	_, err := parse(t, "file.yml", `
init:
  - linuxkit/init:v1
  - {image: linuxkit/runc:v1}
`)
	wantError(t, err, "file.yml:3: ", "init[1]: expected an image reference, got a mapping")
}

func TestParseReportsEveryErrorInLineOrder(t *testing.T) {
	_, err := parse(t, "file.yml", `
onboot:
  - name: a
    image: a:1
    net: bridge
services:
  - name: b
    readonly: maybe
  - name: c
    image: c:1
    comand: [x]
`)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v is not an ErrorList", err)
	}
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Pos.Line)
	}
	if want := []int{4, 6, 7, 10}; !slices.Equal(lines, want) {
		t.Errorf("error lines = %v, want %v:\n%v", lines, want, err)
	}
}

func TestParseReportsYAMLSyntaxErrorWithFileAndLine(t *testing.T) {
	_, err := parse(t, "file.yml", `
services:
  - name: a
    image a:1
    net: host
`)
	wantError(t, err, "file.yml:3: invalid YAML: could not find expected ':'")
}

// yaml.v3 numbers the lines of parser errors from 0; the error names the line of the
// mapping or list that could not be parsed, or of the problem itself.
func TestParseReportsYAMLParserErrorAtTheBlockOrProblemLine(t *testing.T) {
	for _, tc := range []struct {
		name, yml, want string
	}{
		{"comment inside a block scalar ends it", `
files:
  - path: a
    contents: x
  - path: b
    contents: |
# not in the scalar
      y
`, "file.yml:4: invalid YAML: did not find expected key"},
		{"key under-indented in the top mapping", `
kernel:
  image: a:1
 cmdline: x
`, "file.yml:3: invalid YAML: did not find expected key"},
		{"unclosed flow list", `
services:
  - name: a
    image: a:1
    command: [
      sh
`, "file.yml:4: invalid YAML: did not find expected ',' or ']'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "file.yml", tc.yml)
			wantError(t, err, tc.want)
		})
	}
}

func TestParseRejectsSeveralDocumentsInOneFile(t *testing.T) {
	_, err := parse(t, "file.yml", `
init: [a:1]
---
init: [b:1]
`)
	wantError(t, err, "file.yml:2: only one YAML document")
}

func TestParseErrorsUnwrapToError(t *testing.T) {
	_, err := parse(t, "file.yml", "services: 3\n")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) failed", err)
	}
	if e.Pos != (Pos{File: "file.yml", Line: 1}) || e.Field != "services" {
		t.Errorf("error = %+v, want at file.yml:1 on services", e)
	}
}

func TestPosErrorfNamesFileAndLine(t *testing.T) {
	cfg := mustParse(t, `
services:
  - name: getty
    image: foo:1
`)
	err := cfg.Services[0].Pos.Errorf("image %q not found", cfg.Services[0].Image)
	if got, want := err.Error(), `test.yml:2: image "foo:1" not found`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if got := (Pos{}).Errorf("x").Error(); got != "x" {
		t.Errorf("zero Pos error = %q, want %q", got, "x")
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func TestParseRejectsEmptyInitReference(t *testing.T) {
	_, err := parse(t, "file.yml", `
init:
  - ""
`)
	wantError(t, err, "file.yml:2: ", `init[0]: invalid image reference ""`)
}

func TestEveryCheckTagNamesAKnownCheck(t *testing.T) {
	// structInfoOf panics on a check tag without an entry in checks.
	for _, v := range []any{Config{}, Kernel{}, Image{}, File{}, Volume{}, Device{}, Runtime{}, Namespaces{}, Trust{}} {
		structInfoOf(reflect.TypeOf(v))
	}
}

func TestParseRejectsNullEntries(t *testing.T) {
	for _, tc := range []struct{ yml, want string }{
		{"files:\n  -\n", `test.yml:2: files[0]: expected a mapping, got null`},
		{"services:\n  - name: a\n    image: alpine\n  - ~\n", `test.yml:4: services[1]: expected a mapping, got null`},
		{"onboot: [null]\n", `test.yml:1: onboot[0]: expected a mapping, got null`},
		{"volumes: [~]\n", `test.yml:1: volumes[0]: expected a mapping, got null`},
	} {
		_, err := parse(t, "test.yml", tc.yml)
		wantError(t, err, tc.want)
	}
}
