package integration

import "testing"

// TestLinuxKitYAMLKeelUsedToRefuse boots an image whose YAML uses what LinuxKit allows and
// Keel once refused: onboot entries sharing a name, relative mount destinations, and a veth
// pair made from peer without add.
func TestLinuxKitYAMLKeelUsedToRefuse(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "integration/testdata/compat.yml", t.TempDir())
	console, err := boot(t, image)
	t.Run("PoweroffEndsQEMUWithStatus0", func(t *testing.T) {
		if err != nil {
			t.Fatalf("keel run qemu: %v", err)
		}
		mustContain(t, console, poweredOff)
	})
	t.Run("OnbootEntriesSharingANameRunInOrderEachInItsOwnBundleAndLog", func(t *testing.T) {
		inOrder(t, console,
			"onboot twice ran first", "keel: onboot 000-twice done",
			"onboot twice ran second", "keel: onboot 001-twice done")
		mustContain(t, console, `(?m)^000-twice\.log\r?$`, `(?m)^001-twice\.log\r?$`)
	})
	t.Run("RelativeMountDestinationsAreInsideTheContainer", func(t *testing.T) {
		mustContain(t, console,
			`CHECK runtime-relative ok path=/mnt/scratch types=tmpfs`,
			`CHECK oci-relative ok path=/tmp/rel types=tmpfs`,
			`keel: onboot 002-relmount done`)
	})
	t.Run("PeerWithoutAddMakesAVethPair", func(t *testing.T) {
		// The container gets keelc1; the peer stays in the machine's namespace.
		mustContain(t, console, `ifaces: keelc1 lo`, `keel: onboot 003-veth done`, `host ifaces: .*keelh1`)
	})
}
