#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: the simulator build, then the benchmarks; each figure comes with its floor.
insmod /lib/mshv/sim/mshv.ko || exit 1
/bin/mshv_bench
/bin/mshv_io_bench
echo "bench: idle VPs under the root scheduler"
/bin/mshv_idle_bench
rmmod mshv
# The same idle guest under the hypervisor's core scheduler (the simulator as such a root).
insmod /lib/mshv/sim/mshv.ko sim_host=1 || exit 1
echo "bench: idle VPs under the hypervisor's core scheduler"
/bin/mshv_idle_bench
rmmod mshv
