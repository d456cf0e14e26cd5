#!/bin/sh
# Builds what the e2e guests boot: a Debian cloud kernel (downloaded with apt-get download and
# unpacked, never installed) and a tiny busybox initramfs whose /init reports the kernel command
# line and fetches its cloud config. Everything lands in $E2E_CACHE (default .cache/e2e), and a
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

build_initramfs() {
	if [ -f "$cache/initramfs.gz" ] && [ "$cache/initramfs.gz" -nt "$cache/modules/.complete" ] &&
		[ "$cache/initramfs.gz" -nt "$here/guest-init" ] && [ "$cache/initramfs.gz" -nt "$here/udhcpc-script" ]; then
		return
	fi
	root="$cache/initramfs-root"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/usr/share/udhcpc"
	cp /bin/busybox "$root/bin/busybox"
	for applet in sh mount cat echo insmod ip udhcpc wget timeout poweroff tr; do
		ln -s busybox "$root/bin/$applet"
	done
	cp -r "$cache/modules" "$root/modules"
	rm -f "$root/modules/.complete"
	cp "$here/guest-init" "$root/init"
	cp "$here/udhcpc-script" "$root/usr/share/udhcpc/default.script"
	chmod 755 "$root/init" "$root/usr/share/udhcpc/default.script"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) >"$cache/initramfs.gz.tmp"
	mv "$cache/initramfs.gz.tmp" "$cache/initramfs.gz"
	rm -rf "$root"
}

fetch_kernel
build_initramfs
echo "e2e: kernel $cache/vmlinuz ($(wc -c <"$cache/vmlinuz") bytes), initramfs $cache/initramfs.gz ($(wc -c <"$cache/initramfs.gz") bytes)"
