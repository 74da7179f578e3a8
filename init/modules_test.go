package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testDep = `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/jbd2/jbd2.ko:
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/arch/x86/crypto/crc32c-intel.ko:
`

const testAlias = `alias fs-ext4 ext4
alias virtio:d00000002v* virtio_blk
alias crypto-crc32c crc32c-intel
`

func testKmod(t *testing.T) *kmod {
	t.Helper()
	k, err := parseModulesDep(strings.NewReader(testDep))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.parseAliases(strings.NewReader(testAlias)); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestModulesLoadAfterTheirDependencies(t *testing.T) {
	k := testKmod(t)
	got := k.loadOrder(k.resolve("ext4")[0], k.resolve("virtio_blk")[0])
	want := []string{
		"kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko", "kernel/fs/ext4/ext4.ko",
		"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestModulesResolveByNameAliasAndDeviceModalias(t *testing.T) {
	k := testKmod(t)
	for name, want := range map[string]string{
		"ext4":                      "kernel/fs/ext4/ext4.ko",
		"fs-ext4":                   "kernel/fs/ext4/ext4.ko",
		"crc32c_intel":              "kernel/arch/x86/crypto/crc32c-intel.ko",
		"crypto-crc32c":             "kernel/arch/x86/crypto/crc32c-intel.ko",
		"virtio:d00000002v00001AF4": "kernel/drivers/block/virtio_blk.ko",
	} {
		got := k.resolve(name)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: got %v want %s", name, got, want)
		}
	}
	if got := k.resolve("virtio:d00000001v00001AF4"); len(got) != 0 {
		t.Errorf("a device without a shipped driver resolved to %v", got)
	}
}

func TestModprobeIsSymlinkedInSbinOrElseUnderRunAndNamedToTheKernel(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "init")
	if err := os.WriteFile(exe, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	sysctl := filepath.Join(dir, "modprobe-path")
	if err := os.WriteFile(sysctl, []byte("/sbin/modprobe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sbin, run := filepath.Join(dir, "sbin"), filepath.Join(dir, "run")
	for _, d := range []string{sbin, run} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	same := func(a, b string) bool {
		x, err1 := os.Stat(a)
		y, err2 := os.Stat(b)
		return err1 == nil && err2 == nil && os.SameFile(x, y)
	}

	// A writable root: a symlink (a hard link would copy the binary up on an overlay
	// root), and the kernel's path left as it is.
	if err := linkModprobe(exe, filepath.Join(sbin, "modprobe"), filepath.Join(run, "modprobe"), sysctl); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(sbin, "modprobe")); err != nil || target != exe {
		t.Errorf("sbin/modprobe -> %q, %v; want a symlink to %s", target, err, exe)
	}
	if got, _ := os.ReadFile(sysctl); string(got) != "/sbin/modprobe\n" {
		t.Errorf("the kernel's modprobe path became %q although /sbin/modprobe could be made", got)
	}
	// Called again, or with a modprobe the image brought, it keeps what is there.
	if err := linkModprobe(filepath.Join(dir, "other"), filepath.Join(sbin, "modprobe"), filepath.Join(run, "modprobe"), sysctl); err != nil || !same(exe, filepath.Join(sbin, "modprobe")) {
		t.Errorf("an existing modprobe was replaced: %v", err)
	}

	// No /sbin to link in (as on a read-only root): a symlink under run, named to the kernel.
	missing := filepath.Join(dir, "no-sbin", "modprobe")
	if err := linkModprobe(exe, missing, filepath.Join(run, "modprobe2"), sysctl); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(run, "modprobe2")); err != nil || target != exe {
		t.Errorf("run/modprobe2 -> %q, %v; want %s", target, err, exe)
	}
	if got, _ := os.ReadFile(sysctl); string(got) != filepath.Join(run, "modprobe2")+"\n" {
		t.Errorf("kernel's modprobe path = %q", got)
	}
	// Neither works: the error names both.
	err := linkModprobe(exe, missing, filepath.Join(dir, "no-run", "modprobe"), sysctl)
	if err == nil || !strings.Contains(err.Error(), "no-sbin") || !strings.Contains(err.Error(), "no-run") {
		t.Errorf("err = %v, want one naming both paths", err)
	}
}

func TestModprobeWithoutAModuleIsAUsageError(t *testing.T) {
	for _, args := range [][]string{nil, {"-q"}, {"-q", "--"}} {
		if code := modprobe(args); code != 2 {
			t.Errorf("modprobe %q: exit %d, want 2", args, code)
		}
	}
}
