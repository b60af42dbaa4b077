#!/usr/bin/env bash
# Prints the path of a Rust-enabled test kernel build (the KDIR the module builds against),
# building it first if the cache has none for these inputs.
#
#   scripts/kernel.sh         the debug kernel of the tests (scripts/kernel.config)
#   scripts/kernel.sh bench   the benchmark kernel: the same with scripts/kernel-bench.config
#                             merged over it (no KASAN, lockdep, ...)
#
# Inputs of the cache key: the kernel source (Debian package version, or MSHV_KSRC's version),
# the config fragments, the rustc/clang/bindgen versions and this recipe's version. A warm run
# rebuilds nothing; any changed input builds a new tree beside the old ones.
#
# Overrides:
#   KDIR=<dir>        use this kernel build, build nothing (it must be Rust-enabled, built with
#                     the same rustc as scripts/env.sh names);
#   MSHV_KSRC=<dir>   use this kernel source tree instead of Debian's linux-source package.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RECIPE_VERSION=1
PROFILE=${1:-debug}
FRAGMENTS=("$MSHV_ROOT/scripts/kernel.config")
case "$PROFILE" in
debug) ;;
bench) FRAGMENTS+=("$MSHV_ROOT/scripts/kernel-bench.config") ;;
*)
	log "unknown kernel profile '$PROFILE' (debug or bench)"
	exit 1
	;;
esac
JOBS=${MSHV_JOBS:-$(nproc)}

if [ -n "${KDIR:-}" ]; then
	[ -f "$KDIR/Module.symvers" ] && [ -d "$KDIR/rust" ] || {
		log "KDIR=$KDIR is not a Rust-enabled kernel build (no Module.symvers or rust/)"
		exit 1
	}
	echo "$KDIR"
	exit 0
fi

# Fetches Debian's linux-source-$SERIES with a private apt configuration (the machine's own
# sources are never touched) and prints the extracted source directory.
fetch_debian_source() {
	local pkg=linux-source-$MSHV_KERNEL_SERIES srcroot=$MSHV_CACHE/src version=
	mkdir -p "$srcroot"
	if private_apt "$MSHV_KERNEL_SUITE" "$MSHV_KERNEL_SUITE" -- update -qq >&2; then
		version=$(private_apt "$MSHV_KERNEL_SUITE" "$MSHV_KERNEL_SUITE" -- \
			-qq --print-uris download "$pkg" 2>/dev/null |
			sed -n "s/.* ${pkg}_\([^_]*\)_all\.deb .*/\1/p" | head -n 1)
	fi
	if [ -z "$version" ]; then
		# Offline, or Debian moved on to the next series: a cached tree of this series will do.
		local cached
		cached=$(find "$srcroot" -maxdepth 1 -name "$pkg-*" -type d 2>/dev/null | sort -V | tail -n 1)
		if [ -n "$cached" ] && [ -f "$cached/.mshv-complete" ]; then
			log "$pkg not found in $MSHV_KERNEL_SUITE; using the cached $cached"
			echo "$cached"
			return
		fi
		log "Debian's $MSHV_KERNEL_SUITE does not carry $pkg (any more)."
		log "Do one of:"
		log "  - set MSHV_KERNEL_SERIES (and MSHV_KERNEL_SUITE) to a series Debian carries,"
		log "    e.g. MSHV_KERNEL_SERIES=7.4, and check the module still builds against it;"
		log "  - set MSHV_KSRC=<a Linux $MSHV_KERNEL_SERIES source tree>;"
		log "  - set KDIR=<a Rust-enabled kernel build> to skip the test kernel build."
		exit 1
	fi
	local dir=$srcroot/$pkg-$version
	if [ ! -f "$dir/.mshv-complete" ]; then
		log "downloading $pkg $version"
		rm -rf "$dir" "$dir.deb.d"
		mkdir -p "$dir.deb.d"
		(cd "$dir.deb.d" && private_apt "$MSHV_KERNEL_SUITE" "$MSHV_KERNEL_SUITE" -- \
			-qq download "$pkg=$version" >&2)
		dpkg-deb -x "$dir.deb.d"/*.deb "$dir.deb.d/x"
		mkdir -p "$dir"
		tar -xf "$dir.deb.d/x/usr/src/$pkg.tar.xz" -C "$dir" --strip-components=1
		rm -rf "$dir.deb.d"
		touch "$dir/.mshv-complete"
	fi
	echo "$dir"
}

if [ -n "${MSHV_KSRC:-}" ]; then
	KSRC=$(cd "$MSHV_KSRC" && pwd)
	src_id="ksrc:$KSRC:$(make -s -C "$KSRC" kernelversion)"
else
	KSRC=$(fetch_debian_source)
	src_id="debian:$(basename "$KSRC")"
fi

key=$({
	echo "recipe $RECIPE_VERSION"
	echo "$src_id"
	cat "${FRAGMENTS[@]}"
	"$RUSTC" --version
	"clang$LLVM" --version | head -n 1
	"$BINDGEN" --version
} | sha256sum | cut -c1-16)
KBUILD=$MSHV_CACHE/kernel/$key

if [ -f "$KBUILD/.mshv-complete" ]; then
	# Used now: the pruning below keeps the builds used last.
	touch "$KBUILD/.mshv-complete"
	echo "$KBUILD"
	exit 0
fi

log "building the $PROFILE test kernel in $KBUILD (cold: about 8-10 minutes on 2 cores)"
rm -rf "$KBUILD"
mkdir -p "$KBUILD"
echo "$PROFILE" >"$KBUILD/.mshv-profile"
kmake() { make -s -C "$KSRC" O="$KBUILD" "${MSHV_MAKE_VARS[@]}" "$@"; }

kmake rustavailable >&2
kmake tinyconfig >/dev/null
"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KBUILD" "$KBUILD/.config" "${FRAGMENTS[@]}" \
	>/dev/null
kmake olddefconfig >/dev/null

# Every line of the fragments (the last fragment's, for a symbol in several) must have survived
# olddefconfig (a dependency missing drops it silently: CONFIG_RUST does without a working
# toolchain).
lost=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	sym=$(echo "$line" | sed -E 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1/; s/=.*//')
	have=$(grep -E "^($sym=|# $sym is not set)" "$KBUILD/.config" || true)
	if [ "$have" != "$want" ] && ! { [ -z "$have" ] && [ "${want#\# }" != "$want" ]; }; then
		log "config: wanted '$want', got '${have:-<absent>}'"
		lost=1
	fi
done < <(cat "${FRAGMENTS[@]}" | awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { sym = $0; sub(/=.*/, "", sym) }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { sym = $2 }
	sym != "" { last[sym] = $0; if (!(sym in seen)) { seen[sym] = 1; order[n++] = sym } }
	{ sym = "" }
	END { for (i = 0; i < n; i++) print last[order[i]] }')
[ "$lost" = 0 ] || {
	log "the config fragments did not survive olddefconfig"
	exit 1
}

start=$(date +%s)
kmake -j"$JOBS" >&2
log "kernel built in $(($(date +%s) - start)) s"
touch "$KBUILD/.mshv-complete"

# Keep the two complete builds of each profile used last (a few hundred MB each), never the
# one just built; a build that never completed goes once it is a day old.
for p in debug bench; do
	keep=2
	[ "$p" != "$PROFILE" ] || keep=1
	for d in "$MSHV_CACHE"/kernel/*/; do
		[ -f "$d.mshv-complete" ] || continue
		[ "${d%/}" != "$KBUILD" ] || continue
		[ "$(cat "$d.mshv-profile" 2>/dev/null || echo debug)" = "$p" ] || continue
		printf '%s %s\0' "$(stat -c %Y "$d.mshv-complete")" "${d%/}"
	done | sort -z -rn | tail -z -n +$((keep + 1)) | cut -z -d' ' -f2- | xargs -0 -r rm -rf
done
find "$MSHV_CACHE/kernel" -mindepth 1 -maxdepth 1 -type d -mmin +1440 \
	'!' -exec test -e '{}/.mshv-complete' ';' -exec rm -rf '{}' +

echo "$KBUILD"
