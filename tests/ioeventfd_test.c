// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_IOEVENTFD: a guest write that matches an ioeventfd signals its eventfd
 * inside MSHV_RUN_VP, and the VP runs on past the instruction; anything else
 * is an exit to userspace as before. Port I/O (MSHV_CAP_IOEVENTFD_PIO) and
 * MMIO (MSHV_CAP_IOEVENTFD), datamatch, sizes, collisions, deassign, close
 * orders, and no hypercall on the way.
 *
 * The guests write a counter (AL, or AX) to the port or the MMIO address, then
 * report it with a ucall, and loop:
 *   pio:  mov $0,%al; 1: mov $PORT,%dx; out %al,(%dx); mov $UCALL_PORT,%dx;
 *         out %ax,(%dx); inc %al; jmp 1b
 *   mmio: mov $0,%al; 1: mov %al,(0) [DS base MMIO]; mov $UCALL_PORT,%dx;
 *         out %ax,(%dx); inc %al; jmp 1b
 * (mmio16 stores AX, from 0x101, with "mov %ax,(0)".) Guest RAM is 64K at 0, so the MMIO
 * address 0x10000 has no memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "ucall.h"
#include "sim.h"
#include "kmsg.h"

#define CODE	0x1000
#define PORT	0x3000
#define MMIO	0x10000

static const __u8 pio[] = {
	0xb0, 0x00,		/* mov $0, %al */
	0xba, 0x00, 0x30,	/* 1: mov $PORT, %dx */
	0xee,			/* out %al, (%dx) */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xfe, 0xc0,		/* inc %al */
	0xeb, 0xf4,		/* jmp 1b */
};

static const __u8 mmio[] = {
	0xb0, 0x00,		/* mov $0, %al */
	0xa2, 0x00, 0x00,	/* 1: mov %al, (0) */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xfe, 0xc0,		/* inc %al */
	0xeb, 0xf5,		/* jmp 1b */
};

static const __u8 mmio16[] = {
	0xb8, 0x01, 0x01,	/* mov $0x101, %ax */
	0xa3, 0x00, 0x00,	/* 1: mov %ax, (0) */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xfe, 0xc0,		/* inc %al */
	0xeb, 0xf5,		/* jmp 1b */
};

#define D (1 << MSHV_IOEVENTFD_BIT_DATAMATCH)
#define P (1 << MSHV_IOEVENTFD_BIT_PIO)
#define X (1 << MSHV_IOEVENTFD_BIT_DEASSIGN)


static int ioeventfd(int pt, int fd, __u64 addr, __u32 len, __u64 datamatch, __u32 flags)
{
	struct mshv_user_ioeventfd a = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = flags,
	};

	return ioctl(pt, MSHV_IOEVENTFD, &a);
}

/* The eventfd's count, read (and so reset): 0 if nothing was signalled. */
static __u64 count(int efd)
{
	__u64 n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

FIXTURE(vm) {
	struct mshv_vm *vm;
	int pt, vp, efd;
};

FIXTURE_SETUP(vm)
{
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_IOEVENTFD));
	self->vm = vm_create_with_one_vp(0x10000);
	self->pt = self->vm->pt_fd;
	self->vp = self->vm->vp_fd[0];
	self->efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	vp_set_entry(self->vp, CODE);
	/* DS base at the MMIO address: "(0)" is MMIO. */
	ASSERT_EQ(0, __vp_set_reg(self->vp, HV_X64_REGISTER_DS, MMIO, 0xffffULL | (0x93ULL << 48)));
}

FIXTURE_TEARDOWN(vm)
{
	sim_fault("clear");
	close(self->efd);
	vm_destroy(self->vm);
}

/* Runs to the next ucall, which must report arg; no other exit on the way. */
static void expect_ucall(struct __test_metadata *_metadata, int vp, __u16 arg)
{
	struct ucall uc;

	vp_get_ucall(vp, &uc);
	EXPECT_EQ(UCALL_SYNC, uc.kind);
	EXPECT_EQ(arg, uc.arg & 0xff);
}

/* Runs to the next exit, which must be the guest's write of value to PORT. */
static void expect_port_write(struct __test_metadata *_metadata, int vp, __u8 value)
{
	struct hv_message msg;

	vp_run(vp, &msg);
	ASSERT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	EXPECT_EQ(PORT, msg.io.port);
	EXPECT_EQ(value, msg.io.rax & 0xff);
	vp_skip(vp, &msg);
}

TEST(capabilities)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);

	EXPECT_EQ(1, mshv_check_cap(MSHV_CAP_IOEVENTFD));
	EXPECT_EQ(1, mshv_check_cap(MSHV_CAP_IOEVENTFD_PIO));
	close(mshv);
}

TEST_F(vm, bad_input)
{
	struct mshv_user_ioeventfd a = { .addr = MMIO, .len = 1, .fd = self->efd };
	int null = open("/dev/null", O_RDONLY);
	struct {
		__u64 addr;
		__u32 len;
		__u32 flags;
	} bad[] = {
		{ MMIO, 1, 1 << MSHV_IOEVENTFD_BIT_COUNT },	/* unknown flag */
		{ MMIO, 3, 0 },					/* a size no write has */
		{ MMIO, 16, 0 },
		{ ~0ULL - 1, 4, 0 },				/* wraps around */
		{ 0x10000, 1, P },				/* past the last port */
		{ PORT, 8, P },					/* no 8-byte port I/O */
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioeventfd(self->pt, self->efd, bad[i].addr, bad[i].len, 0,
					bad[i].flags)) TH_LOG("case %u", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %u", i);
	}
	a.rsvd[3] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IOEVENTFD, &a));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, -1, MMIO, 1, 0, 0));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, null, MMIO, 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IOEVENTFD, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* The last port, the last bytes of the address space, a value at any size: fine. */
	EXPECT_EQ(0, ioeventfd(self->pt, self->efd, 0xffff, 1, 0, P));
	EXPECT_EQ(0, ioeventfd(self->pt, self->efd, MMIO + 0x100, 0, 5, D));
	EXPECT_EQ(0, ioeventfd(self->pt, self->efd, ~0ULL - 8, 8, 0, 0));
	/* Not on the VP fd or /dev/mshv. */
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->vp, self->efd, MMIO, 1, 0, 0));
	EXPECT_EQ(ENOTTY, errno);
	close(null);
}

TEST_F(vm, collisions_and_deassign)
{
	int other = eventfd(0, 0);

	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 4, 1, D));
	/* The same value, any value, any size at the address: EEXIST, whatever the eventfd. */
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, other, MMIO, 4, 1, D));
	EXPECT_EQ(EEXIST, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, other, MMIO, 4, 0, 0));
	EXPECT_EQ(EEXIST, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, other, MMIO, 0, 0, 0));
	EXPECT_EQ(EEXIST, errno);
	/* Another value, another size, another address, or port I/O: fine. */
	EXPECT_EQ(0, ioeventfd(self->pt, other, MMIO, 4, 2, D));
	EXPECT_EQ(0, ioeventfd(self->pt, other, MMIO, 2, 0, 0));
	EXPECT_EQ(0, ioeventfd(self->pt, other, MMIO + 4, 4, 1, D));
	EXPECT_EQ(0, ioeventfd(self->pt, other, 0x100, 4, 1, D));
	EXPECT_EQ(0, ioeventfd(self->pt, other, 0x100, 4, 1, D | P));
	/* Deassign names one exactly: eventfd, address, size, value and kind. */
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, self->efd, MMIO, 4, 2, D | X));
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, self->efd, MMIO, 4, 1, X));
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, other, MMIO, 4, 1, D | X));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 4, 1, D | X));
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, self->efd, MMIO, 4, 1, D | X));
	EXPECT_EQ(ENOENT, errno);
	/* Its place is free again. */
	EXPECT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 4, 1, D));
	close(other);
}

TEST_F(vm, port_write_signals_without_an_exit)
{
	vm_load(self->vm, CODE, pio, sizeof(pio));
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 1, 0, P));
	/* Each write is done in the kernel: only the ucalls come out. */
	expect_ucall(_metadata, self->vp, 0);
	expect_ucall(_metadata, self->vp, 1);
	expect_ucall(_metadata, self->vp, 2);
	EXPECT_EQ(3, count(self->efd));
	/* Deassigned: the writes exit again. */
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 1, 0, P | X));
	expect_port_write(_metadata, self->vp, 3);
	expect_ucall(_metadata, self->vp, 3);
	EXPECT_EQ(0, count(self->efd));
}

TEST_F(vm, port_datamatch_and_size)
{
	vm_load(self->vm, CODE, pio, sizeof(pio));
	/* Only the value 2; and a 2-byte ioeventfd never answers the 1-byte write. */
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 1, 2, P | D));
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 2, 0, P));
	expect_port_write(_metadata, self->vp, 0);
	expect_ucall(_metadata, self->vp, 0);
	expect_port_write(_metadata, self->vp, 1);
	expect_ucall(_metadata, self->vp, 1);
	expect_ucall(_metadata, self->vp, 2);
	EXPECT_EQ(1, count(self->efd));
	expect_port_write(_metadata, self->vp, 3);
}

TEST_F(vm, mmio_write_signals_without_an_exit)
{
	struct hv_message msg;

	vm_load(self->vm, CODE, mmio, sizeof(mmio));
	/* Without an ioeventfd: the write is the VMM's to emulate. */
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_UNMAPPED_GPA, msg.type);
	EXPECT_EQ(MMIO, msg.mem.gpa);
	EXPECT_EQ(1, msg.mem.header.access_type);
	vp_set_reg(self->vp, HV_X64_REGISTER_RIP, CODE + 5);
	expect_ucall(_metadata, self->vp, 0);
	/* Any size at the address: done in the kernel. */
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 0, 0, 0));
	expect_ucall(_metadata, self->vp, 1);
	expect_ucall(_metadata, self->vp, 2);
	EXPECT_EQ(2, count(self->efd));
}

TEST_F(vm, mmio_datamatch_on_a_register_value)
{
	struct hv_message msg;

	vm_load(self->vm, CODE, mmio16, sizeof(mmio16));
	/* A 2-byte write of 0x102 only. */
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 2, 0x102, D));
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_UNMAPPED_GPA, msg.type);	/* 0x101: no match, the VMM's */
	EXPECT_EQ(MMIO, msg.mem.gpa);
	vp_set_reg(self->vp, HV_X64_REGISTER_RIP, CODE + 6);
	expect_ucall(_metadata, self->vp, 1);
	expect_ucall(_metadata, self->vp, 2);		/* 0x102: done in the kernel */
	EXPECT_EQ(1, count(self->efd));
}

TEST_F(vm, value_at_any_size)
{
	struct hv_message msg;

	vm_load(self->vm, CODE, mmio, sizeof(mmio));
	/* len 0 with a value, as upstream's doorbells: the 1-byte write of 1 matches, of 0 not. */
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 0, 1, D));
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_UNMAPPED_GPA, msg.type);
	vp_set_reg(self->vp, HV_X64_REGISTER_RIP, CODE + 5);
	expect_ucall(_metadata, self->vp, 0);
	expect_ucall(_metadata, self->vp, 1);
	EXPECT_EQ(1, count(self->efd));
}

TEST_F(vm, single_stepping_goes_to_userspace)
{
	vm_load(self->vm, CODE, pio, sizeof(pio));
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 1, 0, P));
	/* RFLAGS.TF: the write's #DB trap is an emulator's to raise, so the VMM gets the write. */
	vp_set_reg(self->vp, HV_X64_REGISTER_RFLAGS, 0x102);
	expect_port_write(_metadata, self->vp, 0);
	EXPECT_EQ(0, count(self->efd));
	vp_set_reg(self->vp, HV_X64_REGISTER_RFLAGS, 0x2);
	expect_ucall(_metadata, self->vp, 0);
	expect_ucall(_metadata, self->vp, 1);
	EXPECT_EQ(1, count(self->efd));
}

TEST_F(vm, reads_are_never_answered)
{
	static const __u8 load[] = { 0xa0, 0x00, 0x00, 0xf4 };	/* mov (0),%al; hlt */
	struct hv_message msg;

	vm_load(self->vm, CODE, load, sizeof(load));
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 0, 0, 0));
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_UNMAPPED_GPA, msg.type);
	EXPECT_EQ(0, msg.mem.header.access_type);
	EXPECT_EQ(0, count(self->efd));
}

TEST_F(vm, closed_eventfd_still_completes_the_write)
{
	vm_load(self->vm, CODE, pio, sizeof(pio));
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 0, 0, P));
	/* The partition holds the eventfd: the file may go. */
	close(self->efd);
	self->efd = eventfd(0, EFD_NONBLOCK);
	expect_ucall(_metadata, self->vp, 0);
	expect_ucall(_metadata, self->vp, 1);
}

TEST_F(vm, partition_closed_with_ioeventfds)
{
	int other = eventfd(0, 0), before = sim_present() ? sim_partitions() : 0;
	__u64 one = 1;

	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, PORT, 0, 0, P));
	ASSERT_EQ(0, ioeventfd(self->pt, other, MMIO, 0, 0, 0));
	/* Partition first, the eventfds after (the fixture closes the rest). */
	EXPECT_EQ(0, close(self->vm->vp_fd[0]));
	self->vm->vp_fd[0] = -1;
	EXPECT_EQ(0, close(self->pt));
	self->vm->pt_fd = open("/dev/null", O_RDONLY);
	if (sim_present())
		EXPECT_EQ(before - 1, sim_partitions());
	/* The eventfds are the process's again, and work. */
	EXPECT_EQ(8, write(other, &one, 8));
	EXPECT_EQ(1, count(other));
	close(other);
}

TEST_F(vm, no_hypercall_on_the_way)
{
	long sets, gets;

	TEST_REQUIRE(sim_present());
	vm_load(self->vm, CODE, mmio16, sizeof(mmio16));
	ASSERT_EQ(0, ioeventfd(self->pt, self->efd, MMIO, 2, 0x101, D));
	/*
	 * The value (a register) and the move past the write both go through the VP's register
	 * page: the only hypercalls are the dispatches.
	 */
	sets = sim_calls(HVCALL_SET_VP_REGISTERS);
	gets = sim_calls(HVCALL_GET_VP_REGISTERS);
	expect_ucall(_metadata, self->vp, 1);
	EXPECT_EQ(1, count(self->efd));
	/*
	 * Two SetVpRegisters: the driver's, clearing the explicit suspend a VP is created with
	 * (its first run), and the test's own, stepping over the ucall.
	 */
	EXPECT_EQ(sets + 2, sim_calls(HVCALL_SET_VP_REGISTERS));
	EXPECT_EQ(gets, sim_calls(HVCALL_GET_VP_REGISTERS));
}

struct flipper {
	int pt, efd;
	volatile bool stop;
	unsigned long rounds;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;

	while (!f->stop) {
		ioeventfd(f->pt, f->efd, PORT, 1, 0, P);
		ioeventfd(f->pt, f->efd, PORT, 1, 0, P | X);
		f->rounds++;
	}
	return NULL;
}

TEST_F(vm, deassign_while_the_guest_writes)
{
	struct flipper f = { .pt = self->pt, .efd = self->efd };
	struct hv_message msg;
	int i, exits = 0, ucalls = 0, last_was_write = 0;
	pthread_t t;

	vm_load(self->vm, CODE, pio, sizeof(pio));
	ASSERT_EQ(0, pthread_create(&t, NULL, flip, &f));
	/* Each write is answered by the ioeventfd or exits: never both, never neither. */
	for (i = 0; i < 400; i++) {
		vp_run(self->vp, &msg);
		ASSERT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
		last_was_write = msg.io.port == PORT;
		if (last_was_write)
			exits++;
		else
			ucalls++;
		vp_skip(self->vp, &msg);
	}
	f.stop = true;
	pthread_join(t, NULL);
	ksft_print_msg("%lu flips, %d writes exited, %d ucalls\n", f.rounds, exits, ucalls);
	/*
	 * Every ucall follows one write (and a write that exited last has no ucall yet): the
	 * writes that did not exit were signalled, each once.
	 */
	EXPECT_EQ(ucalls + last_was_write - exits, (int)count(self->efd));
}

/* Eventfd, VP and partition closed in each of the six orders, with an ioeventfd just used. */
TEST(close_orders)
{
	static const int orders[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	int before;

	TEST_REQUIRE(sim_present());
	before = sim_partitions();
	for (int o = 0; o < 6; o++) {
		struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
		int efd = eventfd(0, EFD_NONBLOCK), fds[3];
		struct ucall uc;

		ASSERT_LE(0, efd);
		vm_load(vm, CODE, pio, sizeof(pio));
		vp_set_entry(vm->vp_fd[0], CODE);
		ASSERT_EQ(0, ioeventfd(vm->pt_fd, efd, PORT, 1, 0, P));
		vp_get_ucall(vm->vp_fd[0], &uc);
		EXPECT_EQ(1, count(efd));
		fds[0] = efd;
		fds[1] = vm->vp_fd[0];
		fds[2] = vm->pt_fd;
		for (int i = 0; i < 3; i++)
			EXPECT_EQ(0, close(fds[orders[o][i]]));
		/* vm_destroy closes what is left: nothing but /dev/mshv. */
		vm->vp_fd[0] = -1;
		vm->pt_fd = open("/dev/null", O_RDONLY);
		vm_destroy(vm);
	}
	/* Every partition went with its last fd. */
	EXPECT_EQ(before, sim_partitions());
}

TEST_HARNESS_MAIN
