package pkg

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseReadsEveryKey(t *testing.T) {
	p, err := Parse("build.yml", []byte(`
image: keel/getty
tag: v1
binaries:
  - package: github.com/opencontainers/runc
    path: /usr/bin/runc
    tags: [seccomp]
    cgo: true
    ldflags: ""
    gcflags: all=-l
    links: [/usr/bin/runc-link]
files:
  - path: /etc/motd
    contents: "hi\n"
    mode: 0600
  - path: /bin/x
    source: /bin/true
    mode: "755"
config:
  capabilities: [all]
entrypoint: [/usr/bin/runc]
cmd: [--help]
env: [A=b]
workdir: /root
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Ref("") != "keel/getty:v1" || p.Ref("x") != "keel/getty:x" {
		t.Errorf("refs = %q, %q", p.Ref(""), p.Ref("x"))
	}
	b := p.Binaries[0]
	if b.Package != "github.com/opencontainers/runc" || !b.CGO || b.LDFlags == nil || *b.LDFlags != "" || !slices.Equal(b.GCFlags, Flags{"all=-l"}) || b.Pos.Line != 5 {
		t.Errorf("binary = %+v", b)
	}
	if *p.Files[0].Mode != 0o600 || *p.Files[1].Mode != 0o755 || p.Files[1].Pos.Line != 16 {
		t.Errorf("files = %+v %+v", p.Files[0], p.Files[1])
	}
	if p.WorkingDir != "/root" || p.Cmd[0] != "--help" || p.Env[0] != "A=b" {
		t.Errorf("package = %+v", p)
	}
}

func TestParseTakesGCFlagsAsOneStringOrAList(t *testing.T) {
	for yml, want := range map[string]Flags{
		`"all=-l"`:                 {"all=-l"},
		`["a/...=-l", "b/...=-l"]`: {"a/...=-l", "b/...=-l"},
		`""`:                       nil,
		`null`:                     nil,
		`~`:                        nil,
	} {
		p, err := Parse("build.yml", []byte("image: keel/x\nbinaries:\n  - package: ./x\n    path: /x\n    gcflags: "+yml+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", yml, err)
		}
		if got := p.Binaries[0].GCFlags; !slices.Equal(got, want) {
			t.Errorf("gcflags: %s = %q, want %q", yml, got, want)
		}
	}
}

func TestParseDefaultsTagToDev(t *testing.T) {
	p, err := Parse("build.yml", []byte("image: keel/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Ref(""); got != "keel/x:dev" {
		t.Errorf("ref = %q, want keel/x:dev", got)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, yml, want string
	}{
		{"top-level typo", "image: a/b\nbinaris: []\n", `b/build.yml:2: unknown key "binaris"`},
		{"nested typo", "image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    ldflag: -s\n", `b/build.yml:5: binaries[0] "/x": unknown key "ldflag" (did you mean "ldflags"?)`},
		{"file typo", "image: a/b\nfiles:\n  - path: /x\n    content: hi\n", `b/build.yml:4: files[0] "/x": unknown key "content" (did you mean "contents"?)`},
		{"config keys pass through", "image: a/b\nconfig:\n  anything: [1]\nfoo: 1\n", `b/build.yml:4: unknown key "foo"`},
		{"wrong type", "image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    cgo: maybe\n", `b/build.yml:5: binaries[0] "/x": cgo: expected a boolean (true or false), got string "maybe"`},
		{"bad mode", "image: a/b\nfiles:\n  - path: /x\n    contents: hi\n    mode: rwx\n", `b/build.yml:5: files[0] "/x": mode: "rwx" is not an octal mode such as "0755"`},
		{"gcflags map", "image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    gcflags: {a: b}\n", `b/build.yml:5: binaries[0] "/x": gcflags: want a string or a list of strings`},
		{"gcflags nested list", "image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    gcflags: [[a]]\n", `b/build.yml:5: binaries[0] "/x": gcflags: want a string or a list of strings`},
		{"duplicate key", "image: a/b\nimage: c/d\n", `b/build.yml:2: key "image" is set twice (first at line 1)`},
		{"duplicate config key", "image: a/b\nconfig:\n  net: host\n  net: none\n", `b/build.yml:4: config: key "net" is set twice (first at line 3)`},
		{"wrong top-level type", "image: a/b\nenv: A=b\n", `b/build.yml:2: env: expected a list, got string "A=b"`},
		{"null pointer", "image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    ldflags:\n", `b/build.yml:5: binaries[0] "/x": ldflags: expected a string, got null`},
		{"two documents", "image: a/b\n---\nimage: c/d\n", "b/build.yml:2: only one YAML document"},
		{"syntax", "image: [a\n", "b/build.yml:2: invalid YAML: did not find expected ',' or ']'"}, // the list is still open at the end
		{"missing image", "tag: x\n", "b/build.yml: image: is required"},
		{"image with tag", "image: a/b:1\n", "b/build.yml:1: image \"a/b:1\" must be a repository"},
		{"bad tag", "image: a/b\ntag: \"no/slash\"\n", "b/build.yml:2: tag"},
		{"relative path", "image: a/b\nbinaries:\n  - package: ./x\n    path: bin/x\n", `b/build.yml:3: binary ./x: path: "bin/x" must be absolute`},
		{"no package", "image: a/b\nbinaries:\n  - path: /x\n", "b/build.yml:3: binary: package: is required"},
		{"relative link", "image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    links: [y]\n", "b/build.yml:3: binary ./x: links:"},
		{"two kinds", "image: a/b\nfiles:\n  - path: /x\n    contents: hi\n    symlink: y\n", "b/build.yml:3: file /x: set exactly one"},
		{"no kind", "image: a/b\nfiles:\n  - path: /x\n", "b/build.yml:3: file /x: set exactly one"},
		{"unclean path", "image: a/b\nfiles:\n  - path: /x/../y\n    directory: true\n", "b/build.yml:3: file: path: \"/x/../y\" is not clean"},
		{"symlink mode", "image: a/b\nfiles:\n  - path: /x\n    symlink: y\n    mode: \"0755\"\n", "b/build.yml:3: file /x: a symlink has no mode"},
		{"relative workdir", "image: a/b\nworkdir: tmp\n", "b/build.yml:2: workdir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("b/build.yml", []byte(tc.yml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseReportsEveryDecodingErrorInLineOrder(t *testing.T) {
	_, err := Parse("b/build.yml", []byte("image: a/b\nbinaries:\n  - package: ./x\n    path: /x\n    cgo: 1\nimage: c/d\nfoo: 1\n"))
	want := `b/build.yml:5: binaries[0] "/x": cgo: expected a boolean (true or false), got integer 1
b/build.yml:6: key "image" is set twice (first at line 1)
b/build.yml:7: unknown key "foo"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want it to start with\n%s", err, want)
	}
}

func TestParseTakesConfigAsYAMLGivesIt(t *testing.T) {
	p, err := Parse("build.yml", []byte("image: a/b\nconfig:\n  a: {b: [1, \"2\", true, null, 1.5]}\n  c: ~\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": map[string]any{"b": []any{1, "2", true, nil, 1.5}}, "c": nil}
	if !reflect.DeepEqual(p.Config, want) {
		t.Errorf("config = %#v, want %#v", p.Config, want)
	}
	if p.KeyPos["config"].Line != 2 {
		t.Errorf("config at %v, want line 2", p.KeyPos["config"])
	}
}

func TestLoadNamesMissingBuildFile(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "build.yml") {
		t.Errorf("err = %v, want it to name build.yml", err)
	}
}
