// SPDX-License-Identifier: GPL-2.0
/*
 * The SynIC message handler takes untrusted input: forged messages (the
 * simulator's debugfs "synic" file posts them to SINT0 of the writer's CPU)
 * naming VP indices out of range, unknown partitions, bad formats or types
 * unknown to the driver are dropped without a splat, the slot is freed, and
 * messages go on being delivered. A scheduler signal for a real VP wakes it
 * even when nothing else would. And the SynIC follows CPUs going offline and
 * coming back while VPs idle and are woken.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"

#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"

/* Idles with interrupts on; reports on port 0x42 each time it is woken (after its EOI). */
static const __u8 idle_guest[] = {
	0xfb,			/* 0x1000: sti */
	0xf4,			/* 0x1001: hlt */
	0xa2, 0xb0, 0x00,	/* 0x1002: mov %al, (0xb0) */
	0xe6, 0x42,		/* 0x1005: out %al, $0x42 */
	0xeb, 0xf7,		/* 0x1007: jmp 0x1000 */
};

static void post(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = open(SIM "synic", O_WRONLY);
	TEST_ASSERT(fd >= 0, "open synic: %s", strerror(errno));
	TEST_ASSERT(write(fd, line, n) == n, "write synic \"%s\": %s", line, strerror(errno));
	close(fd);
}

/* The simulator's count of SynIC messages delivered into slots. */
static long delivered(void)
{
	char buf[4096], *p;
	int fd = open(SIM "state", O_RDONLY);
	ssize_t len;

	TEST_ASSERT(fd >= 0, "open state: %s", strerror(errno));
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	TEST_ASSERT(len > 0, "read state");
	buf[len] = 0;
	p = strstr(buf, "synic ");
	TEST_ASSERT(p, "no synic line in state");
	return strtol(p + 6, NULL, 10);
}

/* Waits up to two seconds for the count of delivered messages to reach n. */
static bool delivered_reaches(long n)
{
	for (int i = 0; i < 200; i++) {
		if (delivered() >= n)
			return true;
		usleep(10000);
	}
	return false;
}

FIXTURE(vm) {
	struct mshv_vm *vm;
	__u64 pt;
};

FIXTURE_SETUP(vm)
{
	self->vm = NULL;
	if (!sim_present() || access(SIM "synic", W_OK))
		SKIP(return, "no simulator: nothing forges SynIC messages");
	self->vm = vm_create_with_one_vp(16 * 4096);
	self->pt = sim_newest_partition();
	vm_load(self->vm, 0x1000, idle_guest, sizeof(idle_guest));
	vp_set_entry(self->vm->vp_fd[0], 0x1000);
	TEST_ASSERT(!__vp_set_reg(self->vm->vp_fd[0], HV_X64_REGISTER_DS, 0xfee00000,
				  0xffffULL | (0x93ULL << 48)),
		    "set DS: %s", strerror(errno));
}

FIXTURE_TEARDOWN(vm)
{
	if (self->vm)
		vm_destroy(self->vm);
}

/* Every kind of bad message is taken off the slot and dropped; delivery goes on. */
TEST_F(vm, forged_messages_are_dropped)
{
	unsigned long long pt = self->pt;
	long before = delivered();

	/* VP indices past the 1024 a partition has: banks 16 and 63 (the message holds 16). */
	post("bitset %llu 0 1 0x8000000000000000 1", pt);
	post("bitset %llu 0 1 0x10000 1", pt);
	/* Every bank present but the last out of the message, every bit set. */
	post("bitset %llu 0 1024 0xffffffffffffffff 0xffffffffffffffff 0xffffffffffffffff", pt);
	/* Another set format; no VP at all. */
	post("bitset %llu 1 1 1 1", pt);
	post("bitset %llu 0 0 1 1", pt);
	/* Unknown partitions. */
	post("bitset 0 0 1 1 1");
	post("bitset 0xffffffffffffffff 0 1 1 1");
	post("opaque 123456 0");
	/* Pairs: more than fit, a VP index out of range, an unknown partition. */
	post("pair 255 %llu 0", pt);
	post("pair 1 %llu 4000000000", pt);
	post("pair 3 987654 0");
	post("opaque %llu 4294967295", pt);
	/* A type the driver does not know; an empty one. */
	post("type 0x12345678");
	post("type 0");
	ASSERT_TRUE(delivered_reaches(before + 14))
		TH_LOG("%ld of the 14 messages delivered", delivered() - before);
	/* The slot was freed each time: a real run still gets its wake-ups. */
	vp_set_entry(self->vm->vp_fd[0], 0x1005);
	{
		struct hv_message msg;

		vp_run(self->vm->vp_fd[0], &msg);
		EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, msg.type);
	}
}

struct runner {
	pthread_t t;
	int vp;
	int done;
	int err;
};

static void *run_to_report(void *arg)
{
	struct runner *r = arg;
	struct hv_message msg;

	if (__vp_run(r->vp, &msg))
		r->err = errno;
	else if (msg.type != HVMSG_X64_IO_PORT_INTERCEPT)
		r->err = -1;
	else
		vp_skip(r->vp, &msg);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool done_within(struct runner *r, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (__atomic_load_n(&r->done, __ATOMIC_SEQ_CST))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * A scheduler signal alone (no interrupt) wakes a VP the root scheduler has blocked: the driver
 * dispatches it again. The simulator's hlt, with no interrupt pending, blocks it again, so the
 * run goes on waiting, without spinning. Its interrupt then ends the wait.
 */
TEST_F(vm, a_scheduler_signal_redispatches_a_blocked_vp)
{
	struct runner r = { .vp = self->vm->vp_fd[0] };
	long before = sim_calls(0x00c2);
	struct mshv_user_irqfd a = { .resamplefd = -1, .gsi = 5 };
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} route = { { .nr = 1 }, { .gsi = 5, .address_lo = 0xfee00000, .data = 0x30 } };
	__u64 one = 1;

	ASSERT_EQ(0, pthread_create(&r.t, NULL, run_to_report, &r));
	usleep(300000);
	ASSERT_FALSE(r.done);
	before = sim_calls(0x00c2);
	post("bitset %llu 0 1 1 1", (unsigned long long)self->pt);
	usleep(300000);
	EXPECT_LE(before + 1, sim_calls(0x00c2)) TH_LOG("the signal did not redispatch the VP");
	EXPECT_GE(before + 3, sim_calls(0x00c2)) TH_LOG("the VP spun after the signal");
	EXPECT_FALSE(r.done);
	/* Its interrupt ends it. */
	a.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, a.fd);
	ASSERT_EQ(0, ioctl(self->vm->pt_fd, MSHV_SET_MSI_ROUTING, &route));
	ASSERT_EQ(0, ioctl(self->vm->pt_fd, MSHV_IRQFD, &a));
	ASSERT_EQ(8, write(a.fd, &one, 8));
	EXPECT_TRUE(done_within(&r, 5000));
	pthread_join(r.t, NULL);
	EXPECT_EQ(0, r.err);
	close(a.fd);
}

static int set_cpu1(const char *v)
{
	int fd = open(CPU1_ONLINE, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, v, 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* CPU 1 goes offline and comes back, again and again, while the VP idles and is woken. */
TEST_F(vm, cpu_hotplug_while_vps_idle)
{
	struct mshv_user_irqfd a = { .resamplefd = -1, .gsi = 5 };
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e;
	} route = { { .nr = 1 }, { .gsi = 5, .address_lo = 0xfee00000, .data = 0x30 } };
	__u64 one = 1;
	int i;

	if (access(CPU1_ONLINE, W_OK))
		SKIP(return, "CPU 1 cannot go offline here");
	a.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, a.fd);
	ASSERT_EQ(0, ioctl(self->vm->pt_fd, MSHV_SET_MSI_ROUTING, &route));
	ASSERT_EQ(0, ioctl(self->vm->pt_fd, MSHV_IRQFD, &a));
	for (i = 0; i < 10; i++) {
		struct runner r = { .vp = self->vm->vp_fd[0] };

		ASSERT_EQ(0, pthread_create(&r.t, NULL, run_to_report, &r));
		usleep(50000);
		ASSERT_EQ(0, set_cpu1(i % 2 ? "1" : "0")) TH_LOG("cpu1 online: %s", strerror(errno));
		usleep(50000);
		ASSERT_EQ(8, write(a.fd, &one, 8));
		EXPECT_TRUE(done_within(&r, 5000)) TH_LOG("round %d: the wake-up was lost", i);
		if (!r.done)
			break;
		pthread_join(r.t, NULL);
		EXPECT_EQ(0, r.err);
	}
	set_cpu1("1");
	close(a.fd);
}

TEST_HARNESS_MAIN
