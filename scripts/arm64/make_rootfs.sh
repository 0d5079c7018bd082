#!/usr/bin/env bash
# A Debian bookworm arm64 root file system that stands in for the image's
# runtime stage: debootstrap minbase, then exactly the packages of
# deploy/runtime-packages.txt installed by apt inside it (under qemu-user via
# binfmt), and the image's user and directories. Reused while its marker
# (the hash of the package list) matches. With ARM64_BINFMT=0 (qemu cannot be
# registered), packages' scripts cannot run: the list and its dependencies
# are unpacked instead (no dpkg database, no shell), enough to run the server.
#   make_rootfs.sh ROOTFS RUNTIME_PACKAGES_FILE
set -euo pipefail
root="$1"; list="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binfmt="${ARM64_BINFMT:-1}"
marker="$root/.attnserve-rootfs-complete"
want="$(sha256sum "$list" | cut -d' ' -f1)-binfmt$binfmt"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
  echo "rootfs: reusing $root"
  exit 0
fi

# The host's Debian mirror (deb822 .sources or one-line .list).
mirror="$(grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' |
  grep -v security | head -n1 || true)"
[ -n "$mirror" ] || mirror="$(grep -hE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

mapfile -t pkgs < <(grep -vE '^\s*(#|$)' "$list" | sed 's/\s*#.*//')
if [ "$binfmt" = 0 ]; then
  rm -rf "$root"
  mkdir -p "$root"
  debs="$(dirname "$root")/debs/runtime"
  rm -rf "$debs"
  bash "$here/apt.sh" update
  bash "$here/apt.sh" fetch "$debs" "${pkgs[@]}"
  bash "$here/make_sysroot.sh" "$debs" "$root"
  mkdir -p "$root/var/lib/attnserve" "$root/etc/attnserve" "$root/opt/attnserve/models" \
    "$root/usr/local/bin" "$root/usr/bin" "$root/tmp"
  chown 10001:10001 "$root/var/lib/attnserve"
  chmod 0700 "$root/var/lib/attnserve"
  chmod 1777 "$root/tmp"
  for d in "$debs"/*.deb; do dpkg-deb -f "$d" Package Version Architecture | paste -sd' '; done \
    >"$root/.attnserve-packages"
  echo "$want" >"$marker"
  exit 0
fi
# The base (debootstrap, the image's user and directories) is kept when only
# the list changed: apt then installs what is new (delete ROOTFS to drop some).
if [ ! -f "$root/.attnserve-rootfs-base" ]; then
  rm -rf "$root"
  mkdir -p "$root"
  debootstrap --arch=arm64 --variant=minbase bookworm "$root" "$mirror"
  # As the Dockerfile's runtime stage does.
  chroot "$root" groupadd --system --gid 10001 attnserve
  chroot "$root" useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/attnserve \
    --shell /usr/sbin/nologin attnserve 2>/dev/null
  chroot "$root" install -d -o 10001 -g 10001 -m 0700 /var/lib/attnserve
  chroot "$root" install -d -m 0755 /etc/attnserve /opt/attnserve/models /usr/local/bin
  touch "$root/.attnserve-rootfs-base"
fi

# apt inside the chroot: network names and /proc, unmounted on any exit.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update -q
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${pkgs[@]}"
chroot "$root" apt-get clean
chroot "$root" dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' >"$root/.attnserve-packages"
echo "$want" >"$marker"
