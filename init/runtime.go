package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/keel-os/keel/bundle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A runtime.json is applied in two phases, as LinuxKit does: before the container exists
// (cgroups, mounts, then mkdir, so a directory can be made under a mount) and once its
// process exists but has not started (interfaces, then bind-mounted namespaces).

// action is one step of applying runtime.json.
type action struct {
	op     string // "cgroup", "mount", "mkdir", "interface", "bindns"
	path   string // target path, cgroup or namespace bind path
	root   string // the tree a mount, mkdir or bindns path stays in: / or the container's rootfs
	mount  *specs.Mount
	iface  *bundle.Interface
	nsType string
}

func (a action) String() string {
	switch a.op {
	case "mount":
		return fmt.Sprintf("mount %s %s on %s (%s)", a.mount.Type, a.mount.Source, a.path, strings.Join(a.mount.Options, ","))
	case "interface":
		return fmt.Sprintf("interface add=%q name=%q peer=%q", a.iface.Add, a.iface.Name, a.iface.Peer)
	case "bindns":
		return fmt.Sprintf("bindns %s on %s", a.nsType, a.path)
	}
	return a.op + " " + a.path
}

// resolve makes a runtime.json path absolute: relative paths are inside the container rootfs.
func resolve(rootfs, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(rootfs, p)
}

// rootOf is the tree a runtime.json path is resolved in: the container's rootfs for a
// relative path, whose symlinks then cannot lead out of it, and / for an absolute one.
func rootOf(rootfs, p string) string {
	if filepath.IsAbs(p) {
		return "/"
	}
	return rootfs
}

// inRoot is a's path inside a.root.
func (a action) inRoot() string {
	if a.root == "/" || a.root == "" {
		return a.path
	}
	rel, err := filepath.Rel(a.root, a.path)
	if err != nil {
		return a.path
	}
	return rel
}

// preStartPlan lists what is done before the container is created.
func preStartPlan(rt bundle.Runtime, rootfs string) []action {
	var plan []action
	for _, cg := range rt.Cgroups {
		plan = append(plan, action{op: "cgroup", path: filepath.Join("/", cg)})
	}
	for i := range rt.Mounts {
		m := rt.Mounts[i]
		plan = append(plan, action{op: "mount", path: resolve(rootfs, m.Destination), root: rootOf(rootfs, m.Destination), mount: &m})
	}
	for _, d := range rt.Mkdir {
		plan = append(plan, action{op: "mkdir", path: resolve(rootfs, d), root: rootOf(rootfs, d)})
	}
	return plan
}

// postCreatePlan lists what is done once the container's process exists.
func postCreatePlan(rt bundle.Runtime) []action {
	var plan []action
	for i := range rt.Interfaces {
		plan = append(plan, action{op: "interface", iface: &rt.Interfaces[i]})
	}
	ns := rt.BindNS
	for _, b := range []struct{ typ, path string }{
		{"cgroup", ns.Cgroup}, {"ipc", ns.Ipc}, {"mnt", ns.Mnt}, {"net", ns.Net},
		{"pid", ns.Pid}, {"user", ns.User}, {"uts", ns.Uts},
	} {
		if b.path != "" {
			plan = append(plan, action{op: "bindns", nsType: b.typ, path: b.path, root: "/"})
		}
	}
	return plan
}

// needsPid reports whether runtime.json has steps that need the container's process.
func needsPid(rt bundle.Runtime) bool { return len(postCreatePlan(rt)) > 0 }

// apply performs the plan; pid is the container's process for post-create steps.
func apply(plan []action, pid int) error {
	for _, a := range plan {
		if err := a.do(pid); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}

func (a action) do(pid int) error {
	switch a.op {
	case "cgroup":
		_, err := cgroup2.NewManager("/sys/fs/cgroup", a.path, &cgroup2.Resources{})
		return err
	case "mkdir":
		d, err := mkdirInRoot(a.root, a.inRoot(), 0o755)
		if err == nil {
			d.Close()
		}
		return err
	case "mount":
		return doMount(a.mount, a.root, a.inRoot())
	case "interface":
		return doInterface(a.iface, pid)
	case "bindns":
		return bindNamespace(pid, a.nsType, a.root, a.path)
	}
	return fmt.Errorf("unknown runtime action %q", a.op)
}

// mountFlags maps mount(8) options to flags; clear options remove a flag.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async": {true, unix.MS_SYNCHRONOUS}, "atime": {true, unix.MS_NOATIME},
	"bind": {false, unix.MS_BIND}, "defaults": {false, 0}, "dev": {true, unix.MS_NODEV},
	"diratime": {true, unix.MS_NODIRATIME}, "dirsync": {false, unix.MS_DIRSYNC},
	"exec": {true, unix.MS_NOEXEC}, "mand": {false, unix.MS_MANDLOCK},
	"noatime": {false, unix.MS_NOATIME}, "nodev": {false, unix.MS_NODEV},
	"nodiratime": {false, unix.MS_NODIRATIME}, "noexec": {false, unix.MS_NOEXEC},
	"nomand": {true, unix.MS_MANDLOCK}, "norelatime": {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME}, "nosuid": {false, unix.MS_NOSUID},
	"rbind": {false, unix.MS_BIND | unix.MS_REC}, "relatime": {false, unix.MS_RELATIME},
	"remount": {false, unix.MS_REMOUNT}, "ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"strictatime": {false, unix.MS_STRICTATIME}, "suid": {true, unix.MS_NOSUID},
	"sync": {false, unix.MS_SYNCHRONOUS},
}

var propagationFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseMountOptions splits options into mount flags, propagation flags and filesystem data.
func parseMountOptions(opts []string) (flags uintptr, propagation []uintptr, data string) {
	var extra []string
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[o]; ok {
			propagation = append(propagation, p)
			continue
		}
		extra = append(extra, o)
	}
	return flags, propagation, strings.Join(extra, ",")
}

// doMount mounts m on target inside root, creating the mount point, both without following
// a symlink out of root.
func doMount(m *specs.Mount, root, target string) error {
	flags, propagation, data := parseMountOptions(m.Options)
	if strings.HasPrefix(m.Source, "/dev/") {
		waitForDevice(m.Source, 10*time.Second)
	}
	point, err := mkdirInRoot(root, target, 0o755)
	if err != nil {
		return err
	}
	defer point.Close()
	typ := m.Type
	if typ == "bind" {
		typ = ""
		flags |= unix.MS_BIND
	}
	// A read-only bind needs a remount: the first mount(2) ignores MS_RDONLY with MS_BIND.
	first := flags
	if flags&unix.MS_BIND != 0 {
		first &^= unix.MS_RDONLY
	}
	if err := unix.Mount(m.Source, fdPath(point), typ, first, data); err != nil {
		return err
	}
	remount := flags&unix.MS_BIND != 0 && flags&unix.MS_RDONLY != 0
	if !remount && len(propagation) == 0 {
		return nil
	}
	// The handle still holds the directory under the new mount: open the mount itself.
	mnt, err := openInRoot(root, target)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if remount {
		if err := unix.Mount("", fdPath(mnt), "", flags|unix.MS_REMOUNT, ""); err != nil {
			return fmt.Errorf("remount read-only: %w", err)
		}
	}
	for _, p := range propagation {
		if err := unix.Mount("", fdPath(mnt), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	return nil
}

// waitForDevice waits until a device node exists: drivers probe devices asynchronously, so a
// disk may appear a moment after its module was loaded.
func waitForDevice(path string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// linkPlan is how PID 1 makes an interface of runtime.json, by LinuxKit's rules: a peer
// without add makes a veth pair; a veth pair, an existing link and a link with createInRoot
// are made (or found) in PID 1's network namespace and then moved into the container's;
// other new links are created directly in the container's namespace.
type linkPlan struct {
	add    string // link type to create; "" takes the existing link called name
	inRoot bool   // create or find in PID 1's namespace, then move
}

func planInterface(iface *bundle.Interface) (linkPlan, error) {
	p := linkPlan{add: iface.Add}
	if iface.Peer != "" && p.add == "" {
		p.add = "veth"
	}
	switch {
	case iface.Name == "":
		return p, errors.New("interface needs a name")
	case p.add == "veth" && iface.Peer == "":
		return p, errors.New("veth needs a peer name")
	case iface.Peer != "" && p.add != "veth":
		return p, fmt.Errorf("peer is only for veth interfaces, not %q", p.add)
	}
	p.inRoot = p.add == "" || p.add == "veth" || iface.CreateInRoot
	return p, nil
}

// doInterface makes the interface as planInterface says in the network namespace of pid.
// For a veth pair the peer stays in PID 1's namespace.
func doInterface(iface *bundle.Interface, pid int) error {
	p, err := planInterface(iface)
	if err != nil {
		return err
	}
	la := netlink.NewLinkAttrs()
	la.Name = iface.Name
	if !p.inRoot {
		la.Namespace = netlink.NsPid(pid)
	}
	var link netlink.Link
	switch p.add {
	case "":
		l, err := netlink.LinkByName(iface.Name)
		if err != nil {
			return fmt.Errorf("find %s: %w", iface.Name, err)
		}
		link = l
	case "veth":
		link = &netlink.Veth{LinkAttrs: la, PeerName: iface.Peer}
		if err := netlink.LinkAdd(link); err != nil {
			return fmt.Errorf("add veth %s/%s: %w", iface.Name, iface.Peer, err)
		}
	default:
		link = &netlink.GenericLink{LinkAttrs: la, LinkType: p.add}
		if err := netlink.LinkAdd(link); err != nil {
			return fmt.Errorf("add %s %s: %w", p.add, iface.Name, err)
		}
	}
	if !p.inRoot {
		return nil
	}
	if err := netlink.LinkSetNsPid(link, pid); err != nil {
		return fmt.Errorf("move %s into the namespace of pid %d: %w", iface.Name, pid, err)
	}
	return nil
}

// bindNamespace bind-mounts /proc/PID/ns/TYPE on path inside root so the namespace outlives
// the process.
func bindNamespace(pid int, typ, root, path string) error {
	f, err := createInRoot(root, path, 0o444)
	if err != nil {
		return err
	}
	defer f.Close()
	src := fmt.Sprintf("/proc/%d/ns/%s", pid, typ)
	return unix.Mount(src, fdPath(f), "", unix.MS_BIND, "")
}
