package main

import (
	"reflect"
	"testing"
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
