#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: the simulator build and the fuzzer, long (MSHV_FUZZ_IOCTLS ioctls, default one
# million; MSHV_FUZZ_SEED replays a seed). Judged as `make check` is: any splat, hang, leak or
# panic fails the run.
. /mshv/lib.sh

kmemleak_reset
dump_dmesg boot
insmod /lib/mshv/sim/mshv.ko
echo "[insmod_sim] exit=$?"
dump_dmesg kunit
# Streamed: if a call hangs for good, the watchdog's report and the seed are on the console.
{
	/bin/mshv_fuzz -n "${MSHV_FUZZ_IOCTLS:-1000000}" -j 3 -w 60 \
		${MSHV_FUZZ_SEED:+-s $MSHV_FUZZ_SEED} 2>&1
	echo $? >/tmp/rc
} | sed "s|^|[mshv_fuzz] |"
echo "[mshv_fuzz] exit=$(cat /tmp/rc)"
rmmod mshv
echo "[rmmod_sim] exit=$?"
dump_dmesg fuzz
kmemleak_report
dump_dmesg end
echo "MSHV-SCRIPT-END fuzz"
