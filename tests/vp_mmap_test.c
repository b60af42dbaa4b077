// SPDX-License-Identifier: GPL-2.0
/*
 * mmap of a VP fd: the register page and the intercept message page, each at
 * its own offset, and the register page as a way to read and write registers.
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

#define CODE_GPA 0x1000

/* struct hv_vp_register_page, as far as the tests read it. */
struct regpage {
	__u16 version;
	__u8 isvalid;
	__u8 rsvdz;
	__u32 dirty;
	__u64 gpr[16];	/* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	__u64 rip;
	__u64 rflags;
	__u8 reserved[8];
	__u8 xmm[6][16];
	struct hv_segment seg[6]; /* es cs ss ds fs gs */
} __attribute__((packed));

#define DIRTY_GENERAL	(1 << 0)
#define DIRTY_IP	(1 << 1)
#define DIRTY_SEGMENT	(1 << 3)

/* mov $0x3f8,%dx; add %bl,%al; add $'0',%al; out %al,(%dx); mov $0,%al; out %al,(%dx); hlt */
static const __u8 hello[] = { 0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, '0', 0xee, 0xb0, 0x00, 0xee, 0xf4 };

FIXTURE(vm) {
	struct mshv_vm *vm;
	long page;
};

FIXTURE_SETUP(vm)
{
	self->vm = vm_create_with_one_vp(0x10000);
	self->page = sysconf(_SC_PAGESIZE);
	if (!mshv_has_cap(MSHV_CAP_REGISTER_PAGE) || !mshv_has_cap(MSHV_CAP_INTERCEPT_MESSAGE_PAGE))
		SKIP(return, "no register or intercept message page");
	vm_load(self->vm, CODE_GPA, hello, sizeof(hello));
}

FIXTURE_TEARDOWN(vm)
{
	vm_destroy(self->vm);
}

static void *map(int fd, long page, int pgoff, int npages)
{
	return mmap(NULL, npages * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, pgoff * page);
}

TEST_F(vm, register_page_shows_the_registers)
{
	struct regpage *rp = map(self->vm->vp_fd[0], self->page, MSHV_VP_MMAP_OFFSET_REGISTERS, 1);

	ASSERT_NE(MAP_FAILED, rp);
	EXPECT_EQ(1, rp->version);
	EXPECT_EQ(1, rp->isvalid);
	/* The reset state, then what a hypercall set. */
	EXPECT_EQ(0xfff0, rp->rip);
	EXPECT_EQ(0xf000, rp->seg[1].selector);
	vp_set_reg(self->vm->vp_fd[0], HV_X64_REGISTER_RBX, 0xabcd);
	EXPECT_EQ(0xabcd, rp->gpr[3]);
	munmap(rp, self->page);
}

TEST_F(vm, run_through_the_register_page)
{
	int vp = self->vm->vp_fd[0];
	struct regpage *rp = map(vp, self->page, MSHV_VP_MMAP_OFFSET_REGISTERS, 1);
	struct hv_message msg;

	ASSERT_NE(MAP_FAILED, rp);
	/* Entry state through the page: CS base 0, RIP, RAX = 2, RBX = 3. */
	rp->seg[1].base = 0;
	rp->seg[1].selector = 0;
	rp->rip = CODE_GPA;
	rp->gpr[0] = 2;
	rp->gpr[3] = 3;
	rp->dirty = DIRTY_GENERAL | DIRTY_IP | DIRTY_SEGMENT;
	vp_run(vp, &msg);
	ASSERT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ('5', msg.io.rax & 0xff);
	/* The page shows the state at the intercept; advance RIP through it, as CH does. */
	EXPECT_EQ(CODE_GPA + 7, rp->rip);
	EXPECT_EQ('5', rp->gpr[0] & 0xff);
	EXPECT_EQ(0, rp->dirty);
	rp->rip += msg.intercept.instruction_length & 0xf;
	rp->dirty = DIRTY_IP;
	vp_run(vp, &msg);
	ASSERT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ(CODE_GPA + 10, msg.intercept.rip);
	/* Without the dirty bit a change is not taken: the OUT intercepts again. */
	rp->rip = CODE_GPA + 11;
	vp_run(vp, &msg);
	EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ(CODE_GPA + 10, msg.intercept.rip);
	munmap(rp, self->page);
}

TEST_F(vm, intercept_message_page_holds_the_message)
{
	int vp = self->vm->vp_fd[0];
	void *mp = map(vp, self->page, MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE, 1);
	struct hv_message msg;

	ASSERT_NE(MAP_FAILED, mp);
	vp_set_entry(vp, CODE_GPA);
	vp_run(vp, &msg);
	EXPECT_EQ(0, memcmp(mp, &msg, sizeof(msg)));
	munmap(mp, self->page);
}

TEST_F(vm, every_page_of_a_mapping_is_its_own)
{
	int vp = self->vm->vp_fd[0];
	char *both = map(vp, self->page, 0, 2);
	struct hv_message msg;

	ASSERT_NE(MAP_FAILED, both);
	vp_set_entry(vp, CODE_GPA);
	vp_run(vp, &msg);
	/* Page 0 is the register page, page 1 the message (upstream repeats page 0). */
	EXPECT_EQ(1, ((struct regpage *)both)->isvalid);
	EXPECT_EQ(0, memcmp(both + self->page, &msg, sizeof(msg)));
	munmap(both, 2 * self->page);
}

TEST_F(vm, pages_that_do_not_exist)
{
	int vp = self->vm->vp_fd[0];
	void *p;

	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(vp, self->page, MSHV_VP_MMAP_OFFSET_GHCB, 1));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(vp, self->page, MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE, 2));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(vp, self->page, MSHV_VP_MMAP_OFFSET_COUNT, 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(vp, self->page, 0, 4));
	EXPECT_EQ(EINVAL, errno);
	/* A mapping cannot grow. */
	p = map(vp, self->page, 0, 1);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(MAP_FAILED, mremap(p, self->page, 2 * self->page, 0));
	munmap(p, self->page);
}

TEST_F(vm, mapping_outlives_the_fds)
{
	struct regpage *rp = map(self->vm->vp_fd[0], self->page, 0, 1);

	ASSERT_NE(MAP_FAILED, rp);
	close(self->vm->vp_fd[0]);
	self->vm->vp_fd[0] = -1;
	close(self->vm->pt_fd);
	self->vm->pt_fd = -1;
	/* The partition is gone; the page stays readable until munmap. */
	EXPECT_EQ(1, rp->version);
	munmap(rp, self->page);
}

TEST_HARNESS_MAIN
