// SPDX-License-Identifier: GPL-2.0
/*
 * The fault-injection sweep: for each lifecycle scenario, count the
 * hypercalls it makes, then fail each of them in turn with each class of
 * status, and check what userspace sees and that nothing is left behind:
 *
 *   - a failing ioctl's errno is the status's (upstream's hv_result_to_errno:
 *     INVALID_PARAMETER is EINVAL, ACCESS_DENIED EACCES, a status it does not
 *     know EIO); a shortage (INSUFFICIENT_MEMORY) is answered by a deposit and
 *     a retry, so it fails nothing, or fails with ENOMEM;
 *   - a guest fault the kernel cannot resolve reaches userspace as its
 *     intercept, never as a hang or a wrong value;
 *   - once every fd is closed the simulated hypervisor holds no partition,
 *     nothing is charged to its root pool, and the driver's ledger of
 *     deposits holds the root pool's pages and no more (the teardown retries
 *     a failed step; one failure is not a leak).
 *
 * Simulator build only (debugfs "fault", "calls", "state").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "ucall.h"
#include "sim.h"

#define CODE	0x1000

/* Touches two pages of movable memory, then reports: the fault path, then a ucall. */
static const __u8 touch[] = {
	0xa0, 0x00, 0x20,	/* mov (0x2000), %al */
	0xa2, 0x00, 0x30,	/* mov %al, (0x3000) */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xf4,			/* hlt */
};

/* Every hypercall the simulator has taken so far. */
static long total_calls(void)
{
	char line[64];
	unsigned int code;
	long n, sum = 0;
	FILE *f = fopen(SIM "calls", "r");

	TEST_ASSERT(f, "open calls: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %ld", &code, &n) == 2)
			sum += n;
	fclose(f);
	return sum;
}

/* No partition, nothing charged to the root pool, the ledger the root pool's pages. */
static bool hypervisor_clean(char *why, size_t len)
{
	long root = -1, used = -1, ledger = -2, parts = -1;
	char line[128];
	FILE *f = fopen(SIM "state", "r");

	TEST_ASSERT(f, "open state: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "partitions %ld", &parts);
		sscanf(line, "root_pool %ld %ld", &root, &used);
		sscanf(line, "ledger %ld", &ledger);
	}
	fclose(f);
	snprintf(why, len, "partitions %ld, root pool %ld used %ld, ledger %ld", parts, root, used,
		 ledger);
	return parts == 0 && used == 0 && ledger == root;
}

/* What a scenario saw: the first ioctl that failed and how. */
struct outcome {
	const char *op;
	int err;
	bool exited;	/* the guest's fault reached userspace as an intercept */
};

#define TRY(o, name, expr)						\
	do {								\
		if ((expr) < 0) {					\
			(o)->op = name;					\
			(o)->err = errno;				\
			goto out;					\
		}							\
	} while (0)

static const __u8 W = 1 << MSHV_SET_MEM_BIT_WRITABLE;
static const __u8 X = 1 << MSHV_SET_MEM_BIT_EXECUTABLE;

/* Create, initialize, close. */
static void scenario_partition(struct outcome *o)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC), pt = -1;
	struct mshv_create_partition a = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };

	TRY(o, "create partition", pt = ioctl(mshv, MSHV_CREATE_PARTITION, &a));
	TRY(o, "initialize", ioctl(pt, MSHV_INITIALIZE_PARTITION));
out:
	if (pt >= 0)
		close(pt);
	close(mshv);
}

/*
 * A VMM's life: movable memory, a VP, a run through two faults to a ucall, an ioeventfd and an
 * irqfd, the VP's state and registers, the dirty bitmap, a pinned region, unmap, close.
 */
static void scenario_vmm(struct outcome *o, bool super_pages)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC), pt = -1, vp = -1, efd = eventfd(0, 0);
	struct mshv_create_partition a = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	size_t size = 2 << 20;
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *pinned = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct mshv_user_ioeventfd io = { .addr = 0x3000, .len = 1, .fd = efd,
					  .flags = 1 << MSHV_IOEVENTFD_BIT_PIO };
	struct mshv_user_irqfd irq = { .fd = efd, .gsi = 3 };
	__u8 bitmap[128];
	struct mshv_gpap_access_bitmap b = {
		.access_type = MSHV_GPAP_ACCESS_TYPE_DIRTY, .access_op = MSHV_GPAP_ACCESS_OP_CLEAR,
		.page_count = 1024, .bitmap_ptr = (unsigned long)bitmap,
	};
	char lapic[4096] __attribute__((aligned(4096)));
	struct mshv_get_set_vp_state st = {
		.type = MSHV_VP_STATE_LAPIC, .buf_sz = 4096, .buf_ptr = (unsigned long)lapic,
	};
	struct hv_message msg;

	if (super_pages)
		a.pt_flags |= 1 << MSHV_PT_BIT_GPA_SUPER_PAGES;
	memcpy(mem + CODE, touch, sizeof(touch));
	TRY(o, "create partition", pt = ioctl(mshv, MSHV_CREATE_PARTITION, &a));
	TRY(o, "initialize", ioctl(pt, MSHV_INITIALIZE_PARTITION));
	TRY(o, "map movable", __mshv_set_memory(pt, 0, mem, size, W | X));
	TRY(o, "map pinned", __mshv_set_memory(pt, 0x1000, pinned, 1 << 16,
					       W | 1 << MSHV_SET_MEM_BIT_PINNED));
	TRY(o, "create VP", vp = __mshv_create_vp(pt, 0));
	TRY(o, "set CS", __vp_set_reg(vp, HV_X64_REGISTER_CS, 0, 0xffffULL | (0x9bULL << 48)));
	TRY(o, "set RIP", __vp_set_reg(vp, HV_X64_REGISTER_RIP, CODE, 0));
	TRY(o, "ioeventfd", ioctl(pt, MSHV_IOEVENTFD, &io));
	TRY(o, "irqfd", ioctl(pt, MSHV_IRQFD, &irq));
	TRY(o, "run", __vp_run(vp, &msg));
	if (msg.type != HVMSG_X64_IO_PORT_INTERCEPT) {
		/* A fault the kernel could not resolve: userspace's, as on a real host. */
		o->exited = msg.type == HVMSG_UNMAPPED_GPA || msg.type == HVMSG_GPA_INTERCEPT;
		if (!o->exited) {
			o->op = "run: unexpected message";
			o->err = msg.type;
		}
		goto out;
	}
	TRY(o, "get VP state", ioctl(vp, MSHV_GET_VP_STATE, &st));
	TRY(o, "set VP state", ioctl(vp, MSHV_SET_VP_STATE, &st));
	TRY(o, "dirty bitmap", ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &b));
	TRY(o, "unmap pinned", __mshv_set_memory(pt, 0x1000, pinned, 1 << 16,
						 1 << MSHV_SET_MEM_BIT_UNMAP));
	TRY(o, "unmap movable", __mshv_set_memory(pt, 0, mem, size, 1 << MSHV_SET_MEM_BIT_UNMAP));
out:
	if (vp >= 0)
		close(vp);
	if (pt >= 0)
		close(pt);
	munmap(mem, size);
	munmap(pinned, 1 << 16);
	close(efd);
	close(mshv);
}

static void scenario_vmm_4k(struct outcome *o)
{
	scenario_vmm(o, false);
}

static void scenario_vmm_2m(struct outcome *o)
{
	scenario_vmm(o, true);
}

/* The errno a status becomes (upstream's hv_result_to_errno). */
static int errno_of(int status)
{
	switch (status) {
	case 0x5:	/* INVALID_PARAMETER */
		return EINVAL;
	case 0x6:	/* ACCESS_DENIED */
		return EACCES;
	case 0xb:	/* INSUFFICIENT_MEMORY */
		return ENOMEM;
	default:
		return EIO;
	}
}

/* One status of each class: one upstream maps to an errno, a shortage, one it does not know. */
static const struct {
	int status;
	const char *name;
} statuses[] = {
	{ 0x05, "INVALID_PARAMETER" },
	{ 0x0b, "INSUFFICIENT_MEMORY" },
	{ 0x71, "OPERATION_FAILED" },
};

static void sweep(struct __test_metadata *_metadata, void (*scenario)(struct outcome *))
{
	struct outcome o = { 0 };
	char why[160], line[64];
	long before, n, i;
	unsigned int s;

	if (access(SIM "fault", W_OK))
		SKIP(return, "no simulator (not the MSHV_SIM=1 build)");
	sim_fault("clear");
	/* The scenario unharmed: it succeeds, and its hypercalls are counted. */
	before = total_calls();
	scenario(&o);
	n = total_calls() - before;
	ASSERT_EQ(NULL, o.op) TH_LOG("unharmed, %s failed: %s", o.op, strerror(o.err));
	ASSERT_TRUE(hypervisor_clean(why, sizeof(why))) TH_LOG("%s", why);
	TH_LOG("%ld hypercalls, each failed with %zu statuses", n,
	       sizeof(statuses) / sizeof(statuses[0]));
	for (i = 1; i <= n; i++) {
		for (s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
			memset(&o, 0, sizeof(o));
			snprintf(line, sizeof(line), "any %ld 1 %#x", i, statuses[s].status);
			sim_fault(line);
			scenario(&o);
			sim_fault("clear");
			if (o.op && o.err != errno_of(statuses[s].status))
				EXPECT_EQ(errno_of(statuses[s].status), o.err)
					TH_LOG("call %ld failed with %s: %s gave %s", i,
					       statuses[s].name, o.op, strerror(o.err));
			EXPECT_TRUE(hypervisor_clean(why, sizeof(why)))
				TH_LOG("call %ld failed with %s: left %s", i, statuses[s].name, why);
		}
	}
}

FIXTURE(sweep) {
	int unused;
};

FIXTURE_SETUP(sweep)
{
}

FIXTURE_TEARDOWN(sweep)
{
	sim_fault("clear");
}

TEST_F(sweep, partition_lifecycle)
{
	sweep(_metadata, scenario_partition);
}

TEST_F_TIMEOUT(sweep, vmm_lifecycle_4k, 300)
{
	sweep(_metadata, scenario_vmm_4k);
}

TEST_F_TIMEOUT(sweep, vmm_lifecycle_2m, 300)
{
	sweep(_metadata, scenario_vmm_2m);
}

TEST_HARNESS_MAIN
