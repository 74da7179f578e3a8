package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
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

func TestInterfacePlanFollowsLinuxKit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		iface bundle.Interface
		want  linkPlan
	}{
		{"peer without add is a veth pair", bundle.Interface{Name: "eth1", Peer: "veth-host"}, linkPlan{add: "veth", inRoot: true}},
		{"veth", bundle.Interface{Name: "eth1", Add: "veth", Peer: "veth-host"}, linkPlan{add: "veth", inRoot: true}},
		{"existing link is moved", bundle.Interface{Name: "eth0"}, linkPlan{inRoot: true}},
		{"new link is made in the container", bundle.Interface{Name: "wg0", Add: "wireguard"}, linkPlan{add: "wireguard"}},
		{"createInRoot makes it in PID 1's namespace, then moves it", bundle.Interface{Name: "wg0", Add: "wireguard", CreateInRoot: true}, linkPlan{add: "wireguard", inRoot: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := planInterface(&tc.iface)
			if err != nil || got != tc.want {
				t.Errorf("planInterface(%+v) = %+v, %v; want %+v", tc.iface, got, err, tc.want)
			}
		})
	}
	for _, bad := range []bundle.Interface{
		{Add: "veth", Peer: "p"},
		{Name: "eth1", Add: "veth"},
		{Name: "wg0", Add: "wireguard", Peer: "p"},
	} {
		if _, err := planInterface(&bad); err == nil {
			t.Errorf("planInterface(%+v) succeeded", bad)
		}
	}
}

func TestRuntimePlanMountsARelativeDestinationInTheRootfs(t *testing.T) {
	rootfs := "/containers/onboot/001-x/rootfs"
	plan := preStartPlan(bundle.Runtime{Mounts: []specs.Mount{
		{Type: "tmpfs", Source: "tmpfs", Destination: "var/cache"},
		{Type: "ext4", Source: "/dev/vda", Destination: "/var/lib/data"},
	}}, rootfs)
	var got []string
	for _, a := range plan {
		got = append(got, a.path+" in "+a.root+" as "+a.inRoot())
	}
	want := []string{rootfs + "/var/cache in " + rootfs + " as var/cache", "/var/lib/data in / as /var/lib/data"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// A relative runtime mount lands in the rootfs, where runc's recursive bind of the rootfs
// shows it to the container.
func TestRuntimeMountsARelativeDestinationInsideTheRootfs(t *testing.T) {
	rootfs := t.TempDir()
	m := specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "var/cache", Options: []string{"size=1m"}}
	err := apply(preStartPlan(bundle.Runtime{Mounts: []specs.Mount{m}}, rootfs), 0)
	if err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("cannot mount here: %v", err)
		}
		t.Fatal(err)
	}
	target := filepath.Join(rootfs, "var/cache")
	defer func() { _ = unix.Unmount(target, unix.MNT_DETACH) }()
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Errorf("%s: statfs type %#x, %v; want tmpfs", target, st.Type, err)
	}
}

// inScratchNetns runs fn on a thread of its own in a new network namespace, so the links it
// makes never touch the test machine's. The thread is dropped afterwards.
func inScratchNetns(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Skipf("cannot make a network namespace here: %v", err)
	}
}

// containerNetns starts a process in a network namespace of its own, standing for a
// container's init between runc create and runc start.
func containerNetns(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start a process in a new network namespace: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// linksOf lists the interfaces of pid's network namespace.
func linksOf(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInterfaceWithPeerAndNoAddMakesAVethPairAcrossNamespaces(t *testing.T) {
	pid := containerNetns(t)
	var err, hostErr error
	inScratchNetns(t, func() {
		err = doInterface(&bundle.Interface{Name: "keelc0", Peer: "keelh0"}, pid)
		var l netlink.Link
		if l, hostErr = netlink.LinkByName("keelh0"); hostErr == nil && l.Type() != "veth" {
			hostErr = fmt.Errorf("keelh0 is a %s link", l.Type())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if hostErr != nil {
		t.Errorf("the peer in PID 1's namespace: %v", hostErr)
	}
	if dev := linksOf(t, pid); !strings.Contains(dev, "keelc0:") {
		t.Errorf("the container's namespace lacks keelc0:\n%s", dev)
	}
}

// Without createInRoot a new link is created in the container's namespace directly: a bridge,
// which can never change namespace, shows it.
func TestInterfaceWithoutCreateInRootIsMadeInTheContainer(t *testing.T) {
	pid := containerNetns(t)
	var err error
	var inHost bool
	inScratchNetns(t, func() {
		err = doInterface(&bundle.Interface{Name: "keelb0", Add: "bridge"}, pid)
		_, lerr := netlink.LinkByName("keelb0")
		inHost = lerr == nil
	})
	if err != nil && strings.Contains(err.Error(), "not supported") {
		t.Skipf("no bridge links here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if inHost {
		t.Error("keelb0 was made in PID 1's namespace")
	}
	if dev := linksOf(t, pid); !strings.Contains(dev, "keelb0:") {
		t.Errorf("the container's namespace lacks keelb0:\n%s", dev)
	}
}
