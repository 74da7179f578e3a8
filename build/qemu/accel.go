package qemu

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/keel-os/keel/arch"
	"golang.org/x/sys/unix"
)

// AccelEnv names the environment variable that overrides Accel "auto" (kvm or tcg).
const AccelEnv = "KEEL_QEMU_ACCEL"

// KVM ioctls: _IO(KVMIO, 0x00) and _IO(KVMIO, 0x01).
const (
	kvmGetAPIVersion = 0xAE00
	kvmCreateVM      = 0xAE01
	kvmAPIVersion    = 12
)

// ResolveAccel turns accel (auto, kvm or tcg; "" is auto) into the accelerator QEMU gets
// for a guest of arch, following the rules in the package doc.
func ResolveAccel(accel, arch string) (string, error) {
	return resolveAccel(accel, arch, os.Getenv(AccelEnv), KVMUsable)
}

func resolveAccel(accel, arch, env string, kvmUsable func(arch string) error) (string, error) {
	switch accel {
	case "kvm", "tcg":
		return accel, nil
	case "", "auto":
	default:
		return "", fmt.Errorf("qemu: accel %q: want auto, kvm or tcg", accel)
	}
	switch env {
	case "kvm", "tcg":
		return env, nil
	case "", "auto":
	default:
		return "", fmt.Errorf("qemu: %s=%q: want auto, kvm or tcg", AccelEnv, env)
	}
	if kvmUsable(arch) == nil {
		return "kvm", nil
	}
	return "tcg", nil
}

// KVMUsable returns nil if KVM looks usable for a guest of arch, else why not: the guest
// must have the host's arch, /dev/kvm must open read-write and create a VM, and the host
// CPU must advertise hardware virtualisation (vmx or svm on x86, sie on s390x).
func KVMUsable(arch string) error {
	if runtime.GOARCH != arch {
		return fmt.Errorf("kvm: guest arch %s is not the host's %s", arch, runtime.GOARCH)
	}
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("kvm: open /dev/kvm: %w", err)
	}
	defer unix.Close(fd)
	v, err := unix.IoctlRetInt(fd, kvmGetAPIVersion)
	if err != nil {
		return fmt.Errorf("kvm: KVM_GET_API_VERSION: %w", err)
	}
	if v != kvmAPIVersion {
		return fmt.Errorf("kvm: API version %d, want %d", v, kvmAPIVersion)
	}
	vm, err := unix.IoctlRetInt(fd, kvmCreateVM)
	if err != nil {
		return fmt.Errorf("kvm: KVM_CREATE_VM: %w", err)
	}
	unix.Close(vm)
	return cpuVirtFlags(arch)
}

// cpuVirtFlags checks /proc/cpuinfo for the CPU's hardware virtualisation flag. Without it
// /dev/kvm is an emulation that the guest does not survive.
func cpuVirtFlags(archName string) error {
	a, _ := arch.Lookup(archName) // an arch with no flags to look for has nothing to check
	want := a.KVMFlags
	if len(want) == 0 {
		return nil
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return fmt.Errorf("kvm: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if k := strings.TrimSpace(key); k != "flags" && k != "features" {
			continue
		}
		for _, flag := range strings.Fields(val) {
			for _, w := range want {
				if flag == w {
					return nil
				}
			}
		}
		break
	}
	return fmt.Errorf("kvm: /proc/cpuinfo lacks %s: no hardware virtualisation", strings.Join(want, " or "))
}
