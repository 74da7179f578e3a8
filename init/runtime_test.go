package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestRuntimePlanRunsCgroupsThenMountsThenMkdirWithRelativePathsInTheRootfs(t *testing.T) {
	rt := bundle.Runtime{
		Mkdir:   []string{"/var/lib/docker", "data/cache"},
		Mounts:  []specs.Mount{{Type: "bind", Source: "/var/lib", Destination: "/var/lib/x", Options: []string{"rbind", "rshared"}}},
		Cgroups: []string{"systemreserved", "podruntime/docker"},
	}
	var got []string
	for _, a := range preStartPlan(rt, "/containers/onboot/000-x/rootfs") {
		got = append(got, a.op+" "+a.path)
	}
	want := []string{
		"cgroup /systemreserved", "cgroup /podruntime/docker",
		"mount /var/lib/x",
		"mkdir /var/lib/docker", "mkdir /containers/onboot/000-x/rootfs/data/cache",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestRuntimePostCreatePlanMovesInterfacesBeforeBindingNamespaces(t *testing.T) {
	rt := bundle.Runtime{
		Interfaces: []bundle.Interface{{Name: "eth0"}, {Add: "veth", Name: "vethA", Peer: "vethB"}},
		BindNS:     bundle.Namespaces{Net: "/run/netns/x", Uts: "/run/utsns/x"},
	}
	var got []string
	for _, a := range postCreatePlan(rt) {
		got = append(got, a.String())
	}
	want := []string{
		`interface add="" name="eth0" peer=""`,
		`interface add="veth" name="vethA" peer="vethB"`,
		"bindns net on /run/netns/x",
		"bindns uts on /run/utsns/x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if !needsPid(rt) || needsPid(bundle.Runtime{Mkdir: []string{"/x"}}) {
		t.Fatal("needsPid must be true exactly when there are post-create steps")
	}
}

func TestMountOptionsSplitIntoFlagsPropagationAndData(t *testing.T) {
	flags, prop, data := parseMountOptions([]string{"rbind", "ro", "nosuid", "rshared", "size=10m", "mode=755", "rw"})
	if flags != unix.MS_BIND|unix.MS_REC|unix.MS_NOSUID {
		t.Errorf("flags = %#x", flags)
	}
	if !reflect.DeepEqual(prop, []uintptr{unix.MS_SHARED | unix.MS_REC}) {
		t.Errorf("propagation = %v", prop)
	}
	if data != "size=10m,mode=755" {
		t.Errorf("data = %q", data)
	}
}

// escapeTree makes a rootfs whose "escape" symlink points at a directory outside it, and
// returns the rootfs and that directory.
func escapeTree(t *testing.T) (rootfs, outside string) {
	t.Helper()
	base := t.TempDir()
	rootfs, outside = filepath.Join(base, "rootfs"), filepath.Join(base, "outside")
	for _, d := range []string{rootfs, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(rootfs, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../..", filepath.Join(rootfs, "up")); err != nil {
		t.Fatal(err)
	}
	return rootfs, outside
}

// A symlink resolves as if the rootfs were /: "up" (../../..) leads to the rootfs itself, and
// "escape" to a path the rootfs lacks, which is refused rather than made.
func TestRuntimeMkdirThroughASymlinkStaysInTheRootfs(t *testing.T) {
	rootfs, outside := escapeTree(t)
	err := apply(preStartPlan(bundle.Runtime{Mkdir: []string{"escape/made"}}, rootfs), 0)
	if _, serr := os.Stat(filepath.Join(outside, "made")); serr == nil {
		t.Fatalf("mkdir followed the symlink out of the rootfs to %s", outside)
	}
	if err == nil {
		t.Error("mkdir through a symlink to a path outside the rootfs succeeded")
	}
	if err := apply(preStartPlan(bundle.Runtime{Mkdir: []string{"up/tmp/also"}}, rootfs), 0); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(rootfs, "tmp/also")); err != nil || !st.IsDir() {
		t.Errorf("up/tmp/also not made inside the rootfs: %v", err)
	}
}

func TestRuntimeMountPointThroughASymlinkStaysInTheRootfs(t *testing.T) {
	rootfs, outside := escapeTree(t)
	mount := func(dest string) error {
		m := specs.Mount{Type: "keel-no-such-filesystem", Source: "none", Destination: dest}
		return apply(preStartPlan(bundle.Runtime{Mounts: []specs.Mount{m}}, rootfs), 0)
	}
	if err := mount("escape/mnt"); err == nil || !strings.Contains(err.Error(), "mkdir") {
		t.Errorf("mount point through a symlink out of the rootfs: %v, want a mkdir error", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "mnt")); err == nil {
		t.Fatal("the mount point was made through the symlink, outside the rootfs")
	}
	// The mount point is made inside the rootfs; mount(2) fails (no such filesystem, or EPERM
	// when the test is not root).
	if err := mount("up/mnt"); err == nil || strings.Contains(err.Error(), "mkdir") {
		t.Errorf("mount of a filesystem the kernel lacks: %v", err)
	}
	if st, err := os.Stat(filepath.Join(rootfs, "mnt")); err != nil || !st.IsDir() {
		t.Errorf("mount point not made inside the rootfs: %v", err)
	}
}

func TestNamespaceBindFileIsNeverASymlinksTarget(t *testing.T) {
	rootfs, outside := escapeTree(t)
	// A symlink as the file itself is refused, not followed.
	if err := os.Symlink(filepath.Join(outside, "victim"), filepath.Join(rootfs, "ns")); err != nil {
		t.Fatal(err)
	}
	if f, err := createInRoot(rootfs, "/ns", 0o444); err == nil {
		f.Close()
		t.Fatal("createInRoot followed a symlink as its last component")
	}
	if f, err := createInRoot(rootfs, "/escape/netns/x", 0o444); err == nil {
		f.Close()
		t.Error("createInRoot went through a symlink to a path outside the root")
	}
	for _, p := range []string{"victim", "netns"} {
		if _, err := os.Lstat(filepath.Join(outside, p)); err == nil {
			t.Fatalf("createInRoot made %s outside the root", p)
		}
	}
	// A symlink among the parents resolves inside the root.
	f, err := createInRoot(rootfs, "/up/netns/x", 0o444)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Stat(filepath.Join(rootfs, "netns", "x")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("file not made inside the root: %v", err)
	}
}
