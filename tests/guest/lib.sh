# SPDX-License-Identifier: GPL-2.0
#
# What the guest scripts share (sourced): the kernel log dumps and the kmemleak scan the judge
# (scripts/parse-log.py) reads, between their markers.
KMEMLEAK=/sys/kernel/debug/kmemleak

# Prints the kernel log since the last dump, and clears it: each splat is seen once.
dump_dmesg() {
	echo "MSHV-DMESG-BEGIN $1"
	dmesg -c
	echo "MSHV-DMESG-END $1"
}

# Leak suspects from boot are not ours.
kmemleak_reset() {
	if [ -w $KMEMLEAK ]; then
		echo scan >$KMEMLEAK
		echo clear >$KMEMLEAK
	fi
}

# kmemleak reports objects older than 5 s that nothing references.
kmemleak_report() {
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
}
