#!/usr/bin/env bash
# The QEMU test bed behind `make check` and `make demo`.
#
#   scripts/testbed.sh check   style gates, both module builds, the tests in a guest; ends with
#                              "N passed, N failed" and exits non-zero on any failure
#   scripts/testbed.sh demo    boots the guest, loads the simulator build, runs mshv-info and
#                              the hello guest (mshv-hello)
#   scripts/testbed.sh bench   the benchmarks (bench/), in a guest with 3 GiB, on the bench
#                              kernel (the test kernel without KASAN, lockdep, ...)
#   scripts/testbed.sh fuzz    the fuzzer, long (MSHV_FUZZ_IOCTLS, default 1000000; MSHV_FUZZ_SEED
#                              replays a seed), on the debug kernel, judged as check is
#
# Environment: KDIR (a Rust-enabled kernel build to use instead of the cached test kernel),
# MSHV_QEMU_ACCEL (default tcg: this machine's /dev/kvm cannot boot a stock guest),
# MSHV_QEMU_TIMEOUT (seconds, default 900; 4 hours for fuzz).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODE=${1:-check}
# Each mode its own directory (initramfs, results, logs): a bench may run beside a check.
OUT=$MSHV_ROOT/build/testbed
[ "$MODE" = check ] || OUT=$MSHV_ROOT/build/testbed-$MODE
HOST_RESULTS=$OUT/host-results.txt
ACCEL=${MSHV_QEMU_ACCEL:-tcg}
TIMEOUT=${MSHV_QEMU_TIMEOUT:-$([ "$MODE" = fuzz ] && echo 14400 || echo 900)}

mkdir -p "$OUT"
: >"$HOST_RESULTS"

# record NAME COMMAND...: runs a host-side check, logs its output, records PASS or FAIL.
record() {
	local name=$1
	shift
	local logf
	logf=$OUT/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log
	if "$@" >"$logf" 2>&1; then
		echo "PASS $name" >>"$HOST_RESULTS"
		return 0
	fi
	echo "FAIL $name" >>"$HOST_RESULTS"
	log "$name failed; its output ($logf):"
	tail -n 40 "$logf" >&2
	return 1
}

finish() {
	python3 "$MSHV_ROOT/scripts/parse-log.py" --host-results "$HOST_RESULTS" \
		--floor "$(grep -v '^#' "$MSHV_ROOT/tests/result-floor")" "$@"
	exit $?
}

bash "$MSHV_ROOT/scripts/setup.sh"
# The modules of the bench kernel are built apart: both kernels stay cached.
if [ "$MODE" = bench ]; then
	KDIR=$(bash "$MSHV_ROOT/scripts/kernel.sh" bench)
	MODS=$MSHV_ROOT/build/bench
else
	KDIR=$(bash "$MSHV_ROOT/scripts/kernel.sh")
	MODS=$MSHV_ROOT/build
fi
export KDIR
log "kernel: $KDIR"

# Both module builds. In check mode they are the style gate too: clippy, warnings as errors.
gate=()
[ "$MODE" = check ] && gate=(CLIPPY=1 W=e)
build_ok=1
for variant in prod sim; do
	sim=0
	[ $variant = sim ] && sim=1
	record "build: $variant module${gate:+ (CLIPPY=1 W=e)}" \
		make -C "$MSHV_ROOT" modules KDIR="$KDIR" MSHV_SIM=$sim \
		MO="$MODS/$variant" "${MSHV_MAKE_VARS[@]}" "${gate[@]}" || build_ok=
done
if [ "$MODE" = check ]; then
	record "style: rustfmt --check (kernel .rustfmt.toml)" \
		"$RUSTFMT" --edition 2021 --check --config-path "$KDIR/source/.rustfmt.toml" \
		"$MSHV_ROOT/mshv_main.rs" || true
	record "lint: header, mirrors, names and docs agree" bash "$MSHV_ROOT/scripts/lint.sh" || true
	record "judge: doctored logs fail, a good one passes" \
		python3 "$MSHV_ROOT/scripts/test_parse_log.py" || true
	# Debian's docutils (python3-docutils), not whatever python3 is first on PATH.
	record "docs: Documentation/mshv.rst renders without a warning" \
		/usr/bin/python3 -m docutils --halt=warning "$MSHV_ROOT"/Documentation/mshv.rst /dev/null \
		|| true
fi
record "build: selftests and tools" \
	make -C "$MSHV_ROOT/tests" KSFT_DIR="$KDIR/source/tools/testing/selftests" \
	OUTPUT="$MSHV_ROOT/build/tests" || build_ok=
# The second client: rust-vmm's mshv-ioctls from crates.io, static, built with the machine's
# own (rustup) cargo; the target directory lives in the cache.
record "build: mshv-ioctls client (crates.io mshv-ioctls 0.7.1)" \
	env RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --locked \
	--manifest-path "$MSHV_ROOT/clients/mshv-ioctls-hello/Cargo.toml" \
	--target x86_64-unknown-linux-gnu --target-dir "$MSHV_CACHE/cargo-target" || build_ok=
[ -n "$build_ok" ] || finish /dev/null

# The simulator build carries debug information for the coverage figure; the guest does not
# need it (the code, and so every PC, is the same).
"llvm-objcopy$LLVM" --strip-debug "$MODS/sim/mshv.ko" "$OUT/mshv-sim.ko"

# The initramfs: static busybox, both modules, the static tests, the guest scripts.
spec=$OUT/initramfs.list
{
	for d in /bin /sbin /dev /proc /sys /tmp /lib /lib/mshv /lib/mshv/prod /lib/mshv/sim \
		/tests /mshv; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /bin/busybox $(command -v busybox) 0755 0 0"
	for applet in $(busybox --list); do
		[ "$applet" = busybox ] || echo "slink /bin/$applet busybox 0777 0 0"
	done
	echo "file /init $MSHV_ROOT/tests/guest/init 0755 0 0"
	for f in "$MSHV_ROOT"/tests/guest/run-*.sh "$MSHV_ROOT"/tests/guest/lib.sh; do
		echo "file /mshv/$(basename "$f") $f 0755 0 0"
	done
	echo "file /lib/mshv/prod/mshv.ko $MODS/prod/mshv.ko 0644 0 0"
	echo "file /lib/mshv/sim/mshv.ko $OUT/mshv-sim.ko 0644 0 0"
	for f in "$MSHV_ROOT"/build/tests/*_test "$MSHV_ROOT"/tests/*_test.sh; do
		echo "file /tests/$(basename "$f") $f 0755 0 0"
	done
	for tool in mshv-info mshv-hello mshv-kcov-run; do
		echo "file /bin/$tool $MSHV_ROOT/build/tests/$tool 0755 0 0"
	done
	echo "file /bin/mshv_bench $MSHV_ROOT/build/tests/mshv_bench 0755 0 0"
	echo "file /bin/mshv_io_bench $MSHV_ROOT/build/tests/mshv_io_bench 0755 0 0"
	echo "file /bin/mshv_idle_bench $MSHV_ROOT/build/tests/mshv_idle_bench 0755 0 0"
	echo "file /bin/mshv_fuzz $MSHV_ROOT/build/tests/mshv_fuzz 0755 0 0"
	echo "file /bin/mshv-ioctls-hello $MSHV_CACHE/cargo-target/x86_64-unknown-linux-gnu/release/mshv-ioctls-hello 0755 0 0"
} >"$spec"
"$KDIR/usr/gen_init_cpio" "$spec" | gzip -1 >"$OUT/initramfs.cpio.gz"

# The fuzzer's bounds and seed, and MSHV_TESTS (a list of the test programs to run, while
# developing), reach the guest script as environment (kernel command line).
mode_args() {
	# The demo and the benchmarks run no KUnit suite: a newcomer sees the demo only, not the
	# log lines of the suites' fault injection, and the benchmarks share the CPU with nothing.
	case $MODE in demo | bench) printf 'kunit.enable=0 ' ;; esac
	[ -z "${MSHV_TESTS:-}" ] || printf 'MSHV_TESTS="%s" ' "$MSHV_TESTS"
	[ -z "${MSHV_FUZZ_SEED:-}" ] || printf 'MSHV_FUZZ_SEED=%s ' "$MSHV_FUZZ_SEED"
	[ -z "${MSHV_FUZZ_IOCTLS:-}" ] || printf 'MSHV_FUZZ_IOCTLS=%s ' "$MSHV_FUZZ_IOCTLS"
	[ -z "${MSHV_FUZZ_SECONDS:-}" ] || printf 'MSHV_FUZZ_SECONDS=%s ' "$MSHV_FUZZ_SECONDS"
}

serial=$OUT/$MODE.log
# An earlier run's log must never be judged for this one.
rm -f "$serial"
log "booting the guest ($ACCEL, $MODE); serial log: $serial"
start=$(date +%s)
timed_out=()
rc=0
timeout "$TIMEOUT" qemu-system-x86_64 \
	-accel "$ACCEL" -cpu max -smp 2 -m "$([ "$MODE" = bench ] && echo 3G || echo 1G)" \
	-display none -monitor none -serial "file:$serial" -no-reboot \
	-kernel "$KDIR/arch/x86/boot/bzImage" \
	-initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet panic=-1 oops=panic log_buf_len=4M watchdog_thresh=30 \
rcupdate.rcu_cpu_stall_timeout=60 MSHV_MODE=$MODE $(mode_args)" || rc=$?
[ "$rc" = 124 ] && timed_out=(--timed-out)
# QEMU exits 0 on a poweroff (and on a panic, which the judge sees in the log); anything else
# means the guest never ran as it should.
[ "$rc" = 0 ] || [ "$rc" = 124 ] || echo "FAIL guest: QEMU exited with status $rc" >>"$HOST_RESULTS"
log "guest ran $(($(date +%s) - start)) s"

if [ "$MODE" = demo ] || [ "$MODE" = bench ]; then
	sed -n '/^MSHV-GUEST-BEGIN/,/^MSHV-GUEST-END/p' "$serial" | sed '1d;$d'
	grep -q '^MSHV-GUEST-END' "$serial"
	exit $?
fi
if [ "$MODE" = check ]; then
	# The driver's function coverage, from the KCOV data the guest printed.
	python3 "$MSHV_ROOT/scripts/coverage.py" "$serial" --ko "$MODS/sim/mshv.ko" \
		--readelf "llvm-readelf$LLVM" --demangler "llvm-cxxfilt$LLVM" \
		--symbolizer "llvm-symbolizer$LLVM" --objcopy "llvm-objcopy$LLVM" \
		--floor "$(grep -v '^#' "$MSHV_ROOT/tests/coverage-floor")" \
		--result "$HOST_RESULTS" || true
	finish "${timed_out[@]}" "$serial"
fi
# fuzz: the judge of check; the floor is the host's builds, the KUnit cases and the fuzzer's two.
python3 "$MSHV_ROOT/scripts/parse-log.py" --host-results "$HOST_RESULTS" --floor 20 \
	"${timed_out[@]}" "$serial"
