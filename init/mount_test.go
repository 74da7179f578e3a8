package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/keel-os/keel/bundle"
)

func TestMountinfoParsingKeepsOrderAndUnescapesPaths(t *testing.T) {
	text := `22 1 0:21 / / rw,relatime shared:1 - rootfs rootfs rw
23 22 0:5 / /proc rw,nosuid - proc proc rw
30 22 254:0 / /var/lib/my\040data rw - ext4 /dev/vda rw
`
	got := parseMountinfo(text)
	want := []mountPoint{{22, 1, "/"}, {23, 22, "/proc"}, {30, 22, "/var/lib/my data"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v want %+v", got, want)
	}
}

func TestBootMountsComeInDependencyOrder(t *testing.T) {
	seen := map[string]int{}
	for i, m := range bootMounts() {
		seen[m.target] = i
	}
	for _, pair := range [][2]string{{"/dev", "/dev/pts"}, {"/dev", "/dev/shm"}, {"/sys", "/sys/fs/cgroup"}, {"/sys", "/sys/kernel/security"}, {"/sys/fs/cgroup", "/sys/fs/bpf"}} {
		if seen[pair[0]] >= seen[pair[1]] {
			t.Errorf("%s must be mounted before %s", pair[0], pair[1])
		}
	}
	for _, m := range bootMounts() {
		if !m.optional && (m.fstype == "efivarfs" || m.fstype == "debugfs") {
			t.Errorf("%s must be optional", m.fstype)
		}
	}
}

func TestRunSystemTmpAndVarTmpfsAreLimitedToLessThanAllOfRAMTogether(t *testing.T) {
	total := 0
	for _, m := range bootMounts() {
		if m.fstype != "tmpfs" || m.target == "/dev/shm" {
			continue
		}
		var pct int
		_, size, _ := strings.Cut(m.data, "size=")
		if _, err := fmt.Sscanf(size, "%d%%", &pct); err != nil || pct <= 0 {
			t.Errorf("%s: data %q has no size= percentage", m.target, m.data)
		}
		total += pct
	}
	if total >= 100 {
		t.Errorf("the tmpfs trees may take %d%% of RAM together", total)
	}
}

func TestSystemTmpfsIsMountedBeforeItsDirectoriesAndOnlyRootMayListIt(t *testing.T) {
	var sys *pseudoMount
	for _, m := range bootMounts() {
		if m.target == systemDir {
			sys = &m
		}
	}
	if sys == nil || sys.optional || !strings.Contains(sys.data, "mode=711,") {
		t.Fatalf("%s must be a required tmpfs with mode 711: %+v", systemDir, sys)
	}
	for _, p := range []string{controlSocket, containerdSocket, shimSockets, runcRoot, servicesRunc, serviceFIFOs, modprobeRunLink} {
		if !strings.HasPrefix(p, systemDir+"/") {
			t.Errorf("%s is not on %s", p, systemDir)
		}
	}
	// containerd refuses a longer shim socket directory.
	if len(shimSockets) > 38 {
		t.Errorf("shim socket directory %s is longer than 38 characters", shimSockets)
	}
}

func TestBindVolumesMountsEachVolumeDirectoryOnlyAndToleratesNone(t *testing.T) {
	root := t.TempDir()
	var bound []string
	record := func(dir string) error { bound = append(bound, dir); return nil }
	bindVolumes(root, record)
	if len(bound) != 0 {
		t.Fatalf("bound %v in an image without volumes", bound)
	}
	vols := filepath.Join(root, bundle.VolumesDir)
	for _, d := range []string{"b", "a"} {
		if err := os.MkdirAll(filepath.Join(vols, d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(vols, "stray"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bindVolumes(root, record)
	if want := []string{filepath.Join(vols, "a"), filepath.Join(vols, "b")}; !slices.Equal(bound, want) {
		t.Errorf("bound %v, want %v", bound, want)
	}
}
