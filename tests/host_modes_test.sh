#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Module init finds its host as upstream's does, through CPUID and hypercalls: the simulator
# build is loaded as each host it can be (the module parameters sim_*, which only the simulator
# reads) and the driver must say what it found, load where upstream loads and refuse, with a
# log line, where upstream refuses.
SIM=${MSHV_SIM_KO:-/lib/mshv/sim/mshv.ko}
# Module init traced for the coverage figure, where the tracer is there.
KCOV=
[ -x /bin/mshv-kcov-run ] && KCOV=/bin/mshv-kcov-run

echo "TAP version 13"
if grep -q '^mshv ' /proc/modules; then
	echo "1..0 # SKIP mshv is already loaded"
	exit 4
fi
echo "1..9"

# The module's KUnit suites ran at the first load of the run; not again at each of these.
GLOB=/sys/module/kunit/parameters/filter_glob
saved=
if [ -w $GLOB ]; then
	saved=$(cat $GLOB)
	echo "mshv_host_modes_test_runs_no_suite" >$GLOB
fi

n=0
fails=0
ok() {
	n=$((n + 1))
	echo "ok $n $1"
}
not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "# $2"
	echo "not ok $n $1"
}

# The kernel log lines since the last mark.
mark() {
	dmesg | wc -l >/tmp/host_modes.mark
}
since_mark() {
	dmesg | tail -n +$(($(cat /tmp/host_modes.mark) + 1))
}

# load NAME EXPECT PARAMS...: the module loads with PARAMS and logs EXPECT.
load() {
	name=$1
	expect=$2
	shift 2
	mark
	if ! $KCOV insmod "$SIM" "$@"; then
		not_ok "$name" "insmod $* failed"
		return 1
	fi
	if ! since_mark | grep -q "$expect"; then
		since_mark | sed 's/^/# /'
		rmmod mshv
		not_ok "$name" "no \"$expect\" in the kernel log"
		return 1
	fi
	return 0
}

# refused NAME EXPECT PARAMS...: the module refuses to load with PARAMS, saying EXPECT.
refused() {
	name=$1
	expect=$2
	shift 2
	mark
	if $KCOV insmod "$SIM" "$@" 2>/dev/null; then
		rmmod mshv
		not_ok "$name" "insmod $* loaded"
	elif [ -e /dev/mshv ]; then
		not_ok "$name" "/dev/mshv left behind"
	elif ! since_mark | grep -q "$expect"; then
		since_mark | sed 's/^/# /'
		not_ok "$name" "no \"$expect\" in the kernel log"
	else
		ok "$name"
	fi
}

# The four hosts: what the driver found, and a guest run where its run path exists.
for m in "0 root partition.*root scheduler" "1 root partition.*core scheduler" \
	"2 L1VH partition.*core scheduler" "3 L1VH partition.*root scheduler"; do
	mode=${m%% *}
	expect=${m#* }
	name="sim_host=$mode: \"$expect\", a guest runs"
	load "$name" "$expect" sim_host="$mode" || continue
	if out=$(/bin/mshv-hello 2>&1); then
		ok "$name"
	else
		echo "$out" | sed 's/^/# /'
		not_ok "$name" "mshv-hello failed"
	fi
	rmmod mshv
done

# A build outside the validated window: logged, not refused (as upstream).
if load "an unvalidated build loads, logged" "unvalidated Microsoft Hypervisor build" \
	sim_hv_build=27818; then
	/bin/mshv-info >/dev/null && ok "an unvalidated build loads, logged" ||
		not_ok "an unvalidated build loads, logged" "/dev/mshv does not answer"
	rmmod mshv
fi

# A scheduler type the driver does not know: refused.
refused "an unknown scheduler type is refused" "unsupported hypervisor scheduler type 0x9" \
	sim_scheduler=9

# No VMM capabilities: fatal on L1VH only.
refused "L1VH without VMM capabilities is refused" "cannot read the VMM capabilities" \
	sim_host=2 sim_no_vmm_caps=1
if load "a root without VMM capabilities loads" "root partition.*root scheduler" \
	sim_no_vmm_caps=1; then
	ok "a root without VMM capabilities loads"
	rmmod mshv
fi

# The root's hypervisor scheduler also comes from the system property, whatever the host
# mode says: LP_SMT (2) is a hypervisor scheduler.
if load "the root's scheduler type is the system property's" "classic scheduler with SMT" \
	sim_scheduler=2; then
	ok "the root's scheduler type is the system property's"
	rmmod mshv
fi

[ -w $GLOB ] && { [ "$saved" = "(null)" ] && echo "*" >$GLOB || echo "$saved" >$GLOB; }
[ $fails -eq 0 ]
