/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mshv selftest library, after tools/testing/selftests/kvm: open the
 * device or skip, ask for capabilities, and gate tests on them so the same
 * suite runs (and skips what is absent) on a real Hyper-V root.
 */
#ifndef MSHV_UTIL_H
#define MSHV_UTIL_H

#include <stdbool.h>

#include "linux/mshv.h"
#include "kselftest.h"

#define MSHV_DEV_PATH "/dev/mshv"

/* Skips the whole test program when the condition does not hold. */
#define TEST_REQUIRE(f)                                                        \
	do {                                                                   \
		if (!(f))                                                      \
			ksft_exit_skip("Requirement not met: %s\n", #f);       \
	} while (0)

/* Opens /dev/mshv with @flags, or skips the test when there is none. */
int open_mshv_or_skip(int flags);

/* MSHV_CHECK_EXTENSION on @fd: the answer, or -1 with errno. */
int __mshv_check_cap(int fd, __u32 cap);

/* MSHV_CHECK_EXTENSION on /dev/mshv; fails the test on an error. */
int mshv_check_cap(__u32 cap);

static inline bool mshv_has_cap(__u32 cap)
{
	return mshv_check_cap(cap) > 0;
}

/* Asserts outside the harness: print and exit with KSFT_FAIL. */
#define TEST_ASSERT(cond, fmt, ...)                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			ksft_exit_fail_msg("%s:%d: %s: " fmt "\n", __FILE__,   \
					   __LINE__, #cond, ##__VA_ARGS__);    \
	} while (0)

#endif /* MSHV_UTIL_H */
