#!/bin/sh
# Packages Debian's installed kernel as Keel kernel files until the tuned kernels land:
# OUT/kernel (the bzImage) and OUT/kernel.tar (lib/modules/<release>/ with the modules a Keel
# machine needs to boot to services, their dependencies, and a modules.dep for them).
# Usage: debian-kernel.sh OUTDIR [RELEASE]
set -eu
out=$1
release=${2:-$(ls /lib/modules | sort -V | tail -n 1)}
src=/lib/modules/$release
[ -f "/boot/vmlinuz-$release" ] || { echo "debian-kernel: /boot/vmlinuz-$release not found (apt-get install linux-image-amd64)" >&2; exit 1; }
# The modules PID 1 loads at boot: virtio devices, filesystems and container networking.
want="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng virtio_balloon
virtio_scsi sd_mod crc32c_generic crc32c-intel ext4 vfat isofs squashfs overlay fuse veth bridge macvlan vxlan 8021q tun
vsock vmw_vsock_virtio_transport 9p 9pnet_virtio"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dep=$src/modules.dep
# The closure of the wanted modules over modules.dep.
for m in $want; do
  re=$(echo "$m" | sed 's/[-_]/[-_]/g')  # module files name - and _ alike
  grep -E "(^|/)${re}\.ko(\.[a-z]+)?:" "$dep" || true
done | while IFS=: read -r mod deps; do
  echo "$mod"
  for d in $deps; do echo "$d"; done
done | sort -u > "$tmp/list"
mkdir -p "$tmp/root/lib/modules/$release"
while read -r mod; do
  mkdir -p "$tmp/root/lib/modules/$release/$(dirname "$mod")"
  cp "$src/$mod" "$tmp/root/lib/modules/$release/$mod"
done < "$tmp/list"
# modules.dep restricted to what ships, keeping the kernel's dependency order.
awk -F: 'NR == FNR { keep[$0] = 1; next } ($1 in keep)' "$tmp/list" "$dep" > "$tmp/root/lib/modules/$release/modules.dep"
# modules.alias restricted likewise: PID 1 loads modules for the devices present (coldplug) and
# the kernel asks for the rest (fs-ext4, rtnl-link-veth...) through /sbin/modprobe.
sed -e 's|.*/||' -e 's|\.ko.*||' -e 's|-|_|g' "$tmp/list" | sort -u > "$tmp/names"
awk 'NR == FNR { keep[$0] = 1; next } $1 == "alias" && ($3 in keep)' "$tmp/names" "$src/modules.alias" > "$tmp/root/lib/modules/$release/modules.alias"
mkdir -p "$out"
cp "/boot/vmlinuz-$release" "$out/kernel.tmp" && mv "$out/kernel.tmp" "$out/kernel"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/root" -cf "$out/kernel.tar.tmp" lib
mv "$out/kernel.tar.tmp" "$out/kernel.tar"
echo "debian-kernel: $release, $(wc -l < "$tmp/list") modules" >&2
