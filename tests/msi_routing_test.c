// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_SET_MSI_ROUTING: tables that are taken (full, replaced, emptied, the
 * largest) and the ones that are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"

FIXTURE(pt) {
	int mshv_fd;
	int pt_fd;
	struct mshv_user_irq_table *t;
};

FIXTURE_SETUP(pt)
{
	self->t = NULL;
	self->mshv_fd = open_mshv_or_skip(O_RDWR);
	if (mshv_check_cap(MSHV_CAP_MSI_ROUTING) <= 0)
		SKIP(return, "no MSHV_CAP_MSI_ROUTING");
	self->pt_fd = mshv_create_partition(self->mshv_fd, true);
	self->t = calloc(1, sizeof(*self->t) +
			    (MSHV_MAX_GUEST_IRQS + 1) * sizeof(struct mshv_user_irq_entry));
	ASSERT_NE(NULL, self->t);
}

FIXTURE_TEARDOWN(pt)
{
	if (!self->t)
		return;
	free(self->t);
	close(self->pt_fd);
	close(self->mshv_fd);
}

/* Entry i routes GSI gsi to vector 0x20 + i on APIC ID i % 4. */
static void fill(struct mshv_user_irq_table *t, __u32 nr, __u32 first_gsi)
{
	t->nr = nr;
	t->rsvd = 0;
	for (__u32 i = 0; i < nr; i++) {
		t->entries[i] = (struct mshv_user_irq_entry) {
			.gsi = first_gsi + i,
			.address_lo = 0xfee00000 | (i % 4) << 12,
			.data = 0x20 + i % 0xe0,
		};
	}
}

static int set_routing(int pt, struct mshv_user_irq_table *t)
{
	return ioctl(pt, MSHV_SET_MSI_ROUTING, t);
}

TEST(cap_is_the_gsi_count)
{
	int fd = open_mshv_or_skip(O_RDWR);
	int pt = mshv_create_partition(fd, true);

	EXPECT_EQ(MSHV_MAX_GUEST_IRQS, mshv_check_cap(MSHV_CAP_MSI_ROUTING));
	/* Asked through the partition too. */
	EXPECT_EQ(MSHV_MAX_GUEST_IRQS, __mshv_check_cap(pt, MSHV_CAP_MSI_ROUTING));
	close(pt);
	close(fd);
}

TEST_F(pt, set_replace_empty)
{
	fill(self->t, 24, 0);
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
	/* A new table replaces the old one whole; its GSIs may differ. */
	fill(self->t, 8, 100);
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
	/* nr 0 empties it; entries are not read. */
	self->t->nr = 0;
	self->t->entries[0].gsi = MSHV_MAX_GUEST_IRQS;
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
}

TEST_F(pt, largest_and_sparse)
{
	fill(self->t, MSHV_MAX_GUEST_IRQS, 0);
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
	/* One entry at the last GSI. */
	fill(self->t, 1, MSHV_MAX_GUEST_IRQS - 1);
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
	/* Order does not matter. */
	fill(self->t, 3, 10);
	self->t->entries[0].gsi = 4000;
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
}

TEST_F(pt, refused)
{
	fill(self->t, MSHV_MAX_GUEST_IRQS + 1, 0);
	self->t->entries[MSHV_MAX_GUEST_IRQS].gsi = 0;
	EXPECT_EQ(-1, set_routing(self->pt_fd, self->t));
	EXPECT_EQ(EINVAL, errno);

	fill(self->t, 2, 0);
	self->t->rsvd = 1;
	EXPECT_EQ(-1, set_routing(self->pt_fd, self->t));
	EXPECT_EQ(EINVAL, errno);

	fill(self->t, 2, MSHV_MAX_GUEST_IRQS - 1);
	EXPECT_EQ(-1, set_routing(self->pt_fd, self->t));
	EXPECT_EQ(EINVAL, errno);

	fill(self->t, 4, 5);
	self->t->entries[3].gsi = 6;
	EXPECT_EQ(-1, set_routing(self->pt_fd, self->t));
	EXPECT_EQ(EINVAL, errno);

	/* No extended destination, as upstream. */
	fill(self->t, 2, 0);
	self->t->entries[1].address_hi = 1;
	EXPECT_EQ(-1, set_routing(self->pt_fd, self->t));
	EXPECT_EQ(EINVAL, errno);

	/* GSI 0 twice (upstream once let this through). */
	fill(self->t, 2, 0);
	self->t->entries[1].gsi = 0;
	EXPECT_EQ(-1, set_routing(self->pt_fd, self->t));
	EXPECT_EQ(EINVAL, errno);

	/* A good table still goes in after the refusals. */
	fill(self->t, 2, 0);
	EXPECT_EQ(0, set_routing(self->pt_fd, self->t));
}

TEST_F(pt, bad_pointers)
{
	size_t page = getpagesize();
	__u8 *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	struct mshv_user_irq_table *t;

	ASSERT_NE(MAP_FAILED, two);
	EXPECT_EQ(-1, ioctl(self->pt_fd, MSHV_SET_MSI_ROUTING, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* The header is readable; the entries run into an unmapped page. */
	ASSERT_EQ(0, munmap(two + page, page));
	t = (void *)(two + page - sizeof(*t) - sizeof(t->entries[0]));
	fill(t, 1, 0);
	EXPECT_EQ(0, set_routing(self->pt_fd, t));
	t->nr = 2;
	EXPECT_EQ(-1, set_routing(self->pt_fd, t));
	EXPECT_EQ(EFAULT, errno);
	/* All entries are read before any is checked: still EFAULT, as upstream. */
	t->entries[0].gsi = MSHV_MAX_GUEST_IRQS;
	EXPECT_EQ(-1, set_routing(self->pt_fd, t));
	EXPECT_EQ(EFAULT, errno);
	munmap(two, page);
}

TEST(uninitialized_partition)
{
	int fd = open_mshv_or_skip(O_RDWR);
	int pt = mshv_create_partition(fd, false);
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} one = { { .nr = 1 }, { .gsi = 3, .address_lo = 0xfee00000, .data = 0x30 } };

	/* The table is the driver's, not the hypervisor's: no need to initialize first. */
	EXPECT_EQ(0, ioctl(pt, MSHV_SET_MSI_ROUTING, &one));
	close(pt);
	close(fd);
}

TEST_HARNESS_MAIN
