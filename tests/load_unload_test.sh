#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The simulator build loads, serves /dev/mshv and unloads, many times over. Leaks are caught by
# the kmemleak scan the test guest runs at the end.
SIM=${MSHV_SIM_KO:-/lib/mshv/sim/mshv.ko}
CYCLES=${MSHV_CYCLES:-100}

echo "TAP version 13"
if grep -q '^mshv ' /proc/modules; then
	echo "1..0 # SKIP mshv is already loaded"
	exit 4
fi
echo "1..1"

# The module's KUnit suites run at every load; once (the first load of the run) is enough.
GLOB=/sys/module/kunit/parameters/filter_glob
saved=
if [ -w $GLOB ]; then
	saved=$(cat $GLOB)
	echo "mshv_load_unload_test_runs_no_suite" >$GLOB
fi

i=0
err=
while [ $i -lt "$CYCLES" ]; do
	i=$((i + 1))
	insmod "$SIM" || { err="insmod failed in cycle $i"; break; }
	[ -c /dev/mshv ] || { err="no /dev/mshv in cycle $i"; break; }
	/bin/mshv-info >/dev/null || { err="/dev/mshv does not answer in cycle $i"; break; }
	rmmod mshv || { err="rmmod failed in cycle $i"; break; }
	[ ! -e /dev/mshv ] || { err="/dev/mshv left after unload in cycle $i"; break; }
done
# An unset glob reads "(null)"; "*" runs every suite again.
[ -w $GLOB ] && { [ "$saved" = "(null)" ] && echo "*" >$GLOB || echo "$saved" >$GLOB; }
if [ -z "$err" ]; then
	echo "ok 1 $CYCLES load/unload cycles"
else
	echo "# $err"
	echo "not ok 1 $CYCLES load/unload cycles"
fi
