#!/usr/bin/env bash
# Installs everything the build and the QEMU test bed need. Idempotent, no prompts.
#
# - Debian packages from the machine's own archive (bookworm, bookworm-security);
# - QEMU from bookworm-backports through a private apt configuration, because bookworm's
#   qemu-system-x86 7.2 would remove the machine's qemu-utils 10.0 (Breaks: << 1:8.0);
# - bindgen-cli, pinned, from crates.io, installed under the cache (never in the repo).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
	"rustc-web" "rust-web-src" "rust-web-clippy" "rustfmt-web"
	"clang$LLVM" "lld$LLVM" "llvm$LLVM" "libclang$LLVM-dev"
	flex bison bc libelf-dev libssl-dev cpio kmod busybox-static
	xz-utils gzip make gcc libc6-dev python3-docutils
)

install_debian_packages() {
	local missing
	missing=$(missing_packages "${APT_PACKAGES[@]}")
	[ -z "$missing" ] && return
	apt_update_once
	log "installing:" $missing
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

install_qemu() {
	command -v qemu-system-x86_64 >/dev/null && return
	log "installing qemu-system-x86 from bookworm-backports (keeps qemu-utils)"
	private_apt bpo bookworm bookworm-updates bookworm-backports -- update -qq
	DEBIAN_FRONTEND=noninteractive private_apt bpo bookworm bookworm-updates \
		bookworm-backports -- install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-x86 qemu-system-data seabios ||
		{
			# Without qemu-utils from backports on the machine, bookworm's QEMU is fine too.
			missing_packages qemu-utils | grep -q . || {
				log "could not install QEMU from bookworm-backports"
				exit 1
			}
			apt_update_once
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				qemu-system-x86
		}
}

install_bindgen() {
	if [ -x "$BINDGEN" ] && "$BINDGEN" --version | grep -q "$MSHV_BINDGEN_VERSION"; then
		return
	fi
	log "installing bindgen-cli $MSHV_BINDGEN_VERSION into $MSHV_BINDGEN_ROOT"
	# The rustup cargo builds host tools fine; only kernel code needs rustc-web.
	cargo install -q --locked --version "$MSHV_BINDGEN_VERSION" \
		--root "$MSHV_BINDGEN_ROOT" bindgen-cli
}

check_toolchain() {
	local v
	v=$("$RUSTC" --version)
	case "$v" in
	"rustc $MSHV_RUST_VERSION "*) ;;
	*)
		log "$RUSTC is '$v', expected $MSHV_RUST_VERSION (rustc-web)"
		exit 1
		;;
	esac
	[ -d "$RUST_LIB_SRC" ] || {
		log "no Rust std source at $RUST_LIB_SRC (rust-web-src)"
		exit 1
	}
}

mkdir -p "$MSHV_CACHE"
install_debian_packages
install_qemu
install_bindgen
check_toolchain
