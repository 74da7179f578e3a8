package integration

import "testing"

// TestConfinementDefaults boots a container with every capability and a service with none:
// the first keeps no masked or read-only paths, seccomp or noNewPrivileges and may open a
// root-owned sysfs file for writing; the second cannot write /proc/sys/kernel/core_pattern,
// /proc/sysrq-trigger or that sysfs file (/sys is read-only), sees /proc/interrupts masked
// and has keyctl(2) refused by containerd's seccomp profile.
func TestConfinementDefaults(t *testing.T) {
	needGuest(t)
	image := buildImage(t, "integration/testdata/confine.yml", t.TempDir())
	console, err := boot(t, image)
	if err != nil {
		t.Fatalf("keel run qemu: %v", err)
	}
	t.Run("PrivilegedContainerIsUnconfined", func(t *testing.T) {
		mustContain(t, console,
			`CHECK privileged-status ok seccomp=0 nnp=0`,
			`CHECK privileged-seccomp ok`,
			`CHECK privileged-readonly /proc/sys/kernel/core_pattern ok`,
			`CHECK privileged-sysfs /sys/\S+ ok open for writing: <nil>`,
			`CHECK privileged-masked ok`)
	})
	t.Run("ServiceWithoutCapabilitiesIsConfined", func(t *testing.T) {
		mustContain(t, console,
			`CHECK confined-status ok seccomp=2 nnp=1`,
			`CHECK confined-seccomp ok keyctl: operation not permitted`,
			`CHECK confined-readonly /proc/sys/kernel/core_pattern ok write: .*read-only file system`,
			`CHECK confined-readonly /proc/sysrq-trigger ok write: .*read-only file system`,
			`CHECK confined-sysfs /sys/\S+ ok open for writing: .*read-only file system`,
			`CHECK confined-masked ok /proc/interrupts: Dc`)
	})
	t.Run("PowersOff", func(t *testing.T) {
		mustContain(t, console, `(?m)^keel: power off\r?$`)
	})
}
