#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test sequence of `make check`, inside the guest. Each test's output is prefixed with
# "[name] " and followed by "[name] # <seconds> s" and "[name] exit=N"; the kernel log is dumped
# (and cleared) after every phase, so nothing is lost to the ring buffer and each splat is seen
# once. The last line is the script's own end marker: the judge fails a run without it.
. /mshv/lib.sh
# Coverage of the module (KCOV): every test program and the fuzzer write the module PCs they
# reached here (tests/lib/kcov.c); merged after each, printed at the end for the host to count.
export MSHV_KCOV_DIR=/tmp/kcov
mkdir -p $MSHV_KCOV_DIR
: >/tmp/kcov.all

# MSHV_TESTS (from the kernel command line): only the programs it names, for a quick look while
# developing (the judge's floor then fails the run, as it should).
wanted() {
	[ -z "$MSHV_TESTS" ] || case " $MSHV_TESTS " in *" $1 "*) ;; *) return 1 ;; esac
}

merge_kcov() {
	cat $MSHV_KCOV_DIR/*.pcs /tmp/kcov.all 2>/dev/null | sort -u >/tmp/kcov.new
	mv /tmp/kcov.new /tmp/kcov.all
	rm -f $MSHV_KCOV_DIR/*.pcs
}

run() {
	name=$1
	shift
	wanted "$name" || return 0
	start=$(date +%s)
	# Streamed, not buffered: a program that never ends (a hang) still shows what it said.
	{
		"$@" 2>&1
		echo $? >/tmp/rc
	} | sed "s|^|[$name] |"
	rc=$(cat /tmp/rc)
	echo "[$name] # $(($(date +%s) - start)) s"
	echo "[$name] exit=$rc"
	merge_kcov
}

kmemleak_reset
dump_dmesg boot

# Before anything is loaded: the production module refuses.
run prod_refuses_test /tests/prod_refuses_test
dump_dmesg prod

# The KUnit suites of the module run when it loads. Traced: the module's init is covered too.
/bin/mshv-kcov-run insmod /lib/mshv/sim/mshv.ko
echo "[insmod_sim] exit=$?"
dump_dmesg kunit
# The module's work items run in kworkers: their coverage is collected apart, until the end.
/bin/mshv-kcov-run --remote &
remote=$!

for t in /tests/*_test; do
	[ "$t" = /tests/prod_refuses_test ] || run "$(basename "$t")" "$t"
done
run mshv-info /bin/mshv-info
run mshv-hello /bin/mshv-hello
run mshv-ioctls-hello /bin/mshv-ioctls-hello
# A short, bounded fuzzer run (make fuzz runs long); its seed is printed first.
run mshv_fuzz /bin/mshv_fuzz -t "${MSHV_FUZZ_SECONDS:-15}" -j 3 -w 30 \
	${MSHV_FUZZ_SEED:+-s $MSHV_FUZZ_SEED}
run sim_debugfs_test sh /tests/sim_debugfs_test.sh
kill -TERM $remote
wait $remote
/bin/mshv-kcov-run rmmod mshv
echo "[rmmod_sim] exit=$?"
dump_dmesg kselftest
merge_kcov

# The simulator loaded as each host it can be, and the driver's module init on each (its loads
# traced too).
run host_modes_test sh /tests/host_modes_test.sh
dump_dmesg hosts
# The programs that run VPs again, under the hypervisor's scheduler: a root with the core
# scheduler, and L1VH without the integrated one. Results are named <program>@<host>.
GLOB=/sys/module/kunit/parameters/filter_glob
[ -w $GLOB ] && echo "mshv_no_suite_again" >$GLOB
for host in "1 core" "2 l1vh"; do
	/bin/mshv-kcov-run insmod /lib/mshv/sim/mshv.ko sim_host="${host%% *}"
	echo "[insmod_sim@${host#* }] exit=$?"
	/bin/mshv-kcov-run --remote &
	remote=$!
	for t in run_vp_test blocked_vp_test irqfd_test; do
		run "$t@${host#* }" "/tests/$t"
	done
	kill -TERM $remote
	wait $remote
	/bin/mshv-kcov-run rmmod mshv
	echo "[rmmod_sim@${host#* }] exit=$?"
	dump_dmesg "hypervisor-scheduler-${host#* }"
	merge_kcov
done
[ -w $GLOB ] && echo "*" >$GLOB
echo "MSHV-KCOV-BEGIN $(wc -l </tmp/kcov.all)"
cat /tmp/kcov.all
echo "MSHV-KCOV-END"

run load_unload_test sh /tests/load_unload_test.sh
dump_dmesg cycles

kmemleak_report
dump_dmesg end
# The last line: the judge counts a run without it as one whose script did not finish.
echo "MSHV-SCRIPT-END check"
