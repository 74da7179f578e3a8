package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/onboot/internal/disk"
	"golang.org/x/sys/unix"
)

func TestParseTakesLinuxKitsForms(t *testing.T) {
	for _, c := range []struct {
		args []string
		want options
	}{
		{[]string{"-label", "data", "/var/lib/docker"}, options{label: "data", target: "/var/lib/docker"}},
		{[]string{"/dev/sda1", "/var/lib"}, options{device: "/dev/sda1", target: "/var/lib"}},
		{[]string{"-device", "/dev/sda1", "/var/lib/"}, options{device: "/dev/sda1", target: "/var/lib"}},
		{[]string{"-uuid", "0f3c", "/var/x"}, options{uuid: "0f3c", target: "/var/x"}},
		{[]string{"LABEL=data", "/var/x"}, options{label: "data", target: "/var/x"}},
		{[]string{"UUID=0f3c", "/var/x"}, options{uuid: "0f3c", target: "/var/x"}},
		{[]string{"/var/x"}, options{target: "/var/x"}},
	} {
		got, err := parse(c.args, &bytes.Buffer{})
		if err != nil || got != c.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
	for _, args := range [][]string{{}, {"a", "b", "c"}, {"-label", "x", "-uuid", "y", "/var/x"}, {"-device", "/dev/a", "/dev/b", "/var/x"}, {"/dev/a", "var/x"}} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) succeeded", args)
		}
	}
}

// machine is a fake sysfs and /dev whose devices are image files: vda (blank), its
// partition vda1 and vdb1 of vdb, each an ext4 filesystem with a label.
type machine struct {
	sys   disk.Sys
	calls []string
	out   bytes.Buffer
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Skip("no mke2fs")
	}
	root := t.TempDir()
	m := &machine{sys: disk.Sys{Block: filepath.Join(root, "block"), Class: filepath.Join(root, "class"), Dev: filepath.Join(root, "dev")}}
	for _, d := range []string{"block/vda/vda1", "block/vdb/vdb1", "class/vda", "class/vda1", "class/vdb", "class/vdb1", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"vda/vda1", "vdb/vdb1"} {
		if err := os.WriteFile(filepath.Join(m.sys.Block, p, "partition"), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, label := range map[string]string{"vda": "", "vdb": "", "vda1": "first", "vdb1": "data"} {
		p := filepath.Join(m.sys.Dev, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 8<<20); err != nil {
			t.Fatal(err)
		}
		if label != "" {
			if err := disk.Run("mke2fs", "-q", "-F", "-t", "ext4", "-L", label, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	return m
}

func (m *machine) mounter(t *testing.T) *mounter {
	info := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(info, []byte("22 1 0:21 / / rw,relatime shared:1 - tmpfs tmpfs rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &mounter{sys: m.sys, out: &m.out, mountinfo: info, wait: 100 * time.Millisecond,
		fsck: func(dev string, force bool) error {
			m.calls = append(m.calls, "fsck "+filepath.Base(dev))
			return nil
		},
		mount: func(dev, target, fstype string) error {
			m.calls = append(m.calls, "mount "+filepath.Base(dev)+" "+filepath.Base(target)+" "+fstype)
			return nil
		}}
}

func TestMountFindsTheFilesystemByLabelOrUUIDAndCreatesTheMountPoint(t *testing.T) {
	m := newMachine(t)
	target := filepath.Join(t.TempDir(), "var", "lib", "data")
	if code := m.mounter(t).run([]string{"-label", "data", target}); code != 0 {
		t.Fatalf("mount = %d\n%s", code, m.out.String())
	}
	want := []string{"mount vdb1 data ext4"}
	if _, err := exec.LookPath("e2fsck"); err == nil {
		want = []string{"fsck vdb1", "mount vdb1 data ext4"}
	}
	if !reflect.DeepEqual(m.calls, want) {
		t.Errorf("calls = %q, want %q", m.calls, want)
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		t.Errorf("mount point not created: %v", err)
	}
	fs, _, err := readFS(filepath.Join(m.sys.Dev, "vda1"))
	if err != nil {
		t.Fatal(err)
	}
	m.calls = nil
	if code := m.mounter(t).run([]string{"UUID=" + strings.ToUpper(fs.UUID), target}); code != 0 {
		t.Fatalf("mount by uuid = %d\n%s", code, m.out.String())
	}
	if got := m.calls[len(m.calls)-1]; got != "mount vda1 data ext4" {
		t.Errorf("mounted %q, want vda1", got)
	}
}

func TestMountOfAMissingLabelFailsAfterWaiting(t *testing.T) {
	m := newMachine(t)
	start := time.Now()
	code := m.mounter(t).run([]string{"-label", "nope", "/var/x"})
	if code != 1 || !strings.Contains(m.out.String(), "no filesystem labelled nope") || len(m.calls) != 0 {
		t.Errorf("mount = %d, calls %q\n%s", code, m.calls, m.out.String())
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("gave up without waiting for the label to appear")
	}
}

func TestMountWithoutADeviceTakesTheFirstPartitionWithAFilesystem(t *testing.T) {
	m := newMachine(t)
	if code := m.mounter(t).run([]string{filepath.Join(t.TempDir(), "x")}); code != 0 {
		t.Fatalf("mount = %d\n%s", code, m.out.String())
	}
	if got := m.calls[len(m.calls)-1]; got != "mount vda1 x ext4" {
		t.Errorf("mounted %q, want vda1", got)
	}
}

func TestMountRefusesADeviceWithoutAFilesystem(t *testing.T) {
	m := newMachine(t)
	code := m.mounter(t).run([]string{filepath.Join(m.sys.Dev, "vda"), "/var/x"})
	if code != 1 || !strings.Contains(m.out.String(), "holds no ext4, xfs or btrfs filesystem") {
		t.Errorf("mount = %d\n%s", code, m.out.String())
	}
}

func TestReadMountinfoUnescapesMountPoints(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mountinfo")
	data := "36 35 98:0 /mnt1 /var/lib/my\\040data rw,noatime master:1 - ext4 /dev/vda1 rw\n40 22 254:1 / /var/lib rw shared:5 - ext4 /dev/vdb1 rw\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readMountinfo(p)
	want := []mountEntry{{"98:0", "/var/lib/my data"}, {"254:1", "/var/lib"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("readMountinfo = %+v, %v; want %+v", got, err, want)
	}
}

// TestMountSharesTheMount mounts an ext4 loop device for real (root only) and checks the
// mount is shared, so that mounts under it propagate.
func TestMountSharesTheMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("no losetup")
	}
	img := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if err := disk.Run("mke2fs", "-q", "-F", "-t", "ext4", "-L", "shared", img); err != nil {
		t.Skip(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", dev).Run() })
	target := filepath.Join(t.TempDir(), "mnt")
	var log bytes.Buffer
	m := mounter{sys: disk.Host, out: &log, mountinfo: "/proc/self/mountinfo", wait: time.Second, fsck: disk.Fsck, mount: mountShared}
	if code := m.run([]string{dev, target}); code != 0 {
		t.Fatalf("mount = %d\n%s", code, log.String())
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(info), "\n") {
		if f := strings.Fields(line); len(f) > 6 && f[4] == target {
			found = true
			if !strings.Contains(line, " shared:") {
				t.Errorf("mount is not shared: %s", line)
			}
		}
	}
	if !found {
		t.Fatalf("%s is not in the mount table", target)
	}
	// a second run finds it mounted and does nothing
	log.Reset()
	if code := m.run([]string{dev, target}); code != 0 || !strings.Contains(log.String(), "already mounted") {
		t.Errorf("second mount = %d\n%s", code, log.String())
	}
}
