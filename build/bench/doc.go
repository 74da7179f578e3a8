// Package bench is the boot benchmark behind `keel bench` and `make bench`: a measuring tool
// that uses the build path (build/spec, build/assemble, build/qemu) as `keel build` and
// `keel run` do; nothing on that path imports it.
//
// It builds an image description (examples/keel.yml) with `quiet` on its kernel command line,
// and a floor image: the same kernel with an initramfs whose /init (build/bench/floor) only
// prints its uptime and powers off. It boots the two alternately under QEMU. PID 1 has no
// benchmark mode: once it prints "keel: boot complete", the benchmark types keel-ctl
// commands at the shell on the guest's serial console (`keel-ctl poweroff --timeline`, and in
// one more boot `keel-ctl restart` and `keel-ctl memory`), so the image booted is the one the
// YAML describes. It reads the timeline PID 1 prints just before reboot(2) (see Timeline) and
// reports medians and extremes of each boot stage, PID 1's and containerd's memory, the
// image's size broken down by part, and how long `keel build` takes with a cold and a warm
// cache. Last it searches, by bisection over the guest's memory, the smallest -m with which
// each layout (initramfs, squashfs) boots and stays up (Options.MinMem). Run writes
// bench.json, bench.md and a boot chart, timeline.svg.
//
// All times from the guest are seconds of CLOCK_BOOTTIME: the kernel starts at 0, so the
// floor's uptime is what the kernel alone costs and every later stage is PID 1's doing.
package bench
