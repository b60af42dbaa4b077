# SPDX-License-Identifier: GPL-2.0
#
# mshv-rs. On a Hyper-V root or L1VH partition with a Rust-enabled kernel build:
#   make KDIR=/path/to/kernel/build [LLVM=1 ...]   build mshv.ko (pass what your kernel was built with)
#   make install                                   install it into /lib/modules
# Development (installs its toolchain, builds a test kernel, boots QEMU):
#   make check    every test; ends with "N passed, N failed"
#   make demo     boot the test guest and show what /dev/mshv offers
#   make bench    the benchmarks, in the test guest
#   make fuzz     the fuzzer, long (MSHV_FUZZ_IOCTLS=1000000, MSHV_FUZZ_SEED= to replay)
#   make MSHV_SIM=1   the simulator build (tests only; never for production)

KDIR ?= /lib/modules/$(shell uname -r)/build
MSHV_SIM ?= 0

# Honour a KDIR given on the command line or in the environment; else the test bed builds its own.
TESTBED_ENV := $(if $(filter command line environment,$(origin KDIR)),KDIR=$(KDIR))

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) MSHV_SIM=$(MSHV_SIM) modules

modules_install install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build

check:
	@$(TESTBED_ENV) bash scripts/testbed.sh check

bench:
	@$(TESTBED_ENV) bash scripts/testbed.sh bench

demo:
	@$(TESTBED_ENV) bash scripts/testbed.sh demo

fuzz:
	@$(TESTBED_ENV) bash scripts/testbed.sh fuzz

.PHONY: all modules modules_install install clean check demo bench fuzz
