// SPDX-License-Identifier: GPL-2.0
/*
 * mshv_idle_bench: what an idle guest costs, in one boot (`make bench`), under
 * the scheduler of the host the simulator build was loaded as.
 *
 * - CPU: the guest idles in `sti; hlt`; the CPU time its MSHV_RUN_VP thread
 *   uses over 2 s, as a share of one CPU (goal: at most 1%), beside the floor:
 *   a thread blocked in read() on an eventfd over the same 2 s.
 * - Wake-up: the median time from an irqfd write to MSHV_RUN_VP returning the
 *   woken guest's report, against the floor: the time from an eventfd write to
 *   another thread's read() returning. 21 rounds each.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "bench.h"

#define ROUNDS 21

/* Idles until an interrupt, ends it (EOI, DS at the APIC), reports on port 0x42, idles again. */
static const __u8 idle_guest[] = {
	0xfb,			/* 0x1000: sti */
	0xf4,			/* 0x1001: hlt */
	0xa2, 0xb0, 0x00,	/* 0x1002: mov %al, (0xb0) */
	0xe6, 0x42,		/* 0x1005: out %al, $0x42 */
	0xeb, 0xf7,		/* 0x1007: jmp 0x1000 */
};

static double thread_cpu(pthread_t t)
{
	clockid_t c;
	struct timespec ts;

	if (pthread_getcpuclockid(t, &c) || clock_gettime(c, &ts))
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A runner: MSHV_RUN_VP, reporting each return (with the time) through `done`. */
struct runner {
	pthread_t t;
	int vp;
	int done;	/* eventfd the runner writes after each report */
	volatile double at;
	volatile int stop;
	int err;
};

static void *run_vp(void *arg)
{
	struct runner *r = arg;
	struct hv_message msg;
	__u64 one = 1;

	while (!r->stop) {
		if (__vp_run(r->vp, &msg)) {
			if (errno == EINTR)
				continue;
			r->err = errno;
			break;
		}
		r->at = now();
		vp_skip(r->vp, &msg);
		if (write(r->done, &one, 8) != 8)
			break;
	}
	return NULL;
}

/* The floor's sleeper: blocked in read() until written to; reports when it woke. */
struct sleeper {
	pthread_t t;
	int efd;
	volatile double at;
	volatile int stop;
};

static void *sleep_on(void *arg)
{
	struct sleeper *s = arg;
	__u64 n;

	while (!s->stop) {
		if (read(s->efd, &n, 8) == 8)
			s->at = now();
	}
	return NULL;
}

static int bind_irqfd(int pt)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} r = { { .nr = 1 }, { .gsi = 5, .address_lo = 0xfee00000, .data = 0x30 } };
	int efd = eventfd(0, EFD_CLOEXEC);
	struct mshv_user_irqfd a = { .fd = efd, .resamplefd = -1, .gsi = 5 };

	if (efd < 0 || ioctl(pt, MSHV_SET_MSI_ROUTING, &r) || ioctl(pt, MSHV_IRQFD, &a))
		ksft_exit_fail_msg("irqfd: %s\n", strerror(errno));
	return efd;
}

int main(void)
{
	struct mshv_vm *vm;
	struct runner r = { 0 };
	struct sleeper s = { 0 };
	double vp_cpu, floor_cpu, t0, wake[ROUNDS], floor_wake[ROUNDS];
	__u64 one = 1, n;
	int irqfd, i;

	ksft_print_header();
	ksft_set_plan(1);
	vm = vm_create_with_one_vp(16 * 4096);
	vm_load(vm, 0x1000, idle_guest, sizeof(idle_guest));
	vp_set_entry(vm->vp_fd[0], 0x1000);
	if (__vp_set_reg(vm->vp_fd[0], HV_X64_REGISTER_DS, 0xfee00000, 0xffffULL | (0x93ULL << 48)))
		ksft_exit_fail_msg("set DS: %s\n", strerror(errno));
	irqfd = bind_irqfd(vm->pt_fd);
	r.vp = vm->vp_fd[0];
	r.done = eventfd(0, EFD_CLOEXEC);
	s.efd = eventfd(0, EFD_CLOEXEC);
	if (r.done < 0 || s.efd < 0)
		ksft_exit_fail_msg("eventfd: %s\n", strerror(errno));
	if (pthread_create(&r.t, NULL, run_vp, &r) || pthread_create(&s.t, NULL, sleep_on, &s))
		ksft_exit_fail_msg("pthread_create\n");

	/* CPU: both threads blocked for the same 2 s. */
	usleep(300000);
	vp_cpu = thread_cpu(r.t);
	floor_cpu = thread_cpu(s.t);
	t0 = now();
	sleep(2);
	vp_cpu = (thread_cpu(r.t) - vp_cpu) / (now() - t0);
	floor_cpu = (thread_cpu(s.t) - floor_cpu) / (now() - t0);

	/* Wake-ups: an irqfd write to the report, an eventfd write to the reader's return. */
	for (i = 0; i < ROUNDS; i++) {
		usleep(20000);
		t0 = now();
		if (write(irqfd, &one, 8) != 8 || read(r.done, &n, 8) != 8)
			ksft_exit_fail_msg("wake-up round %d: %s\n", i, strerror(errno));
		wake[i] = r.at - t0;
		usleep(20000);
		t0 = now();
		if (write(s.efd, &one, 8) != 8)
			ksft_exit_fail_msg("eventfd write\n");
		while (s.at < t0)
			usleep(50);
		floor_wake[i] = s.at - t0;
	}
	printf("bench: idle VP: its MSHV_RUN_VP thread used %.2f%% of a CPU over 2 s "
	       "(floor: a thread blocked in read(), %.2f%%; goal <= 1%%)\n",
	       100 * vp_cpu, 100 * floor_cpu);
	printf("bench: wake-up of an idle VP by an irqfd (median of %d): %.0f us; floor, an eventfd "
	       "wake-up between two threads: %.0f us; ratio %.1f\n",
	       ROUNDS, 1e6 * median(wake, ROUNDS), 1e6 * median(floor_wake, ROUNDS),
	       median(wake, ROUNDS) / median(floor_wake, ROUNDS));
	r.stop = 1;
	s.stop = 1;
	if (write(irqfd, &one, 8) != 8)
		r.err = errno;
	if (write(s.efd, &one, 8) != 8)
		r.err = errno;
	pthread_join(r.t, NULL);
	pthread_join(s.t, NULL);
	ksft_test_result(vp_cpu <= 0.01 && r.err == 0, "an idle VP uses at most 1%% of a CPU\n");
	vm_destroy(vm);
	ksft_finished();
}
