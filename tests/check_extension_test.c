// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_CHECK_EXTENSION: 1 for CORE_API_STABLE, 0 for anything unknown,
 * EFAULT for an argument that cannot be read, and the argument left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "sim.h"
#include "mshv_cap_names.h"

FIXTURE(dev) {
	int fd;
	long page;
};

FIXTURE_SETUP(dev)
{
	self->fd = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	self->page = sysconf(_SC_PAGESIZE);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

static bool known_cap(__u32 id)
{
	unsigned int i;

	for (i = 0; i < MSHV_NR_CAP_NAMES; i++)
		if (mshv_cap_names[i].id == id)
			return true;
	return false;
}

TEST_F(dev, core_api_stable_answers_one)
{
	EXPECT_EQ(1, __mshv_check_cap(self->fd, MSHV_CAP_CORE_API_STABLE));
}

TEST_F(dev, known_caps_answer_without_error)
{
	unsigned int i;

	for (i = 0; i < MSHV_NR_CAP_NAMES; i++)
		EXPECT_LE(0, __mshv_check_cap(self->fd, mshv_cap_names[i].id))
			TH_LOG("%s", mshv_cap_names[i].name);
}

TEST_F(dev, vtl_only_caps_answer_zero)
{
	EXPECT_EQ(0, __mshv_check_cap(self->fd, MSHV_CAP_VTL_RETURN_ACTION));
	EXPECT_EQ(0, __mshv_check_cap(self->fd, MSHV_CAP_DR6_SHARED));
}

TEST_F(dev, unknown_caps_answer_zero)
{
	__u32 far[] = { 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff };
	__u32 id;
	unsigned int i;

	for (id = 0; id < 4096; id++) {
		if (known_cap(id))
			continue;
		errno = 0;
		ASSERT_EQ(0, __mshv_check_cap(self->fd, id)) TH_LOG("cap %u", id);
		ASSERT_EQ(0, errno);
	}
	for (i = 0; i < ARRAY_SIZE(far); i++)
		EXPECT_EQ(0, __mshv_check_cap(self->fd, far[i])) TH_LOG("cap %#x", far[i]);
}

TEST_F(dev, argument_is_read_not_written)
{
	/* _IOW: the kernel only reads; a read-only page is a fine argument. */
	__u32 *id = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, id);
	*id = MSHV_CAP_CORE_API_STABLE;
	ASSERT_EQ(0, mprotect(id, self->page, PROT_READ));
	EXPECT_EQ(1, ioctl(self->fd, MSHV_CHECK_EXTENSION, id));
	EXPECT_EQ((__u32)MSHV_CAP_CORE_API_STABLE, *id);
	munmap(id, self->page);
}

TEST_F(dev, bad_pointers_are_efault)
{
	char *two = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *bad[4];
	unsigned int i;

	ASSERT_NE(MAP_FAILED, two);
	/* The second page goes away: a u32 straddling the boundary cannot be read whole. */
	ASSERT_EQ(0, munmap(two + self->page, self->page));
	bad[0] = NULL;
	bad[1] = two + self->page;		/* unmapped */
	bad[2] = two + self->page - 2;		/* straddles into the unmapped page */
	bad[3] = (void *)0xffffffff81000000UL;	/* kernel address */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, MSHV_CHECK_EXTENSION, bad[i])) TH_LOG("ptr %p", bad[i]);
		EXPECT_EQ(EFAULT, errno) TH_LOG("ptr %p", bad[i]);
	}
	/* And a page that cannot be read. */
	ASSERT_EQ(0, mprotect(two, self->page, PROT_NONE));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CHECK_EXTENSION, two));
	EXPECT_EQ(EFAULT, errno);
	munmap(two, self->page);
}

TEST_F(dev, answers_are_the_same_on_every_open)
{
	int other = open_mshv_or_skip(O_RDONLY);
	unsigned int i;

	for (i = 0; i < MSHV_NR_CAP_NAMES; i++)
		EXPECT_EQ(__mshv_check_cap(self->fd, mshv_cap_names[i].id),
			  __mshv_check_cap(other, mshv_cap_names[i].id));
	close(other);
}

TEST_HARNESS_MAIN
