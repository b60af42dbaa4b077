#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: the simulator build, then the benchmarks; each figure comes with its floor.
insmod /lib/mshv/sim/mshv.ko || exit 1
/bin/mshv_bench
/bin/mshv_io_bench
rmmod mshv
