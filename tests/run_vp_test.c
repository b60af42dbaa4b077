// SPDX-License-Identifier: GPL-2.0
/*
 * Running guests: the classic hello guest (LWN 658511), a ucall loop, and the
 * intercepts for memory the guest may not touch.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "ucall.h"
#include "kmsg.h"

#define CODE_GPA 0x1000

/* mov $0x3f8,%dx; add %bl,%al; add $'0',%al; out %al,(%dx); mov $0,%al; out %al,(%dx); hlt */
static const __u8 hello[] = { 0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, '0', 0xee, 0xb0, 0x00, 0xee, 0xf4 };

TEST(hello_guest)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0];
	struct hv_message msg;

	vm_load(vm, CODE_GPA, hello, sizeof(hello));
	vp_set_entry(vp, CODE_GPA);
	vp_set_reg(vp, HV_X64_REGISTER_RAX, 2);
	vp_set_reg(vp, HV_X64_REGISTER_RBX, 3);
	vp_set_reg(vp, HV_X64_REGISTER_RFLAGS, 0x2);

	vp_run(vp, &msg);
	ASSERT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ(0x3f8, msg.io.port);
	EXPECT_EQ(1, msg.io.access_info & 7);	/* one byte */
	EXPECT_EQ(1, msg.intercept.access_type);	/* write */
	EXPECT_EQ(1, msg.intercept.instruction_length & 0xf);
	EXPECT_EQ(CODE_GPA + 7, msg.intercept.rip);
	EXPECT_EQ('5', msg.io.rax & 0xff);
	EXPECT_EQ(0xee, msg.io.instruction_bytes[0]);
	EXPECT_EQ(0, msg.intercept.vp_index);
	vp_skip(vp, &msg);

	vp_run(vp, &msg);
	ASSERT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ(0, msg.io.rax & 0xff);
	EXPECT_EQ(CODE_GPA + 10, msg.intercept.rip);
	vp_skip(vp, &msg);

	vp_run(vp, &msg);
	EXPECT_EQ(HVMSG_X64_HALT, msg.type);
	EXPECT_EQ(CODE_GPA + 11, msg.intercept.rip);
	/* The registers the guest changed are the VP's. */
	EXPECT_EQ(0, vp_get_reg(vp, HV_X64_REGISTER_RAX) & 0xff);
	EXPECT_EQ(3, vp_get_reg(vp, HV_X64_REGISTER_RBX));
	EXPECT_EQ(0x3f8, vp_get_reg(vp, HV_X64_REGISTER_RDX) & 0xffff);
	vm_destroy(vm);
}

/*
 * A ucall loop: count AL from 0 to 4, reporting each value (out %ax, $UCALL_PORT+SYNC via DX),
 * then report DONE.
 *   mov $0x1000,%dx; mov $0,%al;
 * 1: out %ax,(%dx); inc %al; cmp $5,%al; jnz 1b; mov $0x1001,%dx; out %ax,(%dx); hlt
 */
static const __u8 counter[] = {
	0xba, 0x00, 0x10,	/* mov $0x1000, %dx */
	0xb0, 0x00,		/* mov $0, %al */
	0xef,			/* 1: out %ax, (%dx) */
	0xfe, 0xc0,		/* inc %al */
	0x3c, 0x05,		/* cmp $5, %al */
	0x75, 0xf9,		/* jnz 1b */
	0xba, 0x01, 0x10,	/* mov $0x1001, %dx */
	0xef,			/* out %ax, (%dx) */
	0xf4,			/* hlt */
};

TEST(ucall_loop)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0];
	struct ucall uc;
	int i;

	vm_load(vm, CODE_GPA, counter, sizeof(counter));
	vp_set_entry(vp, CODE_GPA);
	for (i = 0; i < 5; i++) {
		vp_get_ucall(vp, &uc);
		ASSERT_EQ(UCALL_SYNC, uc.kind);
		ASSERT_EQ(i, uc.arg & 0xff);
	}
	vp_get_ucall(vp, &uc);
	EXPECT_EQ(UCALL_DONE, uc.kind);
	EXPECT_EQ(5, uc.arg & 0xff);
	vm_destroy(vm);
}

TEST(unmapped_gpa_intercept)
{
	/* mov 0x8000,%al with DS base 0x20000: GPA 0x28000 lies past the 64 KiB of RAM. */
	static const __u8 code[] = { 0xa0, 0x00, 0x80, 0xf4 };
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0];
	struct hv_message msg;

	vm_load(vm, CODE_GPA, code, sizeof(code));
	vp_set_entry(vp, CODE_GPA);
	ASSERT_EQ(0, __vp_set_reg(vp, HV_X64_REGISTER_DS, 0x20000, 0xffff | (0x2000ULL << 32)));
	vp_run(vp, &msg);
	ASSERT_EQ(HVMSG_UNMAPPED_GPA, msg.type);
	EXPECT_EQ(0x28000, msg.mem.gpa);
	EXPECT_EQ(0, msg.intercept.access_type);	/* read */
	EXPECT_EQ(CODE_GPA, msg.intercept.rip);
	vm_destroy(vm);
}

static void on_alarm(int sig)
{
}

TEST(signal_interrupts_run_and_loses_nothing)
{
	/* 1: jmp 1b -- a guest that never exits on its own. */
	static const __u8 spin[] = { 0xeb, 0xfe };
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0];
	struct sigaction sa = { .sa_handler = on_alarm };
	struct hv_message msg;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	vm_load(vm, CODE_GPA, spin, sizeof(spin));
	vp_set_entry(vp, CODE_GPA);
	alarm(1);
	errno = 0;
	EXPECT_EQ(-1, __vp_run(vp, &msg));
	EXPECT_EQ(EINTR, errno);
	/* The VP can run again: replace the loop with the hello guest. */
	vm_load(vm, CODE_GPA, hello, sizeof(hello));
	vp_set_reg(vp, HV_X64_REGISTER_RIP, CODE_GPA);
	vp_run(vp, &msg);
	EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	vm_destroy(vm);
}

TEST(bad_message_buffer_keeps_the_message)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0];
	struct hv_message msg;

	vm_load(vm, CODE_GPA, hello, sizeof(hello));
	vp_set_entry(vp, CODE_GPA);
	errno = 0;
	EXPECT_EQ(-1, __vp_run(vp, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* The intercept is not lost: the next call returns it without running the guest. */
	vp_run(vp, &msg);
	EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ(CODE_GPA + 7, msg.intercept.rip);
	vm_destroy(vm);
}

TEST(vp_fd_keeps_the_partition)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0];
	struct hv_message msg;

	vm_load(vm, CODE_GPA, hello, sizeof(hello));
	/* Close the partition fd first: the VP still runs. */
	close(vm->pt_fd);
	vm->pt_fd = -1;
	vp_set_entry(vp, CODE_GPA);
	vp_run(vp, &msg);
	EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	vm_destroy(vm);
}

TEST(vp_fd_unknown_ioctls_are_enotty)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	__u32 cap = MSHV_CAP_CORE_API_STABLE;

	errno = 0;
	EXPECT_EQ(-1, ioctl(vm->vp_fd[0], MSHV_CHECK_EXTENSION, &cap));
	EXPECT_EQ(ENOTTY, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(vm->vp_fd[0], MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(ENOTTY, errno);
	vm_destroy(vm);
}

static void *run_until_signalled(void *arg)
{
	struct hv_message msg;
	long r = __vp_run(*(int *)arg, &msg);

	return (void *)(r == -1 && errno == EINTR ? 0L : 1L);
}

TEST(waiting_for_a_running_vp_is_killable)
{
	static const __u8 spin[] = { 0xeb, 0xfe };
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	struct sigaction sa = { .sa_handler = on_alarm };
	int vp = vm->vp_fd[0], status;
	pthread_t runner;
	void *ret;
	pid_t child;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	vm_load(vm, CODE_GPA, spin, sizeof(spin));
	vp_set_entry(vp, CODE_GPA);
	ASSERT_EQ(0, pthread_create(&runner, NULL, run_until_signalled, &vp));
	usleep(300000);
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* Waits for the running VP, as upstream does; must stay killable. */
		vp_get_reg(vp, HV_X64_REGISTER_RIP);
		_exit(0);
	}
	usleep(300000);
	ASSERT_EQ(0, kill(child, SIGKILL));
	usleep(500000);
	/* The child died of SIGKILL while the VP still ran. */
	ASSERT_EQ(child, waitpid(child, &status, WNOHANG));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(0, pthread_kill(runner, SIGUSR1));
	ASSERT_EQ(0, pthread_join(runner, &ret));
	EXPECT_EQ(NULL, ret);
	vm_destroy(vm);
}

TEST_HARNESS_MAIN
