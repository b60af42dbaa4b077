// SPDX-License-Identifier: GPL-2.0
/*
 * What a guest or a VMM must not be able to do to the host: keep a task in
 * the kernel after a signal, make one ioctl do unbounded work, exceed the
 * per-partition limits, or make the driver free or map a page it never gave
 * the hypervisor. Also upstream's errno order where two checks could answer.
 *
 * The looping guests write a counter to an ioeventfd and go on, forever:
 *   pio:  mov $PORT,%dx; mov $0,%ax; 1: out %ax,(%dx); inc %ax; jmp 1b
 *   mmio: mov $0,%ax; 1: mov %ax,(0) [DS base MMIO]; inc %ax; jmp 1b
 * Every write is completed inside MSHV_RUN_VP: only a signal ends the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
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

static const __u8 pio_loop[] = {
	0xba, 0x00, 0x30,	/* mov $PORT, %dx */
	0xb8, 0x00, 0x00,	/* mov $0, %ax */
	0xef,			/* 1: out %ax, (%dx) */
	0x40,			/* inc %ax */
	0xeb, 0xfc,		/* jmp 1b */
};
#define PIO_WRITE	(CODE + 6)

static const __u8 mmio_loop[] = {
	0xb8, 0x00, 0x00,	/* mov $0, %ax */
	0xa3, 0x00, 0x00,	/* 1: mov %ax, (0) */
	0x40,			/* inc %ax */
	0xeb, 0xfa,		/* jmp 1b */
};
#define MMIO_WRITE	(CODE + 3)

#define GIB (1ULL << 30)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
}

/* SIGUSR1 interrupts system calls (no SA_RESTART) and does nothing else. */
static void catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction: %s", strerror(errno));
}

static int ioeventfd(int pt, int fd, __u64 addr, __u32 len, __u32 flags)
{
	struct mshv_user_ioeventfd a = { .addr = addr, .len = len, .fd = fd, .flags = flags };

	return ioctl(pt, MSHV_IOEVENTFD, &a);
}

#define PIO_FLAG (1 << MSHV_IOEVENTFD_BIT_PIO)
#define DEASSIGN (1 << MSHV_IOEVENTFD_BIT_DEASSIGN)

/* A VM whose VP loops on writes an ioeventfd completes, port or MMIO. */
struct loop_vm {
	struct mshv_vm *vm;
	int efd;
	bool pio;
	__u64 write_ip;
};

static void loop_vm_create(struct loop_vm *l, bool pio)
{
	struct hv_message msg;

	l->pio = pio;
	l->vm = vm_create_with_one_vp(0x10000);
	l->efd = eventfd(0, EFD_NONBLOCK);
	TEST_ASSERT(l->efd >= 0, "eventfd: %s", strerror(errno));
	vp_set_entry(l->vm->vp_fd[0], CODE);
	if (pio) {
		vm_load(l->vm, CODE, pio_loop, sizeof(pio_loop));
		l->write_ip = PIO_WRITE;
	} else {
		vm_load(l->vm, CODE, mmio_loop, sizeof(mmio_loop));
		l->write_ip = MMIO_WRITE;
		TEST_ASSERT(!__vp_set_reg(l->vm->vp_fd[0], HV_X64_REGISTER_DS, MMIO,
					  0xffffULL | (0x93ULL << 48)), "set DS: %s", strerror(errno));
	}
	/*
	 * Started once, to its first write, which no ioeventfd matches yet: the VP is running
	 * (out of the explicit suspend it is created with, its code faulted in) before the timed
	 * runs, and that write is done again, and counted, when it runs on.
	 */
	vp_run(l->vm->vp_fd[0], &msg);
	TEST_ASSERT(msg.type == (pio ? HVMSG_X64_IO_PORT_INTERCEPT : HVMSG_UNMAPPED_GPA),
		    "first run: message %#x", msg.type);
	if (pio)
		TEST_ASSERT(!ioeventfd(l->vm->pt_fd, l->efd, PORT, 2, PIO_FLAG), "ioeventfd: %s",
			    strerror(errno));
	else
		TEST_ASSERT(!ioeventfd(l->vm->pt_fd, l->efd, MMIO, 2, 0), "ioeventfd: %s",
			    strerror(errno));
}

/* Frees a VP stuck in MSHV_RUN_VP: with the ioeventfd gone, its next write exits. */
static void loop_vm_release(struct loop_vm *l)
{
	ioeventfd(l->vm->pt_fd, l->efd, l->pio ? PORT : MMIO, 2, (l->pio ? PIO_FLAG : 0) | DEASSIGN);
}

static void loop_vm_destroy(struct loop_vm *l)
{
	close(l->efd);
	vm_destroy(l->vm);
}

struct runner {
	int vp;
	int ret, err;
	volatile int done;
};

static void *run_once(void *arg)
{
	struct runner *r = arg;
	struct hv_message msg;

	r->ret = __vp_run(r->vp, &msg);
	r->err = errno;
	r->done = 1;
	return NULL;
}

/*
 * Runs the looping VP on a thread and, after 20 ms, sends it SIGUSR1 every 10 ms (one may come
 * before the thread is in MSHV_RUN_VP, and is then handled in userspace): the run must end with
 * EINTR at the first signal it sees, so within a second. Returns whether it did (a run that
 * does not end is freed by removing the ioeventfd, so the test can report it). The run is kept
 * short: its KCOV trace must not overflow before the end, which is what is tested.
 */
static bool interrupted_in_time(struct __test_metadata *_metadata, struct loop_vm *l)
{
	struct runner r = { .vp = l->vm->vp_fd[0] };
	int i;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, run_once, &r));
	usleep(20000);
	for (i = 0; i < 100 && !r.done; i++) {
		usleep(10000);
		pthread_kill(t, SIGUSR1);
	}
	usleep(10000);
	if (!r.done) {
		TH_LOG("MSHV_RUN_VP still running after 100 signals in a second");
		loop_vm_release(l);
		pthread_join(t, NULL);
		return false;
	}
	pthread_join(t, NULL);
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(EINTR, r.err);
	return true;
}

/*
 * After the run ended, the hypervisor's registers (read by hypercall) must account for every
 * write the eventfd counted: the guest wrote 0, 1, 2, ... so with RIP at the write the count
 * equals AX, and just past it (inc not yet done) AX + 1. A RIP the run moved in the register
 * page but never handed to the hypervisor shows as RIP at the write with AX + 1 writes.
 */
static void expect_consistent(struct __test_metadata *_metadata, struct loop_vm *l,
			      __u64 *total)
{
	int vp = l->vm->vp_fd[0];
	__u64 n = 0, rip = vp_get_reg(vp, HV_X64_REGISTER_RIP);
	__u16 ax = (__u16)vp_get_reg(vp, HV_X64_REGISTER_RAX);
	__u8 *page;

	if (read(l->efd, &n, sizeof(n)) != sizeof(n))
		n = 0;
	*total += n;
	if (rip == l->write_ip + (l->pio ? 1 : 3)) {
		EXPECT_EQ((__u16)(*total - 1), ax) TH_LOG("rip %#llx", (unsigned long long)rip);
	} else {
		EXPECT_EQ((__u16)*total, ax) TH_LOG("rip %#llx", (unsigned long long)rip);
	}
	/* The register page agrees, and holds no RIP the hypervisor has not taken. */
	page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, vp,
		    MSHV_VP_MMAP_OFFSET_REGISTERS * 4096);
	ASSERT_NE(MAP_FAILED, page);
	EXPECT_EQ(0, *(__u32 *)(page + 4) & 2) TH_LOG("RIP still dirty in the register page");
	EXPECT_EQ(rip, *(__u64 *)(page + 136));
	munmap(page, 4096);
}

static void signal_ends_the_loop(struct __test_metadata *_metadata, bool pio)
{
	struct loop_vm l;
	__u64 total = 0;
	int i;

	TEST_REQUIRE(mshv_has_cap(pio ? MSHV_CAP_IOEVENTFD_PIO : MSHV_CAP_IOEVENTFD));
	catch_sigusr1();
	loop_vm_create(&l, pio);
	/* Twice: the VP runs on from where the first run left it, no write lost or doubled. */
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(interrupted_in_time(_metadata, &l));
		expect_consistent(_metadata, &l, &total);
	}
	EXPECT_LT(0, total) TH_LOG("the guest wrote nothing");
	loop_vm_destroy(&l);
}

TEST(signal_ends_a_port_write_loop)
{
	signal_ends_the_loop(_metadata, true);
}

TEST(signal_ends_an_mmio_write_loop)
{
	signal_ends_the_loop(_metadata, false);
}

/* Waits up to ms for child to be reaped; whether it was. */
static bool reaped_within(pid_t child, int ms, int *status)
{
	double end = now() + ms / 1000.0;

	while (now() < end) {
		if (waitpid(child, status, WNOHANG) == child)
			return true;
		usleep(10000);
	}
	return false;
}

TEST(sigkill_ends_a_write_loop)
{
	struct loop_vm l;
	struct hv_message msg;
	int status;
	pid_t child;

	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_IOEVENTFD_PIO));
	loop_vm_create(&l, true);
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		__vp_run(l.vm->vp_fd[0], &msg);
		_exit(0);
	}
	usleep(200000);
	kill(child, SIGKILL);
	if (!reaped_within(child, 2000, &status)) {
		loop_vm_release(&l);
		waitpid(child, &status, 0);
		EXPECT_TRUE(false) TH_LOG("the killed VMM was still in MSHV_RUN_VP 2 s later");
	}
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	loop_vm_destroy(&l);
}

static const __u8 W = 1 << MSHV_SET_MEM_BIT_WRITABLE;
static const __u8 P = 1 << MSHV_SET_MEM_BIT_PINNED;

FIXTURE(pt) {
	int mshv, pt;
};

FIXTURE_SETUP(pt)
{
	self->mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_GUEST_MEMORY));
	self->pt = mshv_create_partition(self->mshv, true);
}

FIXTURE_TEARDOWN(pt)
{
	close(self->pt);
	close(self->mshv);
}

/* A region that nothing backs past its first pages fails at once, movable or pinned. */
TEST_F(pt, unbacked_region_fails_fast)
{
	size_t small = 16 * 4096;
	char *mem = mmap(NULL, small, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 sizes[] = { GIB, 1ULL << 47 };
	unsigned int i;
	double t;

	ASSERT_NE(MAP_FAILED, mem);
	for (i = 0; i < 2; i++) {
		t = now();
		errno = 0;
		EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, mem, sizes[i], W));
		EXPECT_EQ(EFAULT, errno);
		errno = 0;
		EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, mem, sizes[i], W | P));
		EXPECT_EQ(EFAULT, errno);
		/* Four ioctls: at once, even in a slow guest (the old code took minutes). */
		EXPECT_GT(2.0, now() - t) TH_LOG("%#llx bytes took %.2f s", sizes[i], now() - t);
	}
	/* Backed, it maps. */
	EXPECT_EQ(0, __mshv_set_memory(self->pt, 0, mem, small, W));
	munmap(mem, small);
}

TEST_F(pt, hole_in_the_middle_fails)
{
	size_t mib = 1 << 20;
	char *mem = mmap(NULL, 3 * mib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, munmap(mem + mib, mib));
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, mem, 3 * mib, W));
	EXPECT_EQ(EFAULT, errno);
	munmap(mem, 3 * mib);
}

TEST_F(pt, adjacent_mappings_back_a_region)
{
	size_t mib = 1 << 20;
	char *mem = mmap(NULL, 2 * mib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	/* Two VMAs, the second read-only: a read-only region over both maps... */
	ASSERT_EQ(0, mprotect(mem + mib, mib, PROT_READ));
	EXPECT_EQ(0, __mshv_set_memory(self->pt, 0, mem, 2 * mib, 0));
	EXPECT_EQ(0, __mshv_set_memory(self->pt, 0, mem, 2 * mib, 1 << MSHV_SET_MEM_BIT_UNMAP));
	/* ...a writable one does not: part of it cannot be written. */
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, mem, 2 * mib, W));
	EXPECT_EQ(EFAULT, errno);
	munmap(mem, 2 * mib);
}

/*
 * A huge region that is backed (a reservation of 64 GiB, nothing populated) takes long to map
 * no-access, but the task stays killable throughout: SIGKILL ends it at once, and the
 * partition is torn down.
 */
TEST(huge_map_is_killable)
{
	int ready[2], status, mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	int before = sim_present() ? sim_partitions() : 0;
	double t;
	pid_t child;
	char c;

	ASSERT_EQ(0, pipe(ready));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int pt = mshv_create_partition(mshv, true);
		size_t size = 64 * GIB;
		char *mem = mmap(NULL, size, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (mem == MAP_FAILED)
			_exit(2);
		c = 1;
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		__mshv_set_memory(pt, 0, mem, size, 0);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	usleep(300000);
	t = now();
	kill(child, SIGKILL);
	if (!reaped_within(child, 2000, &status)) {
		waitpid(child, &status, 0);
		EXPECT_TRUE(false) TH_LOG("killed 300 ms into a 64 GiB map, gone only %.1f s later",
				     now() - t);
	}
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (sim_present())
		EXPECT_EQ(before, sim_partitions());
	close(mshv);
}

/* Upstream answers EINVAL for no VMA at the address before it looks for an overlap (EEXIST). */
TEST_F(pt, no_vma_is_einval_before_overlap)
{
	char *mem = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, __mshv_set_memory(self->pt, 0, mem, 4096, W));
	ASSERT_EQ(0, munmap(mem + 4096, 4096));
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, mem + 4096, 4096, W));
	EXPECT_EQ(EINVAL, errno);
	/* With memory there, the overlap answers. */
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, mem, 4096, W));
	EXPECT_EQ(EEXIST, errno);
	munmap(mem, 4096);
}

/* Upstream checks the eventfd before the resamplefd. */
TEST_F(pt, irqfd_checks_the_eventfd_first)
{
	int null = open("/dev/null", O_RDONLY);
	struct mshv_user_irqfd a = {
		.fd = null, .resamplefd = -1, .gsi = 1, .flags = 1 << MSHV_IRQFD_BIT_RESAMPLE,
	};

	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_IRQFD_RESAMPLE));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IRQFD, &a));
	EXPECT_EQ(EINVAL, errno);
	a.fd = -1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IRQFD, &a));
	EXPECT_EQ(EBADF, errno);
	close(null);
}

/* Upstream's deassign checks no field: what matches no ioeventfd is ENOENT. */
TEST_F(pt, ioeventfd_deassign_checks_nothing)
{
	int efd = eventfd(0, 0);

	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_IOEVENTFD));
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, efd, MMIO, 3, DEASSIGN));
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, efd, ~0ULL - 1, 4, DEASSIGN));
	EXPECT_EQ(ENOENT, errno);
	/* Assigning them is still EINVAL. */
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, efd, MMIO, 3, 0));
	EXPECT_EQ(EINVAL, errno);
	close(efd);
}

/* A VP state buffer too long for the call: upstream pins it first, so unmapped is EFAULT. */
TEST(vp_state_buffer_checked_as_upstream)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	size_t len = 508 * 4096;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mshv_get_set_vp_state s = { .type = MSHV_VP_STATE_LAPIC, .buf_sz = len };

	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_VP_STATE));
	ASSERT_NE(MAP_FAILED, buf);
	s.buf_ptr = (__u64)(unsigned long)buf;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vm->vp_fd[0], MSHV_GET_VP_STATE, &s));
	EXPECT_EQ(EINVAL, errno);
	munmap(buf, len);
	s.buf_sz = len;
	errno = 0;
	EXPECT_EQ(-1, ioctl(vm->vp_fd[0], MSHV_GET_VP_STATE, &s));
	EXPECT_EQ(EFAULT, errno);
	vm_destroy(vm);
}

TEST(limits_are_capabilities)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	int pt = mshv_create_partition(mshv, false);

	EXPECT_EQ(4096, mshv_check_cap(MSHV_CAP_NR_MEM_REGIONS));
	EXPECT_EQ(4096, mshv_check_cap(MSHV_CAP_NR_IOEVENTFDS));
	EXPECT_EQ(4096, mshv_check_cap(MSHV_CAP_NR_IRQFDS));
	/* The partition fd answers the same. */
	EXPECT_EQ(4096, __mshv_check_cap(pt, MSHV_CAP_NR_MEM_REGIONS));
	close(pt);
	close(mshv);
}

TEST_F_TIMEOUT(pt, ioeventfd_limit, 120)
{
	int n = mshv_check_cap(MSHV_CAP_NR_IOEVENTFDS), efd = eventfd(0, 0), i;

	TEST_REQUIRE(n > 0);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, ioeventfd(self->pt, efd, MMIO + 8 * i, 8, 0)) TH_LOG("ioeventfd %d", i);
	errno = 0;
	EXPECT_EQ(-1, ioeventfd(self->pt, efd, PORT, 1, PIO_FLAG));
	EXPECT_EQ(ENOSPC, errno);
	/* One gone, one more fits. */
	EXPECT_EQ(0, ioeventfd(self->pt, efd, MMIO, 8, DEASSIGN));
	EXPECT_EQ(0, ioeventfd(self->pt, efd, PORT, 1, PIO_FLAG));
	close(efd);
}

TEST_F_TIMEOUT(pt, irqfd_limit, 120)
{
	int n = mshv_check_cap(MSHV_CAP_NR_IRQFDS), i;
	struct rlimit r = { 2 * n + 64, 2 * n + 64 };
	struct mshv_user_irqfd a = { 0 };
	int *efd;

	TEST_REQUIRE(n > 0);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &r));
	efd = calloc(n + 1, sizeof(*efd));
	for (i = 0; i <= n; i++) {
		efd[i] = eventfd(0, 0);
		ASSERT_LE(0, efd[i]);
	}
	for (i = 0; i < n; i++) {
		a.fd = efd[i];
		a.gsi = i % MSHV_MAX_GUEST_IRQS;
		ASSERT_EQ(0, ioctl(self->pt, MSHV_IRQFD, &a)) TH_LOG("irqfd %d", i);
	}
	a.fd = efd[n];
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IRQFD, &a));
	EXPECT_EQ(ENOSPC, errno);
	/* One gone, one more fits. */
	a.fd = efd[0];
	a.gsi = 0;
	a.flags = 1 << MSHV_IRQFD_BIT_DEASSIGN;
	EXPECT_EQ(0, ioctl(self->pt, MSHV_IRQFD, &a));
	a.fd = efd[n];
	a.flags = 0;
	EXPECT_EQ(0, ioctl(self->pt, MSHV_IRQFD, &a));
	for (i = 0; i <= n; i++)
		close(efd[i]);
	free(efd);
}

TEST_F_TIMEOUT(pt, region_limit, 120)
{
	int n = mshv_check_cap(MSHV_CAP_NR_MEM_REGIONS), i;
	size_t len = (size_t)(n + 1) * 4096;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0);
	double t = now();

	TEST_REQUIRE(n > 0);
	ASSERT_NE(MAP_FAILED, mem);
	/* One page each, every other guest page: regions that do not merge. */
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, __mshv_set_memory(self->pt, 2 * i, mem + (size_t)i * 4096, 4096, W))
			TH_LOG("region %d: %s", i, strerror(errno));
	TH_LOG("%d regions in %.1f s", n, now() - t);
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 2 * n, mem + (size_t)n * 4096, 4096, W));
	EXPECT_EQ(ENOSPC, errno);
	/* One gone, one more fits. */
	EXPECT_EQ(0, __mshv_set_memory(self->pt, 0, mem, 4096, 1 << MSHV_SET_MEM_BIT_UNMAP));
	EXPECT_EQ(0, __mshv_set_memory(self->pt, 2 * n, mem + (size_t)n * 4096, 4096, W));
	munmap(mem, len);
}

/* The guest touches its data page and reports: mov (DATA),%al; out %ax,(UCALL_PORT); hlt */
static const __u8 touch[] = {
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xa0, 0x00, 0x20,	/* mov (0x2000), %al */
	0xef,			/* out %ax, (%dx) */
	0xf4,			/* hlt */
};

struct dontneed {
	char *mem;
	size_t len;
	volatile int go, stop;
	/*
	 * The round main stopped (set after go is cleared), and the last one the thread saw
	 * stopped: it touches that round's memory no more.
	 */
	volatile int stopped, ack;
};

/* While told to: takes the guest's memory away from under it, again and again. */
static void *dontneed_loop(void *arg)
{
	struct dontneed *d = arg;

	while (!d->stop) {
		if (d->go)
			madvise(d->mem, d->len, MADV_DONTNEED);
		else
			d->ack = d->stopped;
		sched_yield();
	}
	return NULL;
}

/*
 * The partition's teardown races host changes to its movable memory: a change between the
 * finalize (which takes every page back) and the regions going is no cause for a warning.
 */
TEST_F_TIMEOUT(pt, teardown_races_host_changes, 120)
{
	int kmsg = kmsg_open(), round;
	struct dontneed d = { 0 };
	struct ucall uc;
	pthread_t t;

	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_MOVABLE_MEMORY));
	ASSERT_EQ(0, pthread_create(&t, NULL, dontneed_loop, &d));
	for (round = 0; round < 200; round++) {
		struct mshv_vm *vm = vm_create_with_one_vp(0x10000);

		vm_load(vm, CODE, touch, sizeof(touch));
		vp_set_entry(vm->vp_fd[0], CODE);
		vp_get_ucall(vm->vp_fd[0], &uc);
		d.mem = vm->mem;
		d.len = vm->mem_size;
		d.go = 1;
		vm_destroy(vm);
		d.go = 0;
		d.stopped = round + 1;
		/* The thread is done with this round's memory before the next VM may reuse it. */
		while (d.ack != round + 1)
			sched_yield();
	}
	d.stop = 1;
	pthread_join(t, NULL);
	EXPECT_FALSE(kmsg_find(kmsg, "could not be taken back"));
	close(kmsg);
}

/* A page the test owns, its PFN, filled with a pattern. */
static char *owned_page(__u64 *pfn)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	memset(p, 0x5a, 4096);
	TEST_ASSERT(!mlock(p, 4096), "mlock: %s", strerror(errno));
	*pfn = host_pfn(p);
	TEST_ASSERT(*pfn, "no PFN");
	return p;
}

static bool pattern_intact(const char *p)
{
	int i;

	for (i = 0; i < 4096; i++)
		if (p[i] != 0x5a)
			return false;
	return true;
}

/* A withdraw that returns a page the driver never deposited: the page is left alone. */
TEST(forged_withdraw_is_not_freed)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC), kmsg = kmsg_open(), pt;
	char line[64];
	__u64 pfn;
	char *page;

	TEST_REQUIRE(sim_present());
	page = owned_page(&pfn);
	pt = mshv_create_partition(mshv, true);
	snprintf(line, sizeof(line), "withdraw %#llx", (unsigned long long)pfn);
	sim_forge(line);
	/* The teardown withdraws the partition's pages: the first one it is given is the lie. */
	close(pt);
	sim_forge("clear");
	EXPECT_TRUE(kmsg_find(kmsg, "never deposited")) TH_LOG("no refusal logged");
	EXPECT_TRUE(pattern_intact(page));
	EXPECT_EQ(pfn, host_pfn(page));
	EXPECT_EQ(0, sim_partitions());
	munmap(page, 4096);
	close(kmsg);
	close(mshv);
}

/* A state page the driver never deposited: refused, never read, written or mapped. */
TEST(forged_state_page_is_refused)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC), kmsg = kmsg_open(), pt, vp;
	char line[64];
	__u64 pfn;
	char *page;

	TEST_REQUIRE(sim_present());
	page = owned_page(&pfn);
	pt = mshv_create_partition(mshv, true);
	snprintf(line, sizeof(line), "state_page %#llx", (unsigned long long)pfn);
	sim_forge(line);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(pt, 0));
	EXPECT_EQ(EIO, errno);
	sim_forge("clear");
	EXPECT_TRUE(kmsg_find(kmsg, "never deposited")) TH_LOG("no refusal logged");
	EXPECT_TRUE(pattern_intact(page));
	/* The VP was undone: it can be made again, with pages of its own. */
	vp = __mshv_create_vp(pt, 0);
	EXPECT_LE(0, vp);
	close(vp);
	close(pt);
	munmap(page, 4096);
	close(kmsg);
	close(mshv);
}

/* Deposited pages are charged to the memory cgroup of the VMM that caused them. */
TEST(deposits_are_charged_to_the_vmm)
{
	const char *cg = "/sys/fs/cgroup/mshv_robustness";
	int pipefd[2], status, mshv;
	long result[3];
	pid_t child;
	char path[128];
	FILE *f;

	TEST_REQUIRE(sim_present());
	TEST_REQUIRE(access("/sys/fs/cgroup/cgroup.subtree_control", W_OK) == 0);
	f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "w");
	ASSERT_NE(NULL, f);
	fputs("+memory", f);
	ASSERT_EQ(0, fclose(f));
	rmdir(cg);
	ASSERT_EQ(0, mkdir(cg, 0755));
	ASSERT_EQ(0, pipe(pipefd));
	mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		size_t size = GIB;
		char *mem = mmap(NULL, size, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		long before, after;
		int pt;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		f = fopen(path, "w");
		if (!f || fprintf(f, "%d", getpid()) < 0 || fclose(f))
			_exit(2);
		snprintf(path, sizeof(path), "%s/memory.current", cg);
		pt = mshv_create_partition(mshv, true);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%ld", &before) != 1)
			_exit(3);
		fclose(f);
		/* No-access mapping of 1 GiB: the hypervisor asks for its tables' pages. */
		if (__mshv_set_memory(pt, 0, mem, size, 0))
			_exit(4);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%ld", &after) != 1)
			_exit(5);
		fclose(f);
		result[0] = before;
		result[1] = after;
		result[2] = sim_deposited(sim_newest_partition());
		if (write(pipefd[1], result, sizeof(result)) != sizeof(result))
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(sizeof(result), read(pipefd[0], result, sizeof(result)));
	waitpid(child, &status, 0);
	EXPECT_EQ(0, WEXITSTATUS(status));
	TH_LOG("memory.current %ld -> %ld; %ld pages deposited", result[0], result[1], result[2]);
	EXPECT_LT(500, result[2]);
	/* Less what initializing the partition deposited before the first reading. */
	EXPECT_LE(result[2] * 4096 / 10 * 9, result[1] - result[0]);
	rmdir(cg);
	close(mshv);
}

TEST_HARNESS_MAIN
