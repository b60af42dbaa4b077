// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_CREATE_VP: index bounds, duplicates, the partition's state, and scale.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"

FIXTURE(pt) {
	int mshv;
	int pt;
	int max_vps;
};

FIXTURE_SETUP(pt)
{
	self->mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	self->max_vps = mshv_check_cap(MSHV_CAP_VPS);
	if (self->max_vps <= 0)
		SKIP(return, "no MSHV_CAP_VPS");
	self->pt = mshv_create_partition(self->mshv, true);
}

FIXTURE_TEARDOWN(pt)
{
	close(self->pt);
	close(self->mshv);
}

TEST_F(pt, limit_is_more_than_upstreams)
{
	EXPECT_LT(256, self->max_vps);
}

TEST_F(pt, index_bounds)
{
	int last = __mshv_create_vp(self->pt, self->max_vps - 1);

	EXPECT_LE(0, last);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(self->pt, self->max_vps));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(self->pt, 0xffffffff));
	EXPECT_EQ(EINVAL, errno);
	close(last);
}

TEST_F(pt, duplicate_is_eexist)
{
	int vp = __mshv_create_vp(self->pt, 7);

	ASSERT_LE(0, vp);
	EXPECT_EQ(FD_CLOEXEC, fcntl(vp, F_GETFD) & FD_CLOEXEC);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(self->pt, 7));
	EXPECT_EQ(EEXIST, errno);
	/* Closing the VP fd does not delete the VP (as upstream): still EEXIST. */
	close(vp);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(self->pt, 7));
	EXPECT_EQ(EEXIST, errno);
}

TEST_F(pt, bad_argument_pointer)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_CREATE_VP, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(pt, uninitialized_partition)
{
	int pt = mshv_create_partition(self->mshv, false);

	/* The hypervisor refuses (INVALID_PARTITION_STATE): EIO, as upstream. */
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(pt, 0));
	EXPECT_EQ(EIO, errno);
	/* And the index is not taken by the failure. */
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	EXPECT_LE(0, __mshv_create_vp(pt, 0));
	close(pt);
}

TEST_F(pt, two_hundred_fifty_six_vps)
{
	struct rlimit rl = { 1024, 1024 };
	int fds[256];
	unsigned int i;

	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		fds[i] = __mshv_create_vp(self->pt, i);
		ASSERT_LE(0, fds[i]) TH_LOG("VP %u: %s", i, strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(fds); i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
