package integration

import "testing"

// TestVolumes boots one image with a volume bound read-write into one onboot container and
// read-only into the next, a readonly volume bound without options, and an oci-format volume:
// the writer's marker reaches the reader, the read-only binds refuse writes and the layout's
// index.json names a manifest it holds. It boots the image from an initramfs and from a
// squashfs root (kernel+squashfs), where what the volumes hold is on a read-only disk.
func TestVolumes(t *testing.T) {
	needGuest(t)
	for _, format := range []string{"kernel+initrd", "kernel+squashfs"} {
		t.Run(format, func(t *testing.T) {
			image := buildImageFor(t, "amd64", "integration/testdata/volumes.yml", t.TempDir(), "--format", format)
			console, err := boot(t, image)
			if err != nil {
				t.Fatalf("keel run qemu: %v", err)
			}
			checkVolumes(t, console)
		})
	}
}

func checkVolumes(t *testing.T, console string) {
	t.Run("AVolumeBoundReadWriteIsWritable", func(t *testing.T) {
		mustContain(t, console, `CHECK volume-rw /shared ok`)
	})
	t.Run("TheSameVolumeBoundReadOnlyElsewhereSeesTheWritesAndRefusesItsOwn", func(t *testing.T) {
		mustContain(t, console, `CHECK volume-shared /shared ok`, `CHECK volume-ro /shared ok write: .*read-only file system`)
	})
	t.Run("AReadonlyVolumeIsReadOnlyWithoutRo", func(t *testing.T) {
		mustContain(t, console, `CHECK volume-ro /seeded ok write: .*read-only file system`)
	})
	t.Run("AnOCIFormatVolumeIsAnImageLayout", func(t *testing.T) {
		mustContain(t, console, `CHECK volume-oci-layout /layout ok`, `CHECK volume-oci-index /layout ok manifests=1`,
			`CHECK volume-oci-manifest /layout ok arch=amd64 sha256:`)
	})
	t.Run("PowersOff", func(t *testing.T) {
		mustContain(t, console, `(?m)^keel: power off\r?$`)
	})
}
