// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_CREATE_PARTITION (v1 and v2), MSHV_INITIALIZE_PARTITION, and the
 * partition fd itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	if (!mshv_has_cap(MSHV_CAP_CREATE_PARTITION))
		SKIP(return, "no MSHV_CAP_CREATE_PARTITION");
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, create_v1_every_flag)
{
	__u64 flags[] = { 0, 1 << MSHV_PT_BIT_LAPIC, 1 << MSHV_PT_BIT_X2APIC,
			  1 << MSHV_PT_BIT_GPA_SUPER_PAGES, 1 << MSHV_PT_BIT_NESTED_VIRTUALIZATION,
			  1 << MSHV_PT_BIT_SMT_ENABLED_GUEST,
			  MSHV_PT_FLAGS_MASK & ~(1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES) };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		int pt = __mshv_create_partition(self->fd, flags[i], MSHV_PT_ISOLATION_NONE);

		ASSERT_LE(0, pt) TH_LOG("flags %#llx", (unsigned long long)flags[i]);
		/* Close-on-exec, as upstream. */
		EXPECT_EQ(FD_CLOEXEC, fcntl(pt, F_GETFD) & FD_CLOEXEC);
		EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
		close(pt);
	}
}

TEST_F(dev, create_v1_bad_input)
{
	__u64 bad_flags[] = { 1 << MSHV_PT_BIT_COUNT, 1ULL << 63, ~0ULL };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		errno = 0;
		EXPECT_EQ(-1, __mshv_create_partition(self->fd, bad_flags[i], 0));
		EXPECT_EQ(EINVAL, errno);
	}
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_partition(self->fd, 0, MSHV_PT_ISOLATION_COUNT));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_PARTITION, NULL));
	EXPECT_EQ(EFAULT, errno);
}

static struct mshv_create_partition_v2 v2_args(void)
{
	struct mshv_create_partition_v2 a = {
		.pt_flags = 1 << MSHV_PT_BIT_LAPIC | 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES,
		.pt_num_cpu_fbanks = MSHV_NUM_CPU_FEATURES_BANKS,
		.pt_cpu_fbanks = { 0x10, 0x20 },
		.pt_disabled_xsave = 0x4,
	};
	return a;
}

TEST_F(dev, create_v2)
{
	struct mshv_create_partition_v2 a = v2_args();
	int pt;

	if (!mshv_has_cap(MSHV_CAP_CREATE_PARTITION_V2))
		SKIP(return, "no MSHV_CAP_CREATE_PARTITION_V2");
	pt = ioctl(self->fd, MSHV_CREATE_PARTITION, &a);
	ASSERT_LE(0, pt);
	EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	close(pt);
}

TEST_F(dev, create_v2_bad_input)
{
	struct mshv_create_partition_v2 a;
	char *page = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	struct mshv_create_partition_v2 *edge;

	if (!mshv_has_cap(MSHV_CAP_CREATE_PARTITION_V2))
		SKIP(return, "no MSHV_CAP_CREATE_PARTITION_V2");
	a = v2_args();
	a.pt_num_cpu_fbanks = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_PARTITION, &a));
	EXPECT_EQ(EINVAL, errno);
	a = v2_args();
	a.pt_rsvd[5] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_PARTITION, &a));
	EXPECT_EQ(EINVAL, errno);
	a = v2_args();
	a.pt_rsvd1[1] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_PARTITION, &a));
	EXPECT_EQ(EINVAL, errno);
	a = v2_args();
	a.pt_isolation = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_PARTITION, &a));
	EXPECT_EQ(EINVAL, errno);
	/* The v1 part is readable, the rest of the v2 struct is not: EFAULT. */
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, munmap(page + 4096, 4096));
	edge = (void *)(page + 4096 - 16);
	edge->pt_flags = 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES;
	edge->pt_isolation = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_PARTITION, edge));
	EXPECT_EQ(EFAULT, errno);
	munmap(page, 4096);
}

TEST_F(dev, initialize_is_idempotent)
{
	int pt = mshv_create_partition(self->fd, false);

	EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	close(pt);
}

TEST_F(dev, check_extension_on_the_partition)
{
	int pt = mshv_create_partition(self->fd, false);
	__u32 cap;

	if (!mshv_has_cap(MSHV_CAP_CHECK_EXTENSION_PARTITION))
		SKIP(close(pt); return, "no MSHV_CAP_CHECK_EXTENSION_PARTITION");
	for (cap = 0; cap < 64; cap++)
		EXPECT_EQ(__mshv_check_cap(self->fd, cap), __mshv_check_cap(pt, cap));
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_CHECK_EXTENSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(pt);
}

TEST_F(dev, partition_fd_unknown_ioctls_are_enotty)
{
	int pt = mshv_create_partition(self->fd, false);
	struct mshv_create_partition args = { 0 };
	unsigned long cmds[] = { MSHV_CREATE_PARTITION, _IO(MSHV_IOCTL, 0x3f),
				 _IOW(MSHV_IOCTL, 0x01, __u64), MSHV_RUN_VP };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(pt, cmds[i], &args)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno);
	}
	close(pt);
}

TEST_F(dev, sixty_four_partitions_at_once)
{
	int pt[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pt); i++) {
		pt[i] = mshv_create_partition(self->fd, true);
		ASSERT_LE(0, pt[i]);
	}
	for (i = 0; i < ARRAY_SIZE(pt); i++)
		EXPECT_EQ(0, close(pt[i]));
}

TEST_HARNESS_MAIN
