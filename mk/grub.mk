# GRUB area (issue 10, /grub): grub-common's grub-script-check parses every grub.cfg the tests
# compile; grub-efi-amd64-bin has the x86_64-efi modules (http, efinet, tftp) that the UEFI
# e2e case builds its netboot image from with grub-mkimage. Included by the Makefile;
# `make ci-deps` runs grub-deps as root.

.PHONY: grub-deps

CI_DEPS += grub-deps

grub-deps:
	@if command -v grub-script-check >/dev/null 2>&1 && [ -d /usr/lib/grub/x86_64-efi ]; then echo "grub-deps: grub-common and grub-efi-amd64-bin already installed"; exit 0; fi; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends grub-common grub-efi-amd64-bin
