/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ucall: how a test guest reports to its test (after the KVM selftests' ucall).
 */
#ifndef MSHV_UCALL_H
#define MSHV_UCALL_H

#include "mshv_vm.h"

/*
 * The guest reports to the test with "out %ax, %dx" to UCALL_PORT + kind,
 * AX carrying the argument. The test reads it from the IO-port intercept.
 */
#define UCALL_PORT	0x1000
enum { UCALL_SYNC, UCALL_DONE, UCALL_ABORT };

struct ucall {
	unsigned int kind;
	__u16 arg;
};

/* Runs the VP to its next ucall (skipping past it); fails the test on anything else. */
void vp_get_ucall(int vp_fd, struct ucall *uc);

#endif /* MSHV_UCALL_H */
