package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keel/svc:1's label grants CAP_NET_ADMIN and binds /var/log.
func TestBuildPrintsEachContainersPrivilegesAndTheirSources(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir := t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf(`init:
  - %[1]s/keel/init:1
services:
  - name: svc
    image: %[1]s/keel/svc:1
    capabilities.add: [CAP_SYS_TIME]
    seccomp: unconfined
`, host))
	code, _, stderr := keel(t, "build", "--format", "tar", "--cache", t.TempDir(), "-o", filepath.Join(dir, "out"), yml)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	row := regexp.MustCompile(`(?m)^services/svc +sys_time\(yaml\) net_admin\(label\) +net,ipc,uts +- +/var/log:/var/log\(label\) +masked,readonly,nnp=true seccomp=unconfined\(yaml\)$`)
	if !strings.Contains(stderr, "CONTAINER") || !row.MatchString(stderr) {
		t.Errorf("stderr has no privileges table with the service's row:\n%s", stderr)
	}
}

func TestBuildStrictLabelsRefusesWhatOnlyTheLabelGrants(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir := t.TempDir()
	for name, c := range map[string]struct {
		args []string
		yml  string
	}{
		"flag": {[]string{"--strict-labels"}, ""},
		"key":  {nil, "strict: true\n"},
	} {
		t.Run(name, func(t *testing.T) {
			yml := writeYAML(t, dir, name+".yml", c.yml+fmt.Sprintf(`init:
  - %[1]s/keel/init:1
services:
  - name: svc
    image: %[1]s/keel/svc:1
    capabilities: [CAP_NET_ADMIN]
`, host))
			args := append([]string{"build", "--format", "tar", "--cache", t.TempDir(), "-o", filepath.Join(dir, "out-"+name)}, c.args...)
			code, _, stderr := keel(t, append(args, yml)...)
			if code == 0 {
				t.Fatal("strict build succeeded")
			}
			want := fmt.Sprintf(`services "svc": strict: image "%s/keel/svc:1" label grants host path /var/log:/var/log;`, host)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr %q does not contain %q", stderr, want)
			}
			if strings.Contains(stderr, "capabilities CAP_NET_ADMIN") {
				t.Errorf("stderr %q refuses a capability the YAML asked for", stderr)
			}
		})
	}
}
