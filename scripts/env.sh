# shellcheck shell=bash
# The one place that names the toolchain, the pinned versions and the cache.
#
# Sourced by every script; `scripts/env.sh --make-vars` prints the variables every kernel
# `make` must get (the rustup rustc first on PATH cannot build kernel code).

MSHV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Heavy builds live outside the repo, keyed by their inputs.
MSHV_CACHE=${MSHV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mshv-rs}

# Debian's rustc-web (bookworm-security) and the clang of the same LLVM major.
MSHV_RUST_VERSION=1.96.0
MSHV_LLVM_SUFFIX=-22
MSHV_BINDGEN_VERSION=0.73.2
MSHV_BINDGEN_ROOT=$MSHV_CACHE/bindgen-$MSHV_BINDGEN_VERSION

# The test kernel: Debian's linux-source package of this series, from this suite.
MSHV_KERNEL_SERIES=${MSHV_KERNEL_SERIES:-7.3}
MSHV_KERNEL_SUITE=${MSHV_KERNEL_SUITE:-trixie-backports}

RUSTC=/usr/bin/rustc
HOSTRUSTC=/usr/bin/rustc
RUSTDOC=/usr/bin/rustdoc
RUSTFMT=/usr/bin/rustfmt
CLIPPY_DRIVER=/usr/bin/clippy-driver
BINDGEN=$MSHV_BINDGEN_ROOT/bin/bindgen
RUST_LIB_SRC=/usr/src/rustc-$MSHV_RUST_VERSION/library
LLVM=$MSHV_LLVM_SUFFIX
# bindgen loads libclang at run time: make it the LLVM the kernel is built with.
LIBCLANG_PATH=/usr/lib/llvm${MSHV_LLVM_SUFFIX}/lib
export LIBCLANG_PATH

MSHV_MAKE_VARS=(
	"LLVM=$LLVM"
	"RUSTC=$RUSTC"
	"HOSTRUSTC=$HOSTRUSTC"
	"RUSTDOC=$RUSTDOC"
	"CLIPPY_DRIVER=$CLIPPY_DRIVER"
	"BINDGEN=$BINDGEN"
	"RUST_LIB_SRC=$RUST_LIB_SRC"
)

if [ "${1:-}" = "--make-vars" ]; then
	printf '%s ' "${MSHV_MAKE_VARS[@]}"
	echo
fi
