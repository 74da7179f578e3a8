package main

import (
	"reflect"
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
