package integration

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/keel-os/keel/rootfs/image"
)

// TestCtrImportsAndRunsAnImageWithKeelsContainerdPlugins checks, on the example machine, that
// the containerd plugins Keel keeps (init/plugins.go) are all that a user's ctr needs: every
// plugin loads, an image archive imports (content, images, leases, GC), an image is pulled
// from a registry (the transfer service; the registry listens on the host's 127.0.0.1, which
// the guest reaches as QEMU's 10.0.2.2), and ctr run unpacks each onto overlayfs (walking
// differ, snapshotter) and runs it as a task through the runc shim.
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	port := l.Addr().(*net.TCPAddr).Port
	ref, err := name.ParseReference(fmt.Sprintf("127.0.0.1:%d/keel/busybox:2", port))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, busybox); err != nil {
		t.Fatal(err)
	}
	pulled := fmt.Sprintf("10.0.2.2:%d/keel/busybox:2", port)

	img := buildImage(t, "examples/keel.yml", dir)
	shellSession(t, []string{"--disk", "file=" + disk, "--nic", "user"}, img, []step{
		{"", "Welcome to Keel"},
		{"echo PLUGIN-ERRORS-$(ctr plugins ls | grep -cw error)", "PLUGIN-ERRORS-0"},
		{"ctr -n test images import /dev/vda && echo IMPORTED-$((40+2))", "IMPORTED-42"},
		// ctr run hands its stdin to the task: give it none, so the next step's typing
		// reaches the shell.
		{"ctr -n test run --rm keel.test/busybox:1 t1 /bin/busybox echo RAN-$((40+2)) </dev/null", "RAN-42"},
		{"echo RUN-STATUS-$? TASKS-$(ctr -n test tasks ls -q | wc -l)", "RUN-STATUS-0 TASKS-0"},
		// QEMU's user network, configured by hand: the example has no DHCP client.
		{"ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 && echo NET-UP", "NET-UP"},
		{"ctr -n test images pull --plain-http " + pulled + " >/dev/null && echo PULLED-$((40+2))", "PULLED-42"},
		{"ctr -n test run --rm " + pulled + " t2 /bin/busybox echo PULLED-RAN-$((40+2)) </dev/null", "PULLED-RAN-42"},
		{"poweroff", powerOffLine},
	})
}
