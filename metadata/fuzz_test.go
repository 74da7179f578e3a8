package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzApply applies user data and fails if anything lands outside the config dir or a
// temporary file stays behind; the raw copy must always be there.
func fuzzApply(t *testing.T, ud []byte) {
	dir, parent, _, _ := tree(t, &Data{Provider: "fuzz", UserData: ud})
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "config" {
		t.Fatalf("entries beside the config dir: %v", ents)
	}
	got, err := os.ReadFile(filepath.Join(dir, "userdata"))
	if err != nil || string(got) != string(ud) {
		t.Fatalf("raw copy: %v", err)
	}
	for name := range files(t, dir) {
		if strings.Contains(name, ".tmp-") {
			t.Fatalf("temporary file %s left", name)
		}
	}
}

func FuzzJSONTree(f *testing.F) {
	for _, s := range []string{
		linuxkitTree,
		`{"..":{"entries":{"x":{"content":"y"}}}}`,
		`{"a":{"entries":{"../../etc/passwd":{"content":"y"}}}}`,
		`{"a/b/c":{"content":"y","perm":"4777"}}`,
		`{"a":{"entries":{"b":{"entries":{"c":{"content":""}}}}},"a/b":{"content":"clash"}}`,
		`{"userdata":{"content":"x"},"hostname":{"content":"json-host"}}`,
		`{"":{"content":"x"},".":{"entries":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, ud []byte) {
		fuzzApply(t, ud)
	})
}

func FuzzCloudConfig(f *testing.F) {
	for _, s := range []string{
		cloudConfigData,
		"#cloud-config\nwrite_files:\n- path: /run/config/../../etc/x\n  content: y\n",
		"#cloud-config\nwrite_files:\n- path: /run/config/a\n  encoding: gz+b64\n  content: H4sIAAAAAAAA/8pIzcnJBwQAAP//hqYQNgUAAAA=\n",
		"#cloud-config\nusers: [default, {name: a, ssh_authorized_keys: [k]}, 3]\nhostname: h\n",
		"#cloud-config\nwrite_files: {path: x}\n",
		"#cloud-config\na: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, ud []byte) {
		if len(ud) > 1<<16 {
			return
		}
		if !strings.HasPrefix(string(ud), "#cloud-config") {
			ud = append([]byte("#cloud-config\n"), ud...) // keep mutations on the cloud-config path
		}
		fuzzApply(t, ud)
	})
}
