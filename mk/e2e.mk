# End-to-end boots: real iPXE clients in QEMU boot through bootcfg (docs/e2e.md).
# `make e2e` is separate from `make test`; .ci/run calls it after the unit tests.

# dnsmasq-base is the dnsmasq binary without the system service (the network-path cases start
# their own, inside a network namespace); iproute2 builds those namespaces. ignition carries the
# Ignition binary the Ignition guest runs (e2e/ignition-init), from its dracut module directory.
E2E_PACKAGES := qemu-system-x86 ipxe-qemu ipxe ovmf busybox-static cpio nginx dnsmasq-base iproute2 ignition

.PHONY: e2e e2e-assets deps-e2e

# apt-get, as root, on a fresh Debian 12 (CI runs `make ci-deps` first).
deps-e2e:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(E2E_PACKAGES)

CI_DEPS += deps-e2e

# The Debian cloud kernel (downloaded, never installed) and the guest initramfs, under .cache/e2e/.
e2e-assets:
	sh e2e/assets.sh

# E2E_JOBS=N boots N VMs at once (default 2); E2E_KEEP=1 keeps the work folder (serial logs).
e2e: compile e2e-assets
	node --test --test-reporter=spec lib/e2e/
