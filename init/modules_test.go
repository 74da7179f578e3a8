package main

import (
	"os"
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

func TestAModuleCanLoadWhenShippedOrAlreadyInTheKernel(t *testing.T) {
	k := testKmod(t)
	for _, c := range []struct {
		k    *kmod
		name string
		want bool
	}{
		{k, "fs-ext4", true},          // shipped, by alias
		{k, "crc32c-intel", true},     // shipped, by name with '-'
		{k, "bpf_preload", false},     // not shipped
		{nil, "fs-ext4", false},       // a kernel that ships no modules
		{nil, "sysfs-no-such", false}, // nor has it built in
	} {
		if got := c.k.canLoad(c.name); got != c.want {
			t.Errorf("canLoad(%s) with modules %v = %v, want %v", c.name, c.k != nil, got, c.want)
		}
	}
	// Every Linux has some module built in, with a directory in /sys/module: that counts
	// as loadable whatever ships.
	if ents, err := os.ReadDir("/sys/module"); err == nil && len(ents) > 0 {
		if name := ents[0].Name(); !(*kmod)(nil).canLoad(name) {
			t.Errorf("canLoad(%s), which /sys/module lists, = false", name)
		}
	}
}

func TestModprobeWithoutAModuleIsAUsageError(t *testing.T) {
	for _, args := range [][]string{nil, {"-q"}, {"-q", "--"}} {
		if code := modprobe(args); code != 2 {
			t.Errorf("modprobe %q: exit %d, want 2", args, code)
		}
	}
}
