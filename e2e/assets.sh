#!/bin/sh
# Builds what the e2e guests boot: a Debian cloud kernel (downloaded with apt-get download and
# unpacked, never installed) and two tiny busybox initramfs images: initramfs.gz, whose /init
# reports the kernel command line and fetches its cloud config, and initramfs-ignition.gz, whose
# /init runs Debian's Ignition binary and lists what it wrote. Everything lands in $E2E_CACHE (default .cache/e2e), and a
# second run reuses it, so CI pays for the download once per machine.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${E2E_CACHE:-$here/../.cache/e2e}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

need() {
	command -v "$1" >/dev/null 2>&1 || { echo "e2e: $1 is missing; run 'make deps-e2e' as root" >&2; exit 1; }
}
need apt-get
need dpkg
need cpio
need gzip
[ -x /bin/busybox ] || { echo "e2e: /bin/busybox is missing (busybox-static); run 'make deps-e2e'" >&2; exit 1; }
[ -x /usr/lib/dracut/modules.d/30ignition/ignition ] || { echo "e2e: the Ignition binary is missing (package ignition); run 'make deps-e2e'" >&2; exit 1; }
need ldd
need systemctl

# Debian builds every NIC driver as a module: the guest needs virtio_net and what it depends on,
# loaded in this order.
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"

# The kernel: the package that linux-image-cloud-amd64 points at today. Only vmlinuz and the
# modules above are kept (uncompressed, numbered in load order); the rest of the package is dropped.
fetch_kernel() {
	if [ -f "$cache/vmlinuz" ] && [ -f "$cache/modules/.complete" ]; then return; fi
	pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || { echo "e2e: cannot resolve linux-image-cloud-amd64 (run apt-get update)" >&2; exit 1; }
	work="$cache/kernel-work"
	rm -rf "$work" "$cache/modules"
	mkdir -p "$work/deb" "$cache/modules"
	# apt-get download runs as root here; its _apt sandbox cannot write into our folder (harmless warning).
	(cd "$work/deb" && apt-get download "$pkg")
	dpkg -x "$work"/deb/linux-image-*.deb "$work/root"
	i=0
	for m in $MODULES; do
		src=$(find "$work/root/lib/modules" -name "$m.ko*" | head -n 1)
		[ -n "$src" ] || { echo "e2e: kernel module $m not found in $pkg" >&2; exit 1; }
		dst="$cache/modules/$i-$m.ko"
		case "$src" in
		*.ko.xz) xz -dc "$src" >"$dst" ;;
		*.ko.zst) zstd -dcq "$src" >"$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$dst" ;;
		*) cp "$src" "$dst" ;;
		esac
		i=$((i + 1))
	done
	cp "$work"/root/boot/vmlinuz-* "$cache/vmlinuz"
	echo "$pkg" >"$cache/modules/.complete"
	rm -rf "$work"
}

# The part both initramfs images share: busybox, the NIC modules, the udhcpc hook, and the
# given /init. Prints nothing; the caller adds its own files under "$root" and packs it.
initramfs_root() {
	root="$cache/initramfs-root"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" "$root/usr/share/udhcpc"
	cp /bin/busybox "$root/bin/busybox"
	for applet in sh mount cat echo insmod ip udhcpc wget timeout poweroff tr $BUSYBOX_EXTRA; do
		ln -s busybox "$root/bin/$applet"
	done
	cp -r "$cache/modules" "$root/modules"
	rm -f "$root/modules/.complete"
	cp "$1" "$root/init"
	cp "$here/udhcpc-script" "$root/usr/share/udhcpc/default.script"
	chmod 755 "$root/init" "$root/usr/share/udhcpc/default.script"
}

# pack NAME: "$root" as the gzipped cpio $cache/NAME.
pack() {
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) >"$cache/$1.tmp"
	mv "$cache/$1.tmp" "$cache/$1"
	rm -rf "$root"
}

# fresh NAME FILE...: $cache/NAME exists and is newer than the kernel modules and every FILE.
fresh() {
	out="$cache/$1"
	shift
	[ -f "$out" ] && [ "$out" -nt "$cache/modules/.complete" ] || return 1
	for f in "$@"; do [ "$out" -nt "$f" ] || return 1; done
}

build_initramfs() {
	fresh initramfs.gz "$here/guest-init" "$here/udhcpc-script" "$here/assets.sh" && return
	BUSYBOX_EXTRA="" initramfs_root "$here/guest-init"
	pack initramfs.gz
}

# binary SRC DST: a dynamically linked program into "$root" at DST, with every shared library
# ldd names (and the loader) at the path ldd gives.
binary() {
	mkdir -p "$root$(dirname "$2")"
	cp "$1" "$root$2"
	for lib in $(ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# The Ignition guest (e2e/ignition.test.ts): Debian's Ignition binary, from the dracut module
# of package `ignition` (it needs libc and libblkid); the real systemctl, which Ignition runs as
# `systemctl --root=/sysroot disable UNIT` for a unit with `enabled: false`; and a setfiles
# stand-in (e2e/ignition-setfiles).
IGNITION=/usr/lib/dracut/modules.d/30ignition/ignition
SYSTEMCTL=$(command -v systemctl || echo /usr/bin/systemctl)
build_ignition_initramfs() {
	fresh initramfs-ignition.gz "$here/ignition-init" "$here/ignition-setfiles" "$here/udhcpc-script" "$here/assets.sh" "$IGNITION" "$SYSTEMCTL" && return
	BUSYBOX_EXTRA="mkdir find sort stat readlink sha256sum cut" initramfs_root "$here/ignition-init"
	binary "$IGNITION" /usr/bin/ignition
	binary "$SYSTEMCTL" /usr/bin/systemctl
	mkdir -p "$root/usr/sbin"
	cp "$here/ignition-setfiles" "$root/usr/sbin/setfiles"
	chmod 755 "$root/usr/sbin/setfiles"
	pack initramfs-ignition.gz
}

fetch_kernel
build_initramfs
build_ignition_initramfs
echo "e2e: kernel $cache/vmlinuz ($(wc -c <"$cache/vmlinuz") bytes), initramfs $cache/initramfs.gz ($(wc -c <"$cache/initramfs.gz") bytes), $cache/initramfs-ignition.gz ($(wc -c <"$cache/initramfs-ignition.gz") bytes)"
