package integration

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/keel-os/keel/rootfs/image"
)

// TestCtrImportsAndRunsAnImageWithKeelsContainerdPlugins checks, on the example machine, that
// the containerd plugins Keel keeps (init/plugins.go) are all that a user's ctr needs: every
// plugin loads, an image archive imports (content, images, leases, GC), and ctr run unpacks it
// onto overlayfs (walking differ, snapshotter) and runs it as a task through the runc shim.
func TestCtrImportsAndRunsAnImageWithKeelsContainerdPlugins(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	cache, err := image.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	store, err := image.OpenStore(filepath.Join(cache, "store"))
	if err != nil {
		t.Fatal(err)
	}
	busybox, err := store.Image("keel/getty:dev", "amd64") // busybox and getty
	if err != nil {
		t.Fatal(err)
	}
	// The archive is the guest's virtio disk: ctr reads it from /dev/vda.
	disk := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(disk, name.MustParseReference("keel.test/busybox:1"), busybox); err != nil {
		t.Fatal(err)
	}
	img := buildImage(t, "examples/keel.yml", dir)
	shellSession(t, []string{"--disk", "file=" + disk}, img, []step{
		{"", "Welcome to Keel"},
		{"echo PLUGIN-ERRORS-$(ctr plugins ls | grep -cw error)", "PLUGIN-ERRORS-0"},
		{"ctr -n test images import /dev/vda && echo IMPORTED-$((40+2))", "IMPORTED-42"},
		// ctr run hands its stdin to the task: give it none, so the next step's typing
		// reaches the shell.
		{"ctr -n test run --rm keel.test/busybox:1 t1 /bin/busybox echo RAN-$((40+2)) </dev/null", "RAN-42"},
		{"echo RUN-STATUS-$? TASKS-$(ctr -n test tasks ls -q | wc -l)", "RUN-STATUS-0 TASKS-0"},
		{"poweroff", "keel: power off"},
	})
}
