package integration

import "testing"

// TestServicesStartWithoutWaitingForTheRandomPool boots with no entropy source: no virtio-rng,
// and the kernel trusts neither the CPU's RNG nor the boot loader's seed, so its random pool
// stays uninitialised for minutes unless a getrandom(2) blocks on it. The first service finds
// it still uninitialised, so neither PID 1 nor containerd nor the shim waited for it.
func TestServicesStartWithoutWaitingForTheRandomPool(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "integration/testdata/entropy.yml", t.TempDir())
	console, err := boot(t, image, "--rng=false")
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	mustContain(t, console, `keel: service pool started`, `CHECK random-pool ok unready`, poweredOff)
}
