#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test sequence of `make check`, inside the guest. Each test's output is prefixed with
# "[name] " and followed by "[name] exit=N"; the kernel log is dumped (and cleared) after every
# phase, so nothing is lost to the ring buffer and each splat is seen once.
KMEMLEAK=/sys/kernel/debug/kmemleak

dump_dmesg() {
	echo "MSHV-DMESG-BEGIN $1"
	dmesg -c
	echo "MSHV-DMESG-END $1"
}

run() {
	name=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	sed "s|^|[$name] |" /tmp/out
	echo "[$name] exit=$rc"
}

# Leak suspects from boot are not ours.
if [ -w $KMEMLEAK ]; then
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
fi
dump_dmesg boot

# Before anything is loaded: the production module refuses.
run prod_refuses_test /tests/prod_refuses_test
dump_dmesg prod

# The KUnit suites of the module run when it loads.
insmod /lib/mshv/sim/mshv.ko
echo "[insmod_sim] exit=$?"
dump_dmesg kunit

for t in /tests/*_test; do
	[ "$t" = /tests/prod_refuses_test ] || run "$(basename "$t")" "$t"
done
run mshv-info /bin/mshv-info
run mshv-hello /bin/mshv-hello
run mshv-ioctls-hello /bin/mshv-ioctls-hello
run sim_debugfs_test sh /tests/sim_debugfs_test.sh
rmmod mshv
echo "[rmmod_sim] exit=$?"
dump_dmesg kselftest

run load_unload_test sh /tests/load_unload_test.sh
dump_dmesg cycles

# kmemleak reports objects older than 5 s that nothing references.
if [ -w $KMEMLEAK ]; then
	sleep 6
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo "MSHV-KMEMLEAK-BEGIN"
	cat $KMEMLEAK
	echo "MSHV-KMEMLEAK-END"
else
	echo "MSHV-KMEMLEAK-MISSING"
fi
dump_dmesg end
