package assemble

import (
	"io/fs"
	"testing"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/rootfs/tree"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestAddMountpointsMakesFilesForFileBindsAndDirectoriesOtherwise(t *testing.T) {
	root := tree.New()
	for _, err := range []error{
		root.AddFile("etc/resolv.conf", 0o644, 0, 0, []byte("nameserver 10.0.2.3\n")),
		root.AddDir("var/lib", 0o755, 0, 0),
		root.AddSymlink("etc/localtime", "/usr/share/zoneinfo/UTC", 0, 0),
		root.AddFile("b/rootfs/etc/ssh/sshd_config", 0o600, 0, 0, []byte("image")),
		root.AddSymlink("b/rootfs/var/run", "../run", 0, 0),
		root.AddSymlink("etc/resolv-abs.conf", bundle.ResolvConf, 0, 0),
		root.AddSymlink("etc/resolv-rel.conf", "../run/resolvconf/resolv.conf", 0, 0),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	mounts := []specs.Mount{
		{Destination: "/etc/resolv.conf", Type: "bind", Source: "/etc/resolv.conf", Options: []string{"ro"}},
		{Destination: "/hosts", Type: "none", Source: "/etc/resolv.conf", Options: []string{"rbind"}},
		{Destination: "/var/lib", Type: "bind", Source: "/var/lib"},
		{Destination: "/localtime", Type: "bind", Source: "/etc/localtime"},
		{Destination: "/missing", Type: "bind", Source: "/no/such/file"},
		{Destination: "/tmp", Type: "tmpfs", Source: "/etc/resolv.conf"},
		{Destination: "/etc/ssh/sshd_config", Type: "bind", Source: "/var/lib"},
		{Destination: "/var/run/x", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/etc/resolv.conf.host", Type: "bind", Source: bundle.ResolvConf, Options: []string{"ro", "rbind"}},
		{Destination: "/resolv-abs", Type: "bind", Source: "/etc/resolv-abs.conf"},
		{Destination: "/resolv-rel", Type: "bind", Source: "/etc/resolv-rel.conf"},
	}
	if err := addMountpoints(root, "b/rootfs", mounts); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		typ  fs.FileMode
		perm fs.FileMode
	}{
		{"b/rootfs/etc/resolv.conf", 0, 0o644},
		{"b/rootfs/hosts", 0, 0o644},
		{"b/rootfs/var/lib", fs.ModeDir, 0o755},
		{"b/rootfs/localtime", fs.ModeDir, 0o755}, // a symlink source is not followed
		{"b/rootfs/missing", fs.ModeDir, 0o755},
		{"b/rootfs/tmp", fs.ModeDir, 0o755},        // not a bind: the source is no host path
		{"b/rootfs/etc/ssh/sshd_config", 0, 0o600}, // the image's entry is kept
		// PID 1 creates the resolver file at boot, under /run: a file, directly or
		// through the root's /etc/resolv.conf symlink.
		{"b/rootfs/etc/resolv.conf.host", 0, 0o644},
		{"b/rootfs/resolv-abs", 0, 0o644},
		{"b/rootfs/resolv-rel", 0, 0o644},
	} {
		n, err := root.Lookup(tc.path)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if n.Type() != tc.typ || n.Perm() != tc.perm {
			t.Errorf("%s: %v, want %v%v", tc.path, n.Mode, tc.typ, tc.perm)
		}
	}
	if n, err := root.Lookup("b/rootfs/etc/ssh/sshd_config"); err != nil || string(n.Data) != "image" {
		t.Errorf("the image's sshd_config was replaced: %v", err)
	}
	if n, err := root.Lookup("b/rootfs/var/run"); err != nil || !n.IsSymlink() {
		t.Errorf("var/run: %v; want the image's symlink, nothing written through it", err)
	}
}

func TestAddMountpointsReportsAParentThatIsAFile(t *testing.T) {
	root := tree.New()
	if err := root.AddFile("b/rootfs/etc", 0o644, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := addMountpoints(root, "b/rootfs", []specs.Mount{{Destination: "/etc/x", Type: "tmpfs", Source: "tmpfs"}}); err == nil {
		t.Fatal("a mount point below a regular file was accepted")
	}
}

func TestAddRuntimeDirsMakesRelativeRuntimePathsInsideTheRootfs(t *testing.T) {
	root := tree.New()
	for _, err := range []error{
		root.AddFile("b/rootfs/etc/motd", 0o644, 0, 0, []byte("hi")),
		root.AddSymlink("b/rootfs/var/run", "/run", 0, 0),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rt := bundle.Runtime{
		Mounts: []specs.Mount{
			{Type: "tmpfs", Source: "tmpfs", Destination: "var/cache"},
			{Type: "ext4", Source: "/dev/vda", Destination: "/var/lib/data"},
			{Type: "tmpfs", Source: "tmpfs", Destination: "../../escape"},
			{Type: "tmpfs", Source: "tmpfs", Destination: "var/run/x"},
		},
		Mkdir: []string{"var/cache/apk", "/var/lib/svc", "etc/motd"},
	}
	if err := addRuntimeDirs(root, "b/rootfs", rt); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"b/rootfs/var/cache", "b/rootfs/var/cache/apk", "b/rootfs/escape"} {
		if n, err := root.Lookup(p); err != nil || !n.IsDir() {
			t.Errorf("%s: %v, want a directory", p, err)
		}
	}
	for _, p := range []string{"var/lib/data", "var/lib/svc", "b/rootfs/var/lib", "escape"} {
		if _, err := root.Lookup(p); err == nil {
			t.Errorf("%s was created: absolute runtime paths are on the machine, made at run time", p)
		}
	}
	if n, err := root.Lookup("b/rootfs/etc/motd"); err != nil || !n.IsRegular() {
		t.Errorf("etc/motd: %v; want the image's file kept", err)
	}
	if n, err := root.Lookup("b/rootfs/var/run"); err != nil || !n.IsSymlink() {
		t.Errorf("var/run: %v; want the image's symlink, nothing written through it", err)
	}
}
