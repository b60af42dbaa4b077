// SPDX-License-Identifier: GPL-2.0
/*
 * Many threads create and destroy partitions with VPs and memory at once, for
 * a bounded time: hundreds alive together, guests run, memory mapped movable
 * and pinned, fds closed in every order. Then a thousand partitions are
 * created at once (VMM authors report trouble there) and closed. Every call
 * must succeed (or fail only with ENOMEM under pressure), and afterwards the
 * simulated hypervisor holds nothing: no partition, nothing charged to its
 * root pool, the driver's ledger the root pool's pages and no more. kmemleak
 * scans the run at its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "ucall.h"
#include "sim.h"
#include "kmsg.h"

#define THREADS		16
#define ALIVE		16	/* partitions each thread holds at once */
#define SECONDS		5
#define CODE		0x1000

static const __u8 ucall[] = {
	0xa0, 0x00, 0x20,	/* mov (0x2000), %al: touch memory */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xf4,			/* hlt */
};

struct vm {
	int pt, vp;
	char *mem;
};

struct stats {
	long created, ran, failed, enomem;
	char what[128];
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(struct stats *s, const char *what)
{
	if (errno == ENOMEM) {
		s->enomem++;
		return;
	}
	if (!s->failed++)
		snprintf(s->what, sizeof(s->what), "%s: %s", what, strerror(errno));
}

static bool vm_make(int mshv, struct vm *v, unsigned int n, struct stats *s)
{
	struct mshv_create_partition a = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	__u8 flags = 1 << MSHV_SET_MEM_BIT_WRITABLE | 1 << MSHV_SET_MEM_BIT_EXECUTABLE;

	if (n % 3 == 0)
		a.pt_flags |= 1 << MSHV_PT_BIT_GPA_SUPER_PAGES;
	if (n % 4 == 1)
		flags |= 1 << MSHV_SET_MEM_BIT_PINNED;
	v->pt = ioctl(mshv, MSHV_CREATE_PARTITION, &a);
	v->vp = -1;
	v->mem = MAP_FAILED;
	if (v->pt < 0) {
		fail(s, "create partition");
		return false;
	}
	if (ioctl(v->pt, MSHV_INITIALIZE_PARTITION)) {
		fail(s, "initialize");
		return false;
	}
	v->mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED || __mshv_set_memory(v->pt, 0, v->mem, 0x10000, flags)) {
		fail(s, "map");
		return false;
	}
	memcpy(v->mem + CODE, ucall, sizeof(ucall));
	v->vp = __mshv_create_vp(v->pt, n % 2);
	if (v->vp < 0) {
		fail(s, "create VP");
		return false;
	}
	s->created++;
	return true;
}

static void vm_run(struct vm *v, struct stats *s)
{
	struct hv_message msg;

	if (__vp_set_reg(v->vp, HV_X64_REGISTER_CS, 0, 0xffffULL | (0x9bULL << 48)) ||
	    __vp_set_reg(v->vp, HV_X64_REGISTER_RIP, CODE, 0) || __vp_run(v->vp, &msg)) {
		fail(s, "run");
		return;
	}
	if (msg.type != HVMSG_X64_IO_PORT_INTERCEPT) {
		errno = EPROTO;
		fail(s, "run: not the ucall");
		return;
	}
	s->ran++;
}

/* Closes a VM's fds, the partition first or the VP first. */
static void vm_close(struct vm *v, unsigned int n)
{
	if (n % 2) {
		if (v->pt >= 0)
			close(v->pt);
		if (v->vp >= 0)
			close(v->vp);
	} else {
		if (v->vp >= 0)
			close(v->vp);
		if (v->pt >= 0)
			close(v->pt);
	}
	if (v->mem != MAP_FAILED)
		munmap(v->mem, 0x10000);
}

static double deadline;

static void *churn(void *arg)
{
	struct stats *s = arg;
	int mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	struct vm vms[ALIVE];
	unsigned int n = 0, i;

	if (mshv < 0) {
		fail(s, "open");
		return NULL;
	}
	/* At least one batch, however late the thread starts. */
	do {
		/* A batch alive at once, each run once, then closed in turn. */
		for (i = 0; i < ALIVE; i++)
			if (vm_make(mshv, &vms[i], n + i, s) && (n + i) % 2 == 0)
				vm_run(&vms[i], s);
		for (i = 0; i < ALIVE; i++)
			vm_close(&vms[i], n + i);
		n += ALIVE;
	} while (now() < deadline);
	close(mshv);
	return NULL;
}

/* No partition left in the hypervisor, nothing charged to its root pool, the ledger its pages. */
static void expect_clean(struct __test_metadata *_metadata)
{
	long parts = -1, root = -1, used = -1, ledger = -2;
	char line[128];
	FILE *f;

	if (!sim_present())
		return;
	f = fopen(SIM "state", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "partitions %ld", &parts);
		sscanf(line, "root_pool %ld %ld", &root, &used);
		sscanf(line, "ledger %ld", &ledger);
	}
	fclose(f);
	EXPECT_EQ(0, parts);
	EXPECT_EQ(0, used);
	EXPECT_EQ(root, ledger);
}

#define BURST_THREADS	4
#define BURST		256	/* partitions each, all alive at once: 1024 */

static void *burst(void *arg)
{
	struct stats *s = arg;
	int mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC), pt[BURST], i;
	struct mshv_create_partition a = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };

	for (i = 0; i < BURST; i++) {
		pt[i] = ioctl(mshv, MSHV_CREATE_PARTITION, &a);
		if (pt[i] < 0) {
			fail(s, "create partition");
			continue;
		}
		if (ioctl(pt[i], MSHV_INITIALIZE_PARTITION))
			fail(s, "initialize");
		else
			s->created++;
	}
	for (i = 0; i < BURST; i++)
		if (pt[i] >= 0)
			close(pt[i]);
	close(mshv);
	return NULL;
}

FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);

	close(mshv);
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, many_threads_create_and_destroy, 120)
{
	struct stats s[THREADS] = { 0 };
	pthread_t t[THREADS];
	long created = 0, ran = 0, failed = 0, enomem = 0;
	int i;

	deadline = now() + SECONDS;
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, &s[i]));
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		created += s[i].created;
		ran += s[i].ran;
		failed += s[i].failed;
		enomem += s[i].enomem;
		if (s[i].failed)
			TH_LOG("thread %d: %s", i, s[i].what);
	}
	TH_LOG("%d threads, %d partitions alive each: %ld made, %ld ran, %ld ENOMEM, in %d s",
	       THREADS, ALIVE, created, ran, enomem, SECONDS);
	EXPECT_EQ(0, failed);
	EXPECT_LE(THREADS * ALIVE, created + enomem);
	expect_clean(_metadata);
}

TEST_F_TIMEOUT(stress, thousands_of_partitions_at_once, 120)
{
	struct stats s[BURST_THREADS] = { 0 };
	struct rlimit r = { BURST_THREADS * BURST + 64, BURST_THREADS * BURST + 64 };
	pthread_t t[BURST_THREADS];
	long created = 0, failed = 0, enomem = 0;
	double start = now();
	int i;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &r));
	for (i = 0; i < BURST_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, burst, &s[i]));
	for (i = 0; i < BURST_THREADS; i++) {
		pthread_join(t[i], NULL);
		created += s[i].created;
		failed += s[i].failed;
		enomem += s[i].enomem;
		if (s[i].failed)
			TH_LOG("thread %d: %s", i, s[i].what);
	}
	TH_LOG("%ld partitions alive at once (%ld ENOMEM), made and closed in %.1f s", created,
	       enomem, now() - start);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(BURST_THREADS * BURST, created + enomem);
	expect_clean(_metadata);
}

TEST_HARNESS_MAIN
