package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// storagePackages are the storage packages the storage image needs beyond the common ones.
var storagePackages = []string{"onboot/format", "onboot/mount", "onboot/extend", "onboot/swap", "onboot/dm-crypt"}

var (
	storageOnce sync.Once
	storageErr  error
)

// buildStoragePackages builds the storage packages for amd64 once.
func buildStoragePackages(t *testing.T) {
	t.Helper()
	storageOnce.Do(func() {
		args := append([]string{"pkg", "build", "--arch", "amd64"}, storagePackages...)
		if out, err := command(repo, keelBin, args...); err != nil {
			storageErr = err
			t.Logf("keel pkg build: %s", out)
		}
	})
	if storageErr != nil {
		t.Fatalf("keel pkg build %v: %v", storagePackages, storageErr)
	}
}

// TestStorage boots the storage image twice with four disks: data, scratch and secret blank,
// keep holding ext4. Boot 1 makes secret a LUKS2 volume, formats data and scratch (not keep),
// mounts them by label and the opened volume by device, turns on a swap file and writes
// markers on data (from a service) and in the volume; between boots data is enlarged with
// qemu-img resize; boot 2 grows its partition and filesystem, formats nothing, opens the
// volume and finds both markers and the swap file again. keep is byte for byte what it was.
func TestStorage(t *testing.T) {
	needGuest(t)
	buildStoragePackages(t)
	dir := t.TempDir()
	image := buildImage(t, "integration/testdata/storage.yml", dir)
	data, scratch, keep, secret := filepath.Join(dir, "data.img"), filepath.Join(dir, "scratch.img"), filepath.Join(dir, "keep.img"), filepath.Join(dir, "secret.img")
	if out, err := exec.Command("truncate", "-s", "64M", keep).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "keep", keep).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	keepBefore, err := os.ReadFile(keep)
	if err != nil {
		t.Fatal(err)
	}
	disks := []string{"--disk", "file=" + data + ",size=256M", "--disk", "file=" + scratch + ",size=128M", "--disk", "file=" + keep,
		"--disk", "file=" + secret + ",size=64M"}

	console, err := boot(t, image, disks...)
	if err != nil {
		t.Fatalf("boot 1: keel run qemu: %v", err)
	}
	t.Run("FormatPartitionsAndFormatsTheTwoBlankDisks", func(t *testing.T) {
		mustContain(t, console,
			`format: /dev/vda: gpt partition table, ext4 labelled data on /dev/vda1`,
			`format: /dev/vdb: gpt partition table, ext4 labelled scratch on /dev/vdb1`,
			`format: /dev/vda holds a gpt: skipped`) // the second format, -verbose, passes over data
	})
	t.Run("ADiskWithAFilesystemIsLeftUntouchedWithoutForce", func(t *testing.T) {
		mustContain(t, console, `format: /dev/vdc holds a ext4: left untouched`)
	})
	t.Run("MountMountsBothByLabel", func(t *testing.T) {
		mustContain(t, console,
			`mount: /dev/vda1 \(ext4 labelled data\) mounted at /var/lib/data`,
			`mount: /dev/vdb1 \(ext4 labelled scratch\) mounted at /var/lib/scratch`,
			`CHECK data-mounted ok`, `CHECK scratch-mounted ok`)
	})
	t.Run("ASwapFileIsInProcSwaps", func(t *testing.T) {
		mustContain(t, console, `swap: /var/lib/scratch/swapfile on \(32 MiB\)`, `CHECK swap-active ok`)
	})
	t.Run("AServiceWritesOnTheMountedDisk", func(t *testing.T) {
		mustContain(t, console, `storage: wrote marker boot-1`, poweredOff)
	})
	t.Run("DmCryptMakesABlankDiskALUKSVolume", func(t *testing.T) {
		mustContain(t, console, `dm-crypt: /dev/vdd: new LUKS2 volume`, `dm-crypt: /dev/mapper/secret: new ext4`,
			`dm-crypt: /dev/vdd opened as /dev/mapper/secret`,
			`mount: /dev/mapper/secret \(ext4 labelled secret\) mounted at /var/lib/secret`,
			`storage: wrote secret marker secret-1`)
	})
	size1 := dataSize(t, console)

	if out, err := exec.Command("qemu-img", "resize", "-f", "raw", data, "384M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img resize: %v %s", err, out)
	}
	console2, err := boot(t, image, disks...)
	if err != nil {
		t.Fatalf("boot 2: keel run qemu: %v", err)
	}
	t.Run("Boot2FormatsNothing", func(t *testing.T) {
		mustContain(t, console2, `format: no blank disk`, `format: /dev/vdc holds a ext4: left untouched`)
		if regexp.MustCompile(`partition table, ext4 labelled`).MatchString(console2) {
			t.Error("boot 2 formatted a disk")
		}
	})
	t.Run("Boot2FindsTheMarker", func(t *testing.T) {
		mustContain(t, console2, `storage: found marker "boot-1"`, `CHECK data-mounted ok`, poweredOff)
	})
	t.Run("ExtendGrowsTheEnlargedDisk", func(t *testing.T) {
		mustContain(t, console2, `extend: /dev/vda: partition 1 grown to 382 MiB`, `extend: /dev/vda: ext4 on partition 1 grown from 254 to 382 MiB`)
		if size2 := dataSize(t, console2); size2 < size1+100<<10 {
			t.Errorf("the filesystem on data is %dK after boot 2, %dK after boot 1", size2, size1)
		}
	})
	t.Run("Boot2OpensTheLUKSVolumeAndFindsItsMarker", func(t *testing.T) {
		mustContain(t, console2, `dm-crypt: /dev/vdd opened as /dev/mapper/secret`, `storage: found secret marker "secret-1"`)
		if regexp.MustCompile(`new LUKS2 volume|/dev/mapper/secret: new ext4`).MatchString(console2) {
			t.Error("boot 2 made the volume again")
		}
	})
	t.Run("Boot2TurnsTheSwapFileOnAgain", func(t *testing.T) {
		mustContain(t, console2, `swap: /var/lib/scratch/swapfile on \(32 MiB\)`, `CHECK swap-active ok`)
	})
	t.Run("KeepIsUnchanged", func(t *testing.T) {
		after, err := os.ReadFile(keep)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, keepBefore) {
			t.Error("the disk holding ext4 changed")
		}
	})
}

// dataSize reads the size in KiB of the data filesystem the marker service printed.
func dataSize(t *testing.T, console string) int {
	t.Helper()
	m := regexp.MustCompile(`storage: data size (\d+)K`).FindStringSubmatch(console)
	if m == nil {
		t.Error("no data size on the console")
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
