// Package bench is the boot benchmark behind `keel bench` and `make bench`.
//
// It builds an image description (examples/keel.yml) with keel.bench=1 on its kernel command
// line, and a floor image: the same kernel with an initramfs whose /init (build/bench/floor)
// only prints its uptime and powers off. It boots the two alternately under QEMU, reads the
// boot timeline Keel's PID 1 prints on the console when keel.bench=1 is set (see Timeline),
// and reports medians and extremes of each boot stage, PID 1's and containerd's memory, the
// image's size broken down by part, and how long `keel build` takes with a cold and a warm
// cache. Run writes bench.json, bench.md and a boot chart, timeline.svg.
//
// All times from the guest are seconds of CLOCK_BOOTTIME: the kernel starts at 0, so the
// floor's uptime is what the kernel alone costs and every later stage is PID 1's doing.
package bench
