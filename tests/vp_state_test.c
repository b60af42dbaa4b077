// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_GET_VP_STATE and MSHV_SET_VP_STATE: every type, the size write-back,
 * and the argument checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"

FIXTURE(vm) {
	struct mshv_vm *vm;
	__u8 *buf;
	__u8 *back;
};

FIXTURE_SETUP(vm)
{
	self->vm = vm_create_with_one_vp(0x10000);
	if (!mshv_has_cap(MSHV_CAP_VP_STATE))
		SKIP(return, "no MSHV_CAP_VP_STATE");
	self->buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->back = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_NE(MAP_FAILED, self->back);
}

FIXTURE_TEARDOWN(vm)
{
	munmap(self->buf, 2 * 4096);
	munmap(self->back, 2 * 4096);
	vm_destroy(self->vm);
}

static int state(int vp, unsigned long cmd, __u8 type, void *buf, __u32 *sz)
{
	struct mshv_get_set_vp_state a = {
		.type = type,
		.buf_sz = *sz,
		.buf_ptr = (__u64)(unsigned long)buf,
	};
	int r = ioctl(vp, cmd, &a);

	*sz = a.buf_sz;
	return r;
}

TEST_F(vm, every_type_round_trips)
{
	/* The sizes the simulated hypervisor's states have. */
	__u32 sizes[] = { 4096, 4096, 4096, 4096, 200 };
	int vp = self->vm->vp_fd[0];
	__u8 type;

	for (type = 0; type < MSHV_VP_STATE_COUNT; type++) {
		__u32 sz = 4096;

		memset(self->buf, 0x40 + type, 4096);
		ASSERT_EQ(0, state(vp, MSHV_SET_VP_STATE, type, self->buf, &sz)) TH_LOG("type %u", type);
		EXPECT_EQ(sizes[type], sz);
		memset(self->back, 0, 4096);
		sz = 4096;
		ASSERT_EQ(0, state(vp, MSHV_GET_VP_STATE, type, self->back, &sz)) TH_LOG("type %u", type);
		EXPECT_EQ(sizes[type], sz);
		EXPECT_EQ(0, memcmp(self->buf, self->back, sizes[type])) TH_LOG("type %u", type);
	}
}

TEST_F(vm, bad_arguments)
{
	struct mshv_get_set_vp_state a = { .type = MSHV_VP_STATE_LAPIC, .buf_sz = 4096,
					   .buf_ptr = (__u64)(unsigned long)self->buf };
	int vp = self->vm->vp_fd[0];
	struct mshv_get_set_vp_state b;

	b = a;
	b.type = MSHV_VP_STATE_COUNT;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	b = a;
	b.rsvd[1] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	b = a;
	b.buf_sz = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_SET_VP_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	b = a;
	b.buf_sz = 100;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	b = a;
	b.buf_ptr += 8;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	/* A kernel address, an unmapped buffer, an unreadable argument: EFAULT. */
	b = a;
	b.buf_ptr = 0xffffffff81000000ULL;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, &b));
	EXPECT_EQ(EFAULT, errno);
	b = a;
	ASSERT_EQ(0, munmap(self->buf + 4096, 4096));
	b.buf_ptr += 4096;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, &b));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(vp, MSHV_GET_VP_STATE, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(vm, size_is_written_back_before_the_size_check)
{
	struct mshv_get_set_vp_state a = { .type = MSHV_VP_STATE_SYNTHETIC_TIMERS, .buf_sz = 8192,
					   .buf_ptr = (__u64)(unsigned long)self->back };

	/* A larger buffer is fine and learns the real size. */
	EXPECT_EQ(0, ioctl(self->vm->vp_fd[0], MSHV_GET_VP_STATE, &a));
	EXPECT_EQ(200, a.buf_sz);
}

TEST_HARNESS_MAIN
