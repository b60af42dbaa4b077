// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_IRQFD: a signalled eventfd asserts the MSI its GSI is routed to, seen
 * as a pending interrupt in the simulator; assign and deassign with good and
 * bad input; closing things in every order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "ucall.h"
#include "sim.h"

#define HVCALL_ASSERT_VIRTUAL_INTERRUPT	0x0094

/* How many interrupts with vector are pending on VP 0 of any partition. */
static int pending(int vector)
{
	char buf[4096], want[32], *p = buf;
	int fd = open(SIM "state", O_RDONLY), n = 0;
	ssize_t len;

	TEST_ASSERT(fd >= 0, "open state: %s", strerror(errno));
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	TEST_ASSERT(len > 0, "read state");
	buf[len] = 0;
	snprintf(want, sizeof(want), " 0 %#x\n", vector);
	while ((p = strstr(p, "pending "))) {
		char *eol = strchr(p, '\n');

		if (eol && !strncmp(strchr(p + 8, ' '), want, strlen(want)))
			n++;
		p += 8;
	}
	return n;
}

/* Waits up to a second for the injection work item to have run. */
static int wait_pending(int vector)
{
	for (int i = 0; i < 100; i++) {
		if (pending(vector))
			return 1;
		usleep(10000);
	}
	return 0;
}

static int irqfd(int pt, int fd, __u32 gsi, __u32 flags)
{
	struct mshv_user_irqfd a = { .fd = fd, .resamplefd = -1, .gsi = gsi, .flags = flags };

	return ioctl(pt, MSHV_IRQFD, &a);
}

/* Routes gsi to vector on APIC ID (VP) 0, fixed, edge (or with data bit 15, level), physical. */
static void route(int pt, __u32 gsi, __u32 vector)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} r = { { .nr = 1 }, { .gsi = gsi, .address_lo = 0xfee00000, .data = vector } };

	TEST_ASSERT(ioctl(pt, MSHV_SET_MSI_ROUTING, &r) == 0, "routing: %s", strerror(errno));
}

#define LEVEL (1 << 15)

static int resample_irqfd(int pt, int fd, int resamplefd, __u32 gsi)
{
	struct mshv_user_irqfd a = {
		.fd = fd,
		.resamplefd = resamplefd,
		.gsi = gsi,
		.flags = 1 << MSHV_IRQFD_BIT_RESAMPLE,
	};

	return ioctl(pt, MSHV_IRQFD, &a);
}

static void signal_efd(int efd)
{
	__u64 one = 1;

	TEST_ASSERT(write(efd, &one, 8) == 8, "eventfd write");
}

/* The eventfd's count, taken; 0 when it had none. */
static __u64 take(int efd)
{
	__u64 n = 0;

	if (read(efd, &n, 8) != 8)
		TEST_ASSERT(errno == EAGAIN, "eventfd read: %s", strerror(errno));
	return n;
}

FIXTURE(vm) {
	struct mshv_vm *vm;
	int efd;
};

FIXTURE_SETUP(vm)
{
	self->vm = NULL;
	if (mshv_check_cap(MSHV_CAP_IRQFD) <= 0)
		SKIP(return, "no MSHV_CAP_IRQFD");
	if (access(SIM "state", R_OK))
		SKIP(return, "no simulator: nothing shows the pending interrupt");
	self->vm = vm_create_with_one_vp(16 * 4096);
	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
	ASSERT_EQ(0, pending(0x30));
}

FIXTURE_TEARDOWN(vm)
{
	if (!self->vm)
		return;
	sim_fault("clear");
	close(self->efd);
	vm_destroy(self->vm);
}

TEST_F(vm, signal_asserts_the_routed_interrupt)
{
	int pt = self->vm->pt_fd;

	route(pt, 5, 0x30);
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	signal_efd(self->efd);
	EXPECT_TRUE(wait_pending(0x30));
	/* The kernel took the count. */
	EXPECT_EQ(0, take(self->efd));
}

TEST_F(vm, the_route_is_read_at_signal_time)
{
	int pt = self->vm->pt_fd;

	ASSERT_EQ(0, irqfd(pt, self->efd, 7, 0));
	/* No route: nothing is asserted. */
	signal_efd(self->efd);
	usleep(100000);
	EXPECT_EQ(0, pending(0x30));
	EXPECT_EQ(0, take(self->efd));
	/* Routed afterwards: the next signal uses the new table. */
	route(pt, 7, 0x31);
	signal_efd(self->efd);
	EXPECT_TRUE(wait_pending(0x31));
}

/* What MSHV_SET_MSI_ROUTING promises, seen through an irqfd. */
TEST_F(vm, a_refused_table_keeps_the_old_one_and_an_empty_one_routes_nothing)
{
	int pt = self->vm->pt_fd;
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[2];
	} bad = { { .nr = 2 }, { { .gsi = 5, .data = 0x31 }, { .gsi = 5, .data = 0x32 } } };
	struct mshv_user_irq_table empty = { .nr = 0 };
	long before;

	route(pt, 5, 0x30);
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	/* GSI 5 twice: refused, and the old table stays whole. */
	ASSERT_EQ(-1, ioctl(pt, MSHV_SET_MSI_ROUTING, &bad));
	ASSERT_EQ(EINVAL, errno);
	signal_efd(self->efd);
	EXPECT_TRUE(wait_pending(0x30));
	EXPECT_EQ(0, pending(0x31));
	/*
	 * Emptied: the next signal asserts nothing. (The simulator keeps one
	 * pending entry per vector, so count the assert calls instead.)
	 */
	ASSERT_EQ(0, ioctl(pt, MSHV_SET_MSI_ROUTING, &empty));
	before = sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT);
	ASSERT_LE(0, before);
	signal_efd(self->efd);
	usleep(100000);
	EXPECT_EQ(0, take(self->efd));
	EXPECT_EQ(before, sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT));
	/* A table without GSI 5: nothing either. */
	route(pt, 6, 0x33);
	signal_efd(self->efd);
	usleep(100000);
	EXPECT_EQ(0, take(self->efd));
	EXPECT_EQ(before, sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT));
	EXPECT_EQ(0, pending(0x33));
}

TEST_F(vm, a_signal_before_assign_is_delivered)
{
	int pt = self->vm->pt_fd;

	route(pt, 1, 0x30);
	signal_efd(self->efd);
	ASSERT_EQ(0, irqfd(pt, self->efd, 1, 0));
	EXPECT_TRUE(wait_pending(0x30));
}

TEST_F(vm, deassign_stops_it)
{
	int pt = self->vm->pt_fd;

	route(pt, 5, 0x30);
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	/* Another GSI of the same eventfd matches nothing: not an error, as upstream. */
	EXPECT_EQ(0, irqfd(pt, self->efd, 6, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	EXPECT_EQ(0, irqfd(pt, self->efd, 5, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	signal_efd(self->efd);
	usleep(100000);
	EXPECT_EQ(0, pending(0x30));
	/* Nobody listens: the count stays. */
	EXPECT_EQ(1, take(self->efd));
	/* Assignable again after deassign. */
	EXPECT_EQ(0, irqfd(pt, self->efd, 5, 0));
	signal_efd(self->efd);
	EXPECT_TRUE(wait_pending(0x30));
}

TEST_F(vm, one_gsi_per_eventfd)
{
	int pt = self->vm->pt_fd;
	int other = eventfd(0, EFD_NONBLOCK);

	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	EXPECT_EQ(-1, irqfd(pt, self->efd, 5, 0));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, irqfd(pt, self->efd, 6, 0));
	EXPECT_EQ(EBUSY, errno);
	/* Two eventfds may raise one GSI. */
	EXPECT_EQ(0, irqfd(pt, other, 5, 0));
	/* A closed eventfd's irqfd is freed by the next assign (KASAN watches that path). */
	close(other);
	other = eventfd(0, EFD_NONBLOCK);
	EXPECT_EQ(0, irqfd(pt, other, 5, 0));
	route(pt, 5, 0x30);
	signal_efd(other);
	EXPECT_TRUE(wait_pending(0x30));
	close(other);
}

TEST_F(vm, bad_input)
{
	int pt = self->vm->pt_fd;
	int pipefd[2];

	EXPECT_EQ(-1, irqfd(pt, self->efd, 5, 1 << MSHV_IRQFD_BIT_COUNT));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, irqfd(pt, -1, 5, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, irqfd(pt, -1, 5, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-1, irqfd(pt, pipefd[0], 5, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, irqfd(pt, pipefd[0], 5, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	EXPECT_EQ(EINVAL, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	/* Resampling needs a resamplefd, and a level-triggered route (as upstream). */
	EXPECT_EQ(-1, irqfd(pt, self->efd, 5, 1 << MSHV_IRQFD_BIT_RESAMPLE));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, resample_irqfd(pt, -1, self->efd, 5));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, resample_irqfd(pt, self->efd, self->efd + 1000, 5));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, resample_irqfd(pt, self->efd, self->efd, 5));	/* no route */
	EXPECT_EQ(EINVAL, errno);
	route(pt, 5, 0x30);
	EXPECT_EQ(-1, resample_irqfd(pt, self->efd, self->efd, 5));	/* edge-triggered */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(pt, MSHV_IRQFD, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* Nothing was left assigned by the failures. */
	EXPECT_EQ(0, irqfd(pt, self->efd, 5, 0));
}

TEST_F(vm, a_failing_assert_is_survived)
{
	int pt = self->vm->pt_fd;
	char line[64];
	long before;

	route(pt, 5, 0x30);
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	snprintf(line, sizeof(line), "%#x 1 1 %#x\n", HVCALL_ASSERT_VIRTUAL_INTERRUPT,
		 HV_STATUS_INVALID_PARAMETER);
	sim_fault(line);
	before = sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT);
	ASSERT_LE(0, before);
	signal_efd(self->efd);
	/* Wait for the failed assert, so the next signal is not merged into it. */
	for (int i = 0; i < 100 && sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT) == before; i++)
		usleep(10000);
	ASSERT_EQ(before + 1, sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT));
	EXPECT_EQ(0, pending(0x30));
	/* The next signal gets through. */
	signal_efd(self->efd);
	EXPECT_TRUE(wait_pending(0x30));
}

/* A route to a VP that does not exist asserts nothing (upstream once dereferenced NULL). */
TEST_F(vm, a_route_to_no_vp)
{
	int pt = self->vm->pt_fd;
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} r = { { .nr = 1 }, { .gsi = 5, .address_lo = 0xfee00000 | 3 << 12, .data = 0x30 } };
	long before;

	ASSERT_EQ(0, ioctl(pt, MSHV_SET_MSI_ROUTING, &r));
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	before = sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT);
	ASSERT_LE(0, before);
	signal_efd(self->efd);
	for (int i = 0; i < 100 && sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT) == before; i++)
		usleep(10000);
	EXPECT_EQ(before + 1, sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT));
	EXPECT_EQ(0, pending(0x30));
}

TEST_F(vm, signals_in_flight_while_closing)
{
	int pt = self->vm->pt_fd;
	long before;

	route(pt, 5, 0x30);
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	/* Deassign right behind a signal: the injection finishes or never starts. */
	for (int i = 0; i < 50; i++) {
		signal_efd(self->efd);
		ASSERT_EQ(0, irqfd(pt, self->efd, 5, 1 << MSHV_IRQFD_BIT_DEASSIGN));
		ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	}
	/* After a deassign returns, nothing more is asserted. */
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	before = sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT);
	ASSERT_LE(0, before);
	signal_efd(self->efd);
	usleep(100000);
	EXPECT_EQ(before, sim_calls(HVCALL_ASSERT_VIRTUAL_INTERRUPT));
	/* Teardown closes the partition with the irqfd assigned and a signal in flight. */
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	signal_efd(self->efd);
}

/* Close orders: eventfd first, partition first, VP first. */
TEST(close_orders)
{
	int start;

	if (mshv_check_cap(MSHV_CAP_IRQFD) <= 0)
		SKIP(return, "no MSHV_CAP_IRQFD");
	if (access(SIM "state", R_OK))
		SKIP(return, "no simulator");
	start = sim_partitions();
	for (int order = 0; order < 3; order++) {
		struct mshv_vm *vm = vm_create_with_one_vp(16 * 4096);
		int efd = eventfd(0, EFD_NONBLOCK);

		route(vm->pt_fd, 5, 0x30);
		ASSERT_EQ(0, irqfd(vm->pt_fd, efd, 5, 0));
		signal_efd(efd);
		switch (order) {
		case 0:
			close(efd);
			vm_destroy(vm);
			break;
		case 1:
			close(vm->pt_fd);
			signal_efd(efd);	/* the VP fd still holds the partition */
			close(vm->vp_fd[0]);
			close(vm->mshv_fd);
			munmap(vm->mem, vm->mem_size);
			free(vm);
			close(efd);
			break;
		case 2:
			close(vm->vp_fd[0]);
			vm->vp_fd[0] = -1;
			vm_destroy(vm);
			signal_efd(efd);
			close(efd);
			break;
		}
		/* The irqfd held no reference that kept the partition. */
		EXPECT_EQ(start, sim_partitions());
	}
}

/*
 * The guest ends its interrupt: it writes the xAPIC EOI register (DS based at the APIC), then
 * reports with a ucall.
 */
static const __u8 eoi_guest[] = {
	0xa2, 0xb0, 0x00,	/* mov %al, (0xb0) */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xf4,			/* hlt */
};

static void enter_eoi_guest(struct mshv_vm *vm)
{
	int vp = vm->vp_fd[0];

	vm_load(vm, 0x1000, eoi_guest, sizeof(eoi_guest));
	vp_set_entry(vp, 0x1000);
	TEST_ASSERT(!__vp_set_reg(vp, HV_X64_REGISTER_DS, 0xfee00000, 0xffffULL | (0x93ULL << 48)),
		    "set DS: %s", strerror(errno));
}

#define HVMSG_X64_APIC_EOI 0x80010004

TEST_F(vm, resample_signalled_at_the_eoi)
{
	int pt = self->vm->pt_fd, rfd = eventfd(0, EFD_NONBLOCK);
	struct ucall uc;

	ASSERT_LE(0, rfd);
	route(pt, 5, LEVEL | 0x40);
	ASSERT_EQ(0, resample_irqfd(pt, self->efd, rfd, 5));
	signal_efd(self->efd);
	ASSERT_TRUE(wait_pending(0x40));
	/* The guest's EOI is the kernel's: the resamplefd fires, the VMM sees only the ucall. */
	enter_eoi_guest(self->vm);
	vp_get_ucall(self->vm->vp_fd[0], &uc);
	EXPECT_EQ(UCALL_SYNC, uc.kind);
	EXPECT_EQ(1, take(rfd));
	EXPECT_EQ(0, pending(0x40));
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	close(rfd);
}

TEST_F(vm, eoi_without_a_resampler_goes_to_the_vmm)
{
	int pt = self->vm->pt_fd, rfd = eventfd(0, EFD_NONBLOCK);
	struct hv_message msg;

	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[2];
	} r = { { .nr = 2 }, {
		{ .gsi = 5, .address_lo = 0xfee00000, .data = LEVEL | 0x40 },
		{ .gsi = 6, .address_lo = 0xfee00000, .data = LEVEL | 0x42 },
	} };
	int other = eventfd(0, EFD_NONBLOCK);

	ASSERT_LE(0, rfd);
	ASSERT_LE(0, other);
	/*
	 * Two level-triggered routes; only GSI 6 (vector 0x42) resamples. The EOI of vector 0x40
	 * is not its: it is the VMM's to handle.
	 */
	ASSERT_EQ(0, ioctl(pt, MSHV_SET_MSI_ROUTING, &r));
	ASSERT_EQ(0, resample_irqfd(pt, other, rfd, 6));
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	signal_efd(self->efd);
	ASSERT_TRUE(wait_pending(0x40));
	enter_eoi_guest(self->vm);
	vp_run(self->vm->vp_fd[0], &msg);
	ASSERT_EQ(HVMSG_X64_APIC_EOI, msg.type);
	EXPECT_EQ(0x40, msg.payload[4]);
	EXPECT_EQ(0, take(rfd));
	close(other);
	close(rfd);
}

TEST_F(vm, edge_triggered_eoi_is_not_reported)
{
	int pt = self->vm->pt_fd;
	struct ucall uc;

	route(pt, 5, 0x41);
	ASSERT_EQ(0, irqfd(pt, self->efd, 5, 0));
	signal_efd(self->efd);
	ASSERT_TRUE(wait_pending(0x41));
	enter_eoi_guest(self->vm);
	vp_get_ucall(self->vm->vp_fd[0], &uc);
	EXPECT_EQ(0, pending(0x41));
}

TEST_HARNESS_MAIN
