#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The simulator's debugfs controls (simulator build only): what userspace tests and benchmarks
# use to inject faults and read call counters. Skipped where there is no simulator.
D=/sys/kernel/debug/mshv/sim

echo "TAP version 13"
if [ ! -d $D ]; then
	echo "1..0 # SKIP no simulator (not the MSHV_SIM=1 build)"
	exit 4
fi
echo "1..8"

n=0
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi
}

# Every partition fd of earlier tests is closed: none is left in the hypervisor.
grep -q '^partitions 0$' $D/state && grep -Eq '^root_pool [0-9]+ 0$' $D/state
result $? "state: no partitions left, nothing charged to the root pool"

# The driver's ledger of deposits agrees with the hypervisor: with no partition left, it holds
# the root's pool and nothing else (every partition's pages were withdrawn and freed).
root=$(sed -n 's/^root_pool \([0-9]*\) .*/\1/p' $D/state)
[ -n "$root" ] && grep -qx "ledger $root" $D/state
result $? "state: the ledger holds the root pool's pages, no more"

# Lines of "<code> <count> <nanoseconds>".
! grep -Evq '^0x[0-9a-f]{4} [0-9]+ [0-9]+$' $D/calls
result $? "calls: well-formed lines"

ok=0
for good in "clear" "0x4e 1 1 0xb" "any 2 3 5" "78 1 1 0x7" "clear"; do
	echo "$good" >$D/fault 2>/dev/null || { echo "# refused: $good"; ok=1; }
done
result $ok "fault: well-formed lines are taken"

ok=0
for bad in "" "0x4e" "0x4e 1 1" "0x4e 1 1 0" "0x10000 1 1 5" "x 1 1 5" "0x4e 1 1 5 6"; do
	if echo "$bad" >$D/fault 2>/dev/null; then
		echo "# taken: '$bad'"
		ok=1
	fi
done
echo clear >$D/fault
echo 0 >$D/partial_reps && ! echo zz >$D/partial_reps 2>/dev/null || ok=1
result $ok "fault, partial_reps: malformed lines are EINVAL"

# gpa: a query, then its answer; a page no partition maps is "none".
ok=0
echo "1 0" >$D/gpa && [ "$(cat $D/gpa)" = none ] || ok=1
for bad in "" "1" "x 1" "1 2 3"; do
	if echo "$bad" >$D/gpa 2>/dev/null; then
		echo "# gpa took: '$bad'"
		ok=1
	fi
done
result $ok "gpa: queries answered, malformed ones EINVAL"

# pin: pins and unpins the writer's memory; unaligned is EINVAL, no memory EFAULT.
ok=0
echo "0x1000 0x1001" >$D/pin 2>/dev/null && ok=1
echo "0x1001 0x1000" >$D/pin 2>/dev/null && ok=1
echo "0x1000 0x1000" >$D/pin 2>/dev/null && ok=1
echo "1 2 3" >$D/pin 2>/dev/null && ok=1
result $ok "pin: unaligned, unmapped and malformed requests refused"

# forge: well-formed lies are armed (and disarmed), malformed lines refused.
ok=0
for good in "withdraw 0x1234" "state_page 77" "clear"; do
	echo "$good" >$D/forge 2>/dev/null || { echo "# refused: $good"; ok=1; }
done
for bad in "" "withdraw" "state_page x" "steal 1" "withdraw 1 2"; do
	if echo "$bad" >$D/forge 2>/dev/null; then
		echo "# taken: '$bad'"
		ok=1
	fi
done
echo clear >$D/forge
result $ok "forge: lies armed and disarmed, malformed lines EINVAL"
