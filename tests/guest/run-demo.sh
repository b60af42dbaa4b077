#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: load the simulator build and show what /dev/mshv offers.
echo "# insmod mshv.ko (simulator build)"
insmod /lib/mshv/sim/mshv.ko || exit 1
echo "# mshv-info"
/bin/mshv-info
echo "# mshv-hello"
/bin/mshv-hello
echo "# mshv-ioctls-hello (rust-vmm's mshv-ioctls from crates.io, unchanged)"
/bin/mshv-ioctls-hello
rmmod mshv
