package substitute

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/keel-os/keel/build/spec"
)

const linuxkitMinimal = `kernel:
  image: linuxkit/kernel:6.6.71
  cmdline: "console=tty0 console=ttyS0 console=ttyAMA0"
init:
  - linuxkit/init:8eea386739975a43af558eec757a7dcb3a3d2e7b
  - linuxkit/runc:667e7ea2c426a2460ca21e3da065a57dbb3369c9
  - linuxkit/containerd:a988a1a8bcbacb2c0c4a2c3f6b1e8c1d8b7e9f00
  - linuxkit/ca-certificates:7b32a26ca9c275d3ef32b11fe2a83dbd2aee2fdb
onboot:
  - name: sysctl
    image: linuxkit/sysctl:5a374e4bf3e5a7deeacff6571d0f30f7ea8f56db
  - name: dhcpcd
    image: docker.io/linuxkit/dhcpcd:157df9ef45a035f1542ec2270e374f18efef98a5
    command: ["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"]
services:
  - name: getty
    image: linuxkit/getty:v1.0.0
    env:
     - INSECURE=true
  - name: nginx
    image: nginx:1.19.5-alpine
  - name: mirror
    image: ghcr.io/linuxkit/getty:v1
`

func parse(t *testing.T, yml string) *spec.Config {
	t.Helper()
	cfg, err := spec.Parse(spec.Source{Name: "minimal.yml", Data: []byte(yml)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLinuxKitSystemImagesBecomeKeelPackages(t *testing.T) {
	cfg := parse(t, linuxkitMinimal)
	subs := Apply(cfg, "dev")
	if cfg.Kernel.Image != "keel/kernel:dev" {
		t.Errorf("kernel %q", cfg.Kernel.Image)
	}
	var init []string
	for _, r := range cfg.Init {
		init = append(init, r.Image)
	}
	// init, runc and containerd are one image.
	if got := strings.Join(init, " "); got != "keel/init:dev keel/ca-certificates:dev" {
		t.Errorf("init = %s", got)
	}
	if cfg.Onboot[0].Image != "keel/sysctl:dev" || cfg.Onboot[1].Image != "keel/dhcpcd:dev" || cfg.Services[0].Image != "keel/getty:dev" {
		t.Errorf("onboot %q %q, services %q", cfg.Onboot[0].Image, cfg.Onboot[1].Image, cfg.Services[0].Image)
	}
	// Images that are not LinuxKit's system images on Docker Hub stay as written.
	if cfg.Services[1].Image != "nginx:1.19.5-alpine" || cfg.Services[2].Image != "ghcr.io/linuxkit/getty:v1" {
		t.Errorf("other images changed: %q %q", cfg.Services[1].Image, cfg.Services[2].Image)
	}
	// The command line and env are the LinuxKit file's: the substitute accepts them.
	if got := strings.Join(*cfg.Services[0].Env, " "); got != "INSECURE=true" {
		t.Errorf("getty env %q", got)
	}
	var lines []string
	for _, s := range subs {
		lines = append(lines, s.String())
	}
	want := []string{
		"minimal.yml:2: kernel: image linuxkit/kernel:6.6.71 → keel/kernel:dev",
		"minimal.yml:5: init[0] linuxkit/init:8eea386739975a43af558eec757a7dcb3a3d2e7b → keel/init:dev",
		"minimal.yml:6: init[1] linuxkit/runc:667e7ea2c426a2460ca21e3da065a57dbb3369c9: dropped, keel/init already holds it",
		"minimal.yml:7: init[2] linuxkit/containerd:a988a1a8bcbacb2c0c4a2c3f6b1e8c1d8b7e9f00: dropped, keel/init already holds it",
		"minimal.yml:8: init[3] linuxkit/ca-certificates:7b32a26ca9c275d3ef32b11fe2a83dbd2aee2fdb → keel/ca-certificates:dev",
		"minimal.yml:11: onboot[0] \"sysctl\": image linuxkit/sysctl:5a374e4bf3e5a7deeacff6571d0f30f7ea8f56db → keel/sysctl:dev",
		"minimal.yml:13: onboot[1] \"dhcpcd\": image docker.io/linuxkit/dhcpcd:157df9ef45a035f1542ec2270e374f18efef98a5 → keel/dhcpcd:dev",
		"minimal.yml:17: services[0] \"getty\": image linuxkit/getty:v1.0.0 → keel/getty:dev",
	}
	if got := strings.Join(lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("substitutions:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestADigestOrDockerIOPrefixStillMatches(t *testing.T) {
	for _, ref := range []string{
		"linuxkit/getty@sha256:" + strings.Repeat("a", 64),
		"docker.io/linuxkit/getty:v1",
		"index.docker.io/linuxkit/getty",
	} {
		if r, ok := Lookup(ref); !ok || r.To != "keel/getty" {
			t.Errorf("Lookup(%q) = %v, %v", ref, r, ok)
		}
	}
	for _, ref := range []string{"linuxkit/unknown:v1", "example.com/linuxkit/getty:v1", "not a ref"} {
		if _, ok := Lookup(ref); ok {
			t.Errorf("Lookup(%q) matched", ref)
		}
	}
}

func TestEveryRuleMapsALinuxKitRepositoryOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Table {
		if !strings.HasPrefix(r.From, "linuxkit/") || !strings.HasPrefix(r.To, "keel/") || r.Why == "" {
			t.Errorf("rule %+v", r)
		}
		if seen[r.From] {
			t.Errorf("%s mapped twice", r.From)
		}
		seen[r.From] = true
	}
}

// docs/yaml.md shows the table: every rule is in it.
func TestTheDocsListEveryRule(t *testing.T) {
	data, err := os.ReadFile("../../docs/yaml.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Table {
		row := fmt.Sprintf("| `%s` | `%s` |", r.From, r.To)
		if !strings.Contains(string(data), row) {
			t.Errorf("docs/yaml.md lacks the row %q", row)
		}
	}
}

// LinuxKit's getty asks for a password unless INSECURE=true: keel/getty has no login, so
// such an entry keeps LinuxKit's image, and keel build says why.
func TestAGettyWithoutInsecureKeepsLinuxKitsImage(t *testing.T) {
	cfg := parse(t, `services:
  - name: getty
    image: linuxkit/getty:v1.0.0
  - name: open
    image: linuxkit/getty:v1.0.0
    env: [INSECURE=true]
`)
	subs := Apply(cfg, "dev")
	if cfg.Services[0].Image != "linuxkit/getty:v1.0.0" || cfg.Services[1].Image != "keel/getty:dev" {
		t.Errorf("images %q %q", cfg.Services[0].Image, cfg.Services[1].Image)
	}
	if len(subs) != 2 || !strings.Contains(subs[0].String(), `services[0] "getty": image linuxkit/getty:v1.0.0: kept: without INSECURE=true`) {
		t.Errorf("substitutions %v", subs)
	}
}

// Keel's kernel image has no microcode: a LinuxKit kernel's ucode: goes, and keel build says so.
func TestTheKernelsUcodeIsDroppedWithANote(t *testing.T) {
	cfg := parse(t, "kernel:\n  image: linuxkit/kernel:6.6.13\n  ucode: intel-ucode.cpio\n")
	subs := Apply(cfg, "dev")
	if cfg.Kernel.UCode != nil || len(subs) != 1 ||
		subs[0].String() != "minimal.yml:2: kernel: image linuxkit/kernel:6.6.13 → keel/kernel:dev (ucode intel-ucode.cpio dropped: keel/kernel has no microcode)" {
		t.Errorf("ucode %v, substitutions %v", cfg.Kernel.UCode, subs)
	}
	// A kernel that is not LinuxKit's keeps its ucode.
	cfg = parse(t, "kernel:\n  image: example.com/kernel:1\n  ucode: intel-ucode.cpio\n")
	if Apply(cfg, "dev"); cfg.Kernel.UCode == nil {
		t.Error("another kernel's ucode was dropped")
	}
}
