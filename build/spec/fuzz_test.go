package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse parses and merges two files. A failure must be an ErrorList of errors naming
// a file given; a success must write back (MarshalYAML) to YAML that parses to the same
// configuration.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/*.yml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, []byte("services: []\n"))
		}
	}
	f.Add([]byte("kernel:\n  image: linuxkit/kernel:6.6\n  cmdline: console=ttyS0\ninit: [linuxkit/init:v1]\n"),
		[]byte("kernel:\n  cmdline: quiet\nfiles:\n  - path: etc/motd\n    contents: hi\n    mode: \"0644\"\n"))
	f.Add([]byte("onboot:\n  - name: a\n    image: alpine\n    capabilities: &c [CAP_NET_ADMIN]\nservices:\n  - name: b\n    image: alpine\n    capabilities: *c\n    after: [a]\n"), []byte(""))
	f.Add([]byte("services:\n  - &s\n    name: a\n    image: alpine\n    command: [*s]\n"), []byte("{}"))
	f.Add(billionLaughs(), []byte("volumes:\n  - name: v\n    image: alpine\n"))
	f.Add([]byte("services:\n  - name: a\n    image: alpine\n    uid: root\n    additionalGids: [5, wheel]\n    devices: [{path: /dev/null, type: c, major: 1, minor: 3, mode: \"0666\"}]\n"), []byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		cfg, err := Parse(Source{Name: "a.yml", Data: a}, Source{Name: "b.yml", Data: b})
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.File != "a.yml" && e.Pos.File != "b.yml" {
					t.Errorf("error %q names no file given", e)
				}
			}
			return
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal parsed configuration: %v", err)
		}
		again, err := Parse(Source{Name: "out.yml", Data: out})
		if err != nil {
			t.Fatalf("written configuration does not parse: %v\n%s", err, out)
		}
		j1, _ := json.Marshal(cfg)
		j2, _ := json.Marshal(again)
		if string(j1) != string(j2) {
			t.Fatalf("configuration changed writing it back:\n%s\nbecame\n%s", j1, j2)
		}
	})
}
