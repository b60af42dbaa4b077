// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_GET_GPAP_ACCESS_BITMAP: the pages a guest read and wrote, the three
 * operations, bitmap sizing, and the argument checks.
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

/* At GPA 0x1000: mov $0x55,%al; mov %al,0x3000; mov 0x5000,%al; hlt */
static const __u8 code[] = { 0xb0, 0x55, 0xa2, 0x00, 0x30, 0xa0, 0x00, 0x50, 0xf4 };

FIXTURE(vm) {
	struct mshv_vm *vm;
	int max;
};

FIXTURE_SETUP(vm)
{
	struct hv_message msg;

	self->vm = vm_create_with_one_vp(16 * 4096);
	self->max = mshv_check_cap(MSHV_CAP_GPAP_ACCESS_BITMAP);
	if (self->max <= 0)
		SKIP(return, "no MSHV_CAP_GPAP_ACCESS_BITMAP");
	vm_load(self->vm, 0x1000, code, sizeof(code));
	vp_set_entry(self->vm->vp_fd[0], 0x1000);
	vp_run(self->vm->vp_fd[0], &msg);
	ASSERT_EQ(HVMSG_X64_HALT, msg.type);
}

FIXTURE_TEARDOWN(vm)
{
	vm_destroy(self->vm);
}

static int bitmap(int pt, __u8 type, __u8 op, __u64 base, __u64 count, void *out)
{
	struct mshv_gpap_access_bitmap a = {
		.access_type = type,
		.access_op = op,
		.page_count = count,
		.gpap_base = base,
		.bitmap_ptr = (__u64)(unsigned long)out,
	};

	return ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &a);
}

TEST_F(vm, what_the_guest_touched)
{
	__u8 bits[2] = { 0xff, 0xff };

	/* Written: page 3. Read: page 1 (code), 3, 5. */
	ASSERT_EQ(0, bitmap(self->vm->pt_fd, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP,
			    0, 16, bits));
	EXPECT_EQ(1 << 3, bits[0]);
	EXPECT_EQ(0, bits[1]);
	ASSERT_EQ(0, bitmap(self->vm->pt_fd, MSHV_GPAP_ACCESS_TYPE_ACCESSED,
			    MSHV_GPAP_ACCESS_OP_NOOP, 0, 16, bits));
	EXPECT_EQ(1 << 1 | 1 << 3 | 1 << 5, bits[0]);
	/* NOOP changed nothing (upstream sets the bits). */
	ASSERT_EQ(0, bitmap(self->vm->pt_fd, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP,
			    0, 16, bits));
	EXPECT_EQ(1 << 3, bits[0]);
}

TEST_F(vm, clear_and_set)
{
	__u8 bits[2];
	int pt = self->vm->pt_fd;

	/* CLEAR returns the bits, then clears them. */
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_CLEAR, 0, 16, bits));
	EXPECT_EQ(1 << 3, bits[0]);
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP, 0, 16, bits));
	EXPECT_EQ(0, bits[0]);
	/* Clearing accessed clears dirty too. */
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_ACCESSED, MSHV_GPAP_ACCESS_OP_CLEAR, 0, 16, bits));
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_ACCESSED, MSHV_GPAP_ACCESS_OP_NOOP, 0, 16, bits));
	EXPECT_EQ(0, bits[0]);
	/* SET dirty sets every mapped page dirty and accessed (as VMMs need before stopping). */
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_SET, 0, 16, bits));
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_ACCESSED, MSHV_GPAP_ACCESS_OP_NOOP, 0, 16, bits));
	EXPECT_EQ(0xff, bits[0]);
	EXPECT_EQ(0xff, bits[1]);
	/* Pages past the region have no bits. */
	ASSERT_EQ(0, bitmap(pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP, 16, 16, bits));
	EXPECT_EQ(0, bits[0] | bits[1]);
}

TEST_F(vm, bitmap_size_and_trailing_bits)
{
	__u8 bits[4] = { 0xff, 0xff, 0xff, 0xff };

	/* 13 pages: two bytes, bits 13-15 zero, the bytes after untouched. */
	ASSERT_EQ(0, bitmap(self->vm->pt_fd, MSHV_GPAP_ACCESS_TYPE_ACCESSED,
			    MSHV_GPAP_ACCESS_OP_SET, 0, 13, bits));
	ASSERT_EQ(0, bitmap(self->vm->pt_fd, MSHV_GPAP_ACCESS_TYPE_ACCESSED,
			    MSHV_GPAP_ACCESS_OP_NOOP, 0, 13, bits));
	EXPECT_EQ(0xff, bits[0]);
	EXPECT_EQ(0x1f, bits[1]);
	EXPECT_EQ(0xff, bits[2]);
}

TEST_F(vm, large_counts_in_batches)
{
	/* More pages than one batch of the kernel (32768) and of the hypervisor (4095). */
	size_t count = 100000;
	__u8 *bits = malloc(count / 8 + 1);

	ASSERT_NE(NULL, bits);
	ASSERT_EQ(0, bitmap(self->vm->pt_fd, MSHV_GPAP_ACCESS_TYPE_ACCESSED,
			    MSHV_GPAP_ACCESS_OP_NOOP, 0, count, bits));
	EXPECT_EQ(1 << 1 | 1 << 3 | 1 << 5, bits[0]);
	EXPECT_EQ(0, bits[count / 8 - 1]);
	free(bits);
}

TEST_F(vm, bad_arguments)
{
	struct mshv_gpap_access_bitmap good = {
		.page_count = 16, .bitmap_ptr = (__u64)(unsigned long)&good,
	}, a;
	int pt = self->vm->pt_fd;
	__u8 bits[2];

	a = good;
	a.access_type = MSHV_GPAP_ACCESS_TYPE_COUNT;
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &a));
	EXPECT_EQ(EINVAL, errno);
	a = good;
	a.access_op = MSHV_GPAP_ACCESS_OP_COUNT;
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &a));
	EXPECT_EQ(EINVAL, errno);
	a = good;
	a.rsvd[5] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &a));
	EXPECT_EQ(EINVAL, errno);
	a = good;
	a.page_count = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &a));
	EXPECT_EQ(EINVAL, errno);
	a = good;
	a.bitmap_ptr = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &a));
	EXPECT_EQ(EINVAL, errno);
	/* Past the limit (upstream has none and truncates the count to 32 bits). */
	errno = 0;
	EXPECT_EQ(-1, bitmap(pt, 0, 0, 0, (__u64)self->max + 1, bits));
	EXPECT_EQ(E2BIG, errno);
	errno = 0;
	EXPECT_EQ(-1, bitmap(pt, 0, 0, 0, 1ULL << 32, bits));
	EXPECT_EQ(E2BIG, errno);
	/* Past the GPA space. */
	errno = 0;
	EXPECT_EQ(-1, bitmap(pt, 0, 0, ~0ULL - 1, 5000, bits));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, bitmap(pt, 0, 0, 0, 16, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_HARNESS_MAIN
