// SPDX-License-Identifier: GPL-2.0
/*
 * A guest that idles with interrupts enabled (sti; hlt) leaves its VP blocked
 * in the hypervisor: MSHV_RUN_VP must sleep until an interrupt comes (here an
 * irqfd), not dispatch the VP again and again, and a signal must end the wait
 * without losing the wake-up. With interrupts disabled, hlt is still the halt
 * intercept.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"


/*
 * Idles until an interrupt, ends it (the xAPIC EOI register, DS based at the APIC), reports
 * on port 0x42, and idles again.
 */
static const __u8 idle_guest[] = {
	0xfb,			/* 0x1000: sti */
	0xf4,			/* 0x1001: hlt */
	0xa2, 0xb0, 0x00,	/* 0x1002: mov %al, (0xb0) */
	0xe6, 0x42,		/* 0x1005: out %al, $0x42 */
	0xeb, 0xf7,		/* 0x1007: jmp 0x1000 */
};

/* hlt with interrupts disabled. */
static const __u8 cli_hlt_guest[] = { 0xfa, 0xf4 };

static void on_signal(int sig)
{
	(void)sig;
}

/* Routes GSI 5 to vector 0x30, fixed, edge, on VP 0, and binds an irqfd to it. */
static int bind_irqfd(int pt)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} r = { { .nr = 1 }, { .gsi = 5, .address_lo = 0xfee00000, .data = 0x30 } };
	int efd = eventfd(0, EFD_CLOEXEC);
	struct mshv_user_irqfd a = { .fd = efd, .resamplefd = -1, .gsi = 5 };

	TEST_ASSERT(efd >= 0, "eventfd: %s", strerror(errno));
	TEST_ASSERT(!ioctl(pt, MSHV_SET_MSI_ROUTING, &r), "routing: %s", strerror(errno));
	TEST_ASSERT(!ioctl(pt, MSHV_IRQFD, &a), "irqfd: %s", strerror(errno));
	return efd;
}

static void signal_efd(int efd)
{
	__u64 one = 1;

	TEST_ASSERT(write(efd, &one, 8) == 8, "eventfd write");
}

/* The runner thread: MSHV_RUN_VP until `rounds` reports on port 0x42, retrying on EINTR. */
struct runner {
	pthread_t thread;
	int vp;
	int rounds;
	int done;	/* reports seen */
	int eintr;	/* EINTRs seen */
	int bad;	/* anything else: the errno, or -1 for an unexpected message */
	sem_t report;
};

static void *run_rounds(void *arg)
{
	struct runner *r = arg;
	struct hv_message msg;

	while (r->done < r->rounds) {
		if (__vp_run(r->vp, &msg)) {
			if (errno == EINTR) {
				__atomic_add_fetch(&r->eintr, 1, __ATOMIC_SEQ_CST);
				continue;
			}
			r->bad = errno;
			break;
		}
		if (msg.type != HVMSG_X64_IO_PORT_INTERCEPT) {
			r->bad = -1;
			break;
		}
		vp_skip(r->vp, &msg);
		__atomic_add_fetch(&r->done, 1, __ATOMIC_SEQ_CST);
		sem_post(&r->report);
	}
	sem_post(&r->report);
	return NULL;
}

static void start(struct runner *r, int vp, int rounds)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: the ioctl returns EINTR. */
	sigaction(SIGUSR1, &sa, NULL);
	memset(r, 0, sizeof(*r));
	r->vp = vp;
	r->rounds = rounds;
	sem_init(&r->report, 0, 0);
	TEST_ASSERT(!pthread_create(&r->thread, NULL, run_rounds, r), "pthread_create");
}

/* Waits up to `ms` for a report; 0 when none came. */
static int wait_report(struct runner *r, int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return sem_timedwait(&r->report, &t) == 0;
}

/* CPU time the thread used, in microseconds. */
static long cpu_us(pthread_t t)
{
	clockid_t c;
	struct timespec ts;

	TEST_ASSERT(!pthread_getcpuclockid(t, &c), "pthread_getcpuclockid");
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
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
	self->vm = vm_create_with_one_vp(16 * 4096);
	self->efd = bind_irqfd(self->vm->pt_fd);
	vm_load(self->vm, 0x1000, idle_guest, sizeof(idle_guest));
	vp_set_entry(self->vm->vp_fd[0], 0x1000);
	TEST_ASSERT(!__vp_set_reg(self->vm->vp_fd[0], HV_X64_REGISTER_DS, 0xfee00000,
				  0xffffULL | (0x93ULL << 48)),
		    "set DS: %s", strerror(errno));
}

FIXTURE_TEARDOWN(vm)
{
	if (!self->vm)
		return;
	close(self->efd);
	vm_destroy(self->vm);
}

TEST_F(vm, a_halted_vp_sleeps_until_an_irqfd_wakes_it)
{
	struct runner r;
	long before, used;

	start(&r, self->vm->vp_fd[0], 1);
	/* Let it reach the hlt, then measure half a second of it. */
	usleep(200000);
	before = cpu_us(r.thread);
	usleep(500000);
	used = cpu_us(r.thread) - before;
	EXPECT_GT(25000, used) TH_LOG("the halted VP's MSHV_RUN_VP used %ld us of 500000", used);
	EXPECT_EQ(0, r.done) TH_LOG("the VP ran past its hlt without an interrupt");
	signal_efd(self->efd);
	EXPECT_TRUE(wait_report(&r, 5000)) TH_LOG("the irqfd did not wake the VP");
	pthread_join(r.thread, NULL);
	EXPECT_EQ(1, r.done);
	EXPECT_EQ(0, r.bad);
}

TEST_F(vm, a_signal_ends_the_wait_and_the_wake_up_is_not_lost)
{
	struct runner r;
	long before, used;

	start(&r, self->vm->vp_fd[0], 1);
	usleep(200000);
	ASSERT_EQ(0, pthread_kill(r.thread, SIGUSR1));
	usleep(200000);
	EXPECT_LE(1, r.eintr) TH_LOG("MSHV_RUN_VP did not return EINTR");
	/* Called again (the runner retries): it waits again, without spinning. */
	before = cpu_us(r.thread);
	usleep(300000);
	used = cpu_us(r.thread) - before;
	EXPECT_GT(15000, used) TH_LOG("after EINTR the halted VP used %ld us of 300000", used);
	EXPECT_EQ(0, r.done);
	signal_efd(self->efd);
	EXPECT_TRUE(wait_report(&r, 5000)) TH_LOG("the wake-up after EINTR was lost");
	pthread_join(r.thread, NULL);
	EXPECT_EQ(0, r.bad);
}

TEST_F(vm, an_interrupt_before_the_hlt_is_not_waited_for)
{
	struct runner r;

	/* Asserted before the VP ever ran: the hlt finds it pending and goes on. */
	signal_efd(self->efd);
	usleep(100000);
	start(&r, self->vm->vp_fd[0], 1);
	EXPECT_TRUE(wait_report(&r, 5000));
	pthread_join(r.thread, NULL);
	EXPECT_EQ(0, r.bad);
}

/* Signals and wake-ups racing, many times: every wake-up gives exactly one report. */
TEST_F(vm, signals_racing_wake_ups_lose_none)
{
	const int rounds = 200;
	struct runner r;
	int i;

	srand(20261202);
	start(&r, self->vm->vp_fd[0], rounds);
	for (i = 0; i < rounds; i++) {
		usleep(rand() % 3000);
		if (rand() % 2)
			pthread_kill(r.thread, SIGUSR1);
		signal_efd(self->efd);
		if (!wait_report(&r, 5000))
			break;
	}
	pthread_join(r.thread, NULL);
	EXPECT_EQ(rounds, r.done) TH_LOG("%d of %d wake-ups reported (%d EINTR)", r.done, rounds,
					  r.eintr);
	EXPECT_EQ(0, r.bad);
}

TEST_F(vm, cli_hlt_is_the_halt_intercept)
{
	int vp = self->vm->vp_fd[0];
	struct hv_message msg;

	vm_load(self->vm, 0x1000, cli_hlt_guest, sizeof(cli_hlt_guest));
	vp_run(vp, &msg);
	EXPECT_EQ(HVMSG_X64_HALT, msg.type);
}

TEST_HARNESS_MAIN
