// SPDX-License-Identifier: GPL-2.0
/*
 * Movable guest memory (MSHV_CAP_MOVABLE_MEMORY): nothing is pinned; the
 * guest's touch faults pages in inside MSHV_RUN_VP, and host changes to the
 * memory (MADV_DONTNEED, munmap, copy-on-write after fork) reach the guest,
 * with the VP between runs and while it runs. The simulator shows what the
 * hypervisor maps (debugfs "gpa"); /proc/self/pagemap shows what the host
 * maps, and the two must agree.
 *
 * The guest reads a byte at DATA, reports it, writes it plus one, reports
 * that, and loops:
 *   0: mov $0,%ah; mov (DATA),%al; mov $UCALL_PORT,%dx; out %ax,(%dx)
 *      inc %al; mov %al,(DATA); out %ax,(%dx); jmp 0b
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "ucall.h"
#include "sim.h"
#include "kmsg.h"

#define CODE	0x1000
#define DATA	0x2000

static const __u8 rw_loop[] = {
	0xb4, 0x00,		/* mov $0, %ah */
	0xa0, 0x00, 0x20,	/* mov (DATA), %al */
	0xba, 0x00, 0x10,	/* mov $UCALL_PORT, %dx */
	0xef,			/* out %ax, (%dx) */
	0xfe, 0xc0,		/* inc %al */
	0xa2, 0x00, 0x20,	/* mov %al, (DATA) */
	0xef,			/* out %ax, (%dx) */
	0xeb, 0xef,		/* jmp 0 */
};

static const __u8 W = 1 << MSHV_SET_MEM_BIT_WRITABLE;
static const __u8 X = 1 << MSHV_SET_MEM_BIT_EXECUTABLE;
static const __u8 U = 1 << MSHV_SET_MEM_BIT_UNMAP;
static const __u8 P = 1 << MSHV_SET_MEM_BIT_PINNED;

/* One round of the loop: what the guest read and what it wrote. */
static void round_trip(int vp, __u8 *read, __u8 *written)
{
	struct ucall uc;

	vp_get_ucall(vp, &uc);
	TEST_ASSERT(uc.kind == UCALL_SYNC, "ucall %u", uc.kind);
	*read = uc.arg & 0xff;
	vp_get_ucall(vp, &uc);
	TEST_ASSERT(uc.kind == UCALL_SYNC, "ucall %u", uc.kind);
	*written = uc.arg & 0xff;
}

/* DS: base, limit 0xffff, a present read/write data segment. */
static void set_ds(int vp, __u64 base)
{
	TEST_ASSERT(!__vp_set_reg(vp, HV_X64_REGISTER_DS, base, 0xffffULL | (0x93ULL << 48)),
		    "set DS: %s", strerror(errno));
}

static void inject(int code, int nth, int times, int status)
{
	char line[64];

	snprintf(line, sizeof(line), "%#x %d %d %#x\n", code, nth, times, status);
	sim_fault(line);
}

TEST(capabilities)
{
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);

	EXPECT_EQ(1, mshv_check_cap(MSHV_CAP_MOVABLE_MEMORY));
	EXPECT_EQ(1, mshv_check_cap(MSHV_CAP_PINNED_MEMORY));
	EXPECT_EQ(1, mshv_check_cap(MSHV_CAP_MMIO_MEMORY));
	close(mshv);
}

FIXTURE(vm) {
	struct mshv_vm *vm;
	__u8 *data;
	__u64 pt;
	int vp;
	int partitions;
};

FIXTURE_SETUP(vm)
{
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_MOVABLE_MEMORY));
	/* What the hypervisor maps is read from the simulator. */
	TEST_REQUIRE(sim_present());
	self->partitions = sim_partitions();
	self->vm = vm_create_with_one_vp(0x10000);
	self->pt = sim_newest_partition();
	self->vp = self->vm->vp_fd[0];
	self->data = (__u8 *)self->vm->mem + DATA;
	vm_load(self->vm, CODE, rw_loop, sizeof(rw_loop));
	vp_set_entry(self->vp, CODE);
	*self->data = 7;
}

FIXTURE_TEARDOWN(vm)
{
	sim_fault("clear");
	vm_destroy(self->vm);
	/* Nothing left behind in the hypervisor. */
	EXPECT_EQ(self->partitions, sim_partitions());
}

TEST_F(vm, faults_in_without_exits)
{
	__u64 pfn, calls = sim_calls(HVCALL_MAP_GPA_PAGES);
	__u32 flags;
	__u8 r, w;

	/* Mapped, but no access: nothing is pinned yet. */
	ASSERT_EQ(0, sim_gpa(self->pt, DATA >> 12, &pfn, &flags));
	EXPECT_TRUE(flags & HV_MAP_GPA_NO_ACCESS);
	/* Code and data fault in inside MSHV_RUN_VP: only the ucalls come out. */
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(7, r);
	EXPECT_EQ(8, w);
	EXPECT_EQ(8, *self->data);
	/* One 2M chunk holds the 64K of guest memory: one fault, one map hypercall. */
	EXPECT_EQ(1, sim_calls(HVCALL_MAP_GPA_PAGES) - calls);
	/* The hypervisor maps the page the host maps. */
	ASSERT_EQ(0, sim_gpa(self->pt, DATA >> 12, &pfn, &flags));
	EXPECT_FALSE(flags & HV_MAP_GPA_NO_ACCESS);
	EXPECT_TRUE(flags & HV_MAP_GPA_WRITABLE);
	EXPECT_EQ(host_pfn(self->data), pfn);
	/* Host writes are the guest's too. */
	*self->data = 40;
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(40, r);
	EXPECT_EQ(41, *self->data);
}

TEST_F(vm, madv_dontneed_between_runs)
{
	__u64 pfn;
	__u32 flags;
	__u8 r, w;

	round_trip(self->vp, &r, &w);
	ASSERT_EQ(8, *self->data);
	ASSERT_EQ(0, madvise(self->data, 4096, MADV_DONTNEED));
	/* The hypervisor's mapping went with the host's. */
	ASSERT_EQ(0, sim_gpa(self->pt, DATA >> 12, &pfn, &flags));
	EXPECT_TRUE(flags & HV_MAP_GPA_NO_ACCESS);
	/* The guest sees the fresh zero page, and writes to the page the host now has. */
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(0, r);
	EXPECT_EQ(1, *self->data);
	ASSERT_EQ(0, sim_gpa(self->pt, DATA >> 12, &pfn, &flags));
	EXPECT_EQ(host_pfn(self->data), pfn);
}

TEST_F(vm, munmap_then_map_again)
{
	struct hv_message msg;
	__u8 r, w;
	void *again;

	round_trip(self->vp, &r, &w);
	ASSERT_EQ(0, munmap(self->data, 4096));
	/* No memory behind the guest page: the intercept goes to userspace. */
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_GPA_INTERCEPT, msg.type);
	EXPECT_EQ(DATA, msg.mem.gpa);
	EXPECT_EQ(0, msg.mem.header.access_type);	/* read */
	/* New memory at the same address: the guest retries the read and sees it. */
	again = mmap(self->data, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ((void *)self->data, again);
	*self->data = 90;
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(90, r);
	EXPECT_EQ(91, *self->data);
}

TEST_F(vm, fork_copy_on_write)
{
	int to_child[2], status;
	__u8 r, w, seen;
	pid_t child;

	round_trip(self->vp, &r, &w);
	ASSERT_EQ(8, *self->data);
	ASSERT_EQ(0, pipe(to_child));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		char c;

		/* After the parent's guest wrote: this copy must still hold 8. */
		if (read(to_child[0], &c, 1) != 1)
			_exit(255);
		_exit(*self->data);
	}
	/*
	 * The fork write-protected the parent's pages; the guest's next write breaks the
	 * copy-on-write for the parent, as a host write would. A stale mapping would write
	 * into the page the child now shares.
	 */
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(8, r);
	EXPECT_EQ(9, *self->data);
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	seen = WEXITSTATUS(status);
	EXPECT_EQ(8, seen);
	close(to_child[0]);
	close(to_child[1]);
}

enum storm_op { DISCARD, FORK, REMAP };

struct dontneed {
	__u8 *page;
	enum storm_op op;
	volatile bool stop;
	unsigned long rounds;
};

/* Changes the host's memory under the running guest, one way or another, until stopped. */
static void *dontneed_loop(void *arg)
{
	struct dontneed *d = arg;
	pid_t child;

	while (!d->stop) {
		switch (d->op) {
		case DISCARD:
			madvise(d->page, 4096, MADV_DONTNEED);
			break;
		case FORK:
			/* Every fork write-protects the parent's pages for copy-on-write. */
			child = fork();
			if (child == 0)
				_exit(0);
			if (child > 0)
				waitpid(child, NULL, 0);
			break;
		case REMAP:
			/* The page goes and comes back with what the guest last wrote, plus 0. */
			mmap(d->page, 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		}
		d->rounds++;
		usleep(200);
	}
	return NULL;
}

TEST_F(vm, madv_dontneed_while_running)
{
	struct dontneed d = { .page = self->data };
	__u8 r, w, last = 7;
	pthread_t t;
	int i, zeros = 0;

	ASSERT_EQ(0, pthread_create(&t, NULL, dontneed_loop, &d));
	for (i = 0; i < 300; i++) {
		round_trip(self->vp, &r, &w);
		/* The guest sees its own last write, or the zero page after a discard. */
		if (r != last)
			EXPECT_EQ(0, r);
		zeros += r == 0 && last != 0;
		last = w;
	}
	d.stop = true;
	pthread_join(t, NULL);
	ksft_print_msg("%lu discards, %d seen by the guest\n", d.rounds, zeros);
	EXPECT_LT(0, d.rounds);
	/* After the storm the two views are still one: a host write reaches the guest. */
	ASSERT_EQ(0, madvise(self->data, 4096, MADV_DONTNEED));
	*self->data = 123;
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(123, r);
	EXPECT_EQ(124, *self->data);
}

/* Run the loop while the host forks again and again: the guest's writes stay the parent's. */
TEST_F(vm, fork_while_running)
{
	struct dontneed d = { .page = self->data, .op = FORK };
	__u8 r, w, last = 7;
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, dontneed_loop, &d));
	for (i = 0; i < 200; i++) {
		round_trip(self->vp, &r, &w);
		EXPECT_EQ(last, r);
		EXPECT_EQ(w, *self->data);
		last = w;
	}
	d.stop = true;
	pthread_join(t, NULL);
	ksft_print_msg("%lu forks\n", d.rounds);
	EXPECT_LT(0, d.rounds);
}

/*
 * Run the loop while the host replaces the data page again and again (mmap MAP_FIXED, which
 * swaps the memory under the mmap lock, so a lookup never finds a hole): the guest sees its last
 * write or the new zero page, and the VMM never sees an intercept.
 */
TEST_F(vm, mmap_fixed_while_running)
{
	struct dontneed d = { .page = self->data, .op = REMAP };
	__u8 r, w, last = 7;
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, dontneed_loop, &d));
	for (i = 0; i < 300; i++) {
		round_trip(self->vp, &r, &w);
		if (r != last)
			EXPECT_EQ(0, r);
		last = w;
	}
	d.stop = true;
	pthread_join(t, NULL);
	ksft_print_msg("%lu replacements\n", d.rounds);
	EXPECT_LT(0, d.rounds);
	/* The region follows the address, not the old memory: a host write reaches the guest. */
	*self->data = 77;
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(77, r);
	EXPECT_EQ(78, *self->data);
}

TEST_F(vm, failed_fault_in_reaches_userspace)
{
	struct hv_message msg;
	__u8 r, w;

	/* The map hypercall of the first fault (the code fetch) fails. */
	inject(HVCALL_MAP_GPA_PAGES, 1, 1, HV_STATUS_ACCESS_DENIED);
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_GPA_INTERCEPT, msg.type);
	EXPECT_EQ(CODE, msg.mem.gpa);
	EXPECT_EQ(2, msg.mem.header.access_type);	/* execute */
	/* Running again retries the instruction, and the fault in. */
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(7, r);
}

TEST_F(vm, fault_in_deposits_when_the_hypervisor_is_short)
{
	long deposits = sim_calls(HVCALL_DEPOSIT_MEMORY);
	__u8 r, w;

	inject(HVCALL_MAP_GPA_PAGES, 1, 1, HV_STATUS_INSUFFICIENT_MEMORY);
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(7, r);
	EXPECT_LT(deposits, sim_calls(HVCALL_DEPOSIT_MEMORY));
}

TEST_F(vm, failed_revocation_unmaps)
{
	__u64 pfn;
	__u32 flags;
	__u8 r, w;

	round_trip(self->vp, &r, &w);
	/* Taking the chunk back to no access fails: it is unmapped instead. */
	inject(HVCALL_MAP_GPA_PAGES, 1, 1, HV_STATUS_ACCESS_DENIED);
	ASSERT_EQ(0, madvise(self->data, 4096, MADV_DONTNEED));
	EXPECT_EQ(-1, sim_gpa(self->pt, DATA >> 12, &pfn, &flags));
	/* The guest's touch of an unmapped page of the region faults it in all the same. */
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(0, r);
	EXPECT_EQ(1, *self->data);
}

TEST_F(vm, pinned_region)
{
	__u64 pfn, before, size = 0x10000;
	__u32 flags;
	__u8 *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pt = self->vm->pt_fd;

	ASSERT_NE(MAP_FAILED, m);
	m[0] = 5;
	ASSERT_EQ(0, __mshv_set_memory(pt, 0x100, m, size, W | P));
	/* Mapped at once, to the page the host has. */
	ASSERT_EQ(0, sim_gpa(self->pt, 0x100, &pfn, &flags));
	EXPECT_FALSE(flags & HV_MAP_GPA_NO_ACCESS);
	EXPECT_EQ(host_pfn(m), pfn);
	/* The host may drop its view; the guest keeps the pinned page. */
	before = pfn;
	ASSERT_EQ(0, madvise(m, 4096, MADV_DONTNEED));
	ASSERT_EQ(0, sim_gpa(self->pt, 0x100, &pfn, &flags));
	EXPECT_FALSE(flags & HV_MAP_GPA_NO_ACCESS);
	EXPECT_EQ(before, pfn);
	EXPECT_NE(before, host_pfn(m));
	EXPECT_EQ(0, __mshv_set_memory(pt, 0x100, m, size, U));
	munmap(m, size);
}

TEST_F(vm, read_only_region)
{
	struct hv_message msg;
	__u8 *m = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ucall uc;

	ASSERT_NE(MAP_FAILED, m);
	m[DATA] = 33;
	/* Guest pages 0x100..0x10f, read-only; the loop's data is at 0x100000 + DATA. */
	ASSERT_EQ(0, __mshv_set_memory(self->vm->pt_fd, 0x100, m, 0x10000, 0));
	set_ds(self->vp, 0x100000);
	/* The read faults in; the write is the VMM's to handle, not a fault to resolve. */
	vp_get_ucall(self->vp, &uc);
	EXPECT_EQ(33, uc.arg & 0xff);
	vp_run(self->vp, &msg);
	ASSERT_EQ(HVMSG_GPA_INTERCEPT, msg.type);
	EXPECT_EQ(0x100000 + DATA, msg.mem.gpa);
	EXPECT_EQ(1, msg.mem.header.access_type);	/* write */
	EXPECT_EQ(33, m[DATA]);
	EXPECT_EQ(0, __mshv_set_memory(self->vm->pt_fd, 0x100, m, 0x10000, U));
	munmap(m, 0x10000);
}

TEST_F(vm, adjacent_regions_and_the_edge_of_the_gpa_space)
{
	/* Two regions side by side in one 2M chunk, the second ending at the last guest page. */
	__u64 last = (1ULL << 40) - 16, first = last - 16, pfn;
	__u8 *a = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u8 *b = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pt = self->vm->pt_fd;
	__u32 flags;
	__u8 r, w;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	a[DATA] = 20;
	b[DATA] = 30;
	ASSERT_EQ(0, __mshv_set_memory(pt, first, a, 0x10000, W));
	ASSERT_EQ(0, __mshv_set_memory(pt, last, b, 0x10000, W));
	/* One page further is past the GPA space. */
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(pt, last + 1, b, 0x10000, W));
	EXPECT_EQ(EINVAL, errno);

	set_ds(self->vp, first << 12);
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(20, r);
	EXPECT_EQ(21, a[DATA]);
	/* The fault stopped at the region's end: the neighbour is still no-access. */
	ASSERT_EQ(0, sim_gpa(self->pt, last + (DATA >> 12), &pfn, &flags));
	EXPECT_TRUE(flags & HV_MAP_GPA_NO_ACCESS);

	set_ds(self->vp, last << 12);
	round_trip(self->vp, &r, &w);
	EXPECT_EQ(30, r);
	EXPECT_EQ(31, b[DATA]);
	/* Dropping the first region's page leaves the second's mapping alone. */
	ASSERT_EQ(0, madvise(a + DATA, 4096, MADV_DONTNEED));
	ASSERT_EQ(0, sim_gpa(self->pt, last + (DATA >> 12), &pfn, &flags));
	EXPECT_FALSE(flags & HV_MAP_GPA_NO_ACCESS);
	EXPECT_EQ(host_pfn(b + DATA), pfn);

	EXPECT_EQ(0, __mshv_set_memory(pt, first, a, 0x10000, U));
	EXPECT_EQ(0, __mshv_set_memory(pt, last, b, 0x10000, U));
	munmap(a, 0x10000);
	munmap(b, 0x10000);
}

/* 4 MiB of anonymous memory, 2M-aligned, backed by transparent huge pages if the kernel can. */
static __u8 *huge_memory(size_t size)
{
	__u8 *raw = mmap(NULL, size + (2 << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u8 *m;
	size_t i;

	if (raw == MAP_FAILED)
		return NULL;
	m = (__u8 *)(((unsigned long)raw + (2 << 20) - 1) & ~((2UL << 20) - 1));
	madvise(m, size, MADV_HUGEPAGE);
	for (i = 0; i < size; i += 4096)
		m[i] = 1;
	return m;
}

TEST(large_page_fault_in)
{
	struct mshv_vm vm = { .mshv_fd = open_mshv_or_skip(O_RDWR | O_CLOEXEC) };
	size_t size = 4 << 20;
	__u8 *m = huge_memory(size), r, w;
	__u64 pt, pfn, calls;
	__u32 flags;
	int vp;

	TEST_REQUIRE(sim_present());
	ASSERT_NE(NULL, m);
	/* 2M-aligned and contiguous: one 2M folio behind the data's chunk. */
	if (host_pfn(m) % 512 || host_pfn(m + (511 << 12)) != host_pfn(m) + 511)
		SKIP(return, "the kernel gave no transparent huge page");
	vm.pt_fd = __mshv_create_partition(vm.mshv_fd, 1 << MSHV_PT_BIT_GPA_SUPER_PAGES, 0);
	ASSERT_LE(0, vm.pt_fd);
	ASSERT_EQ(0, ioctl(vm.pt_fd, MSHV_INITIALIZE_PARTITION));
	pt = sim_newest_partition();
	/* Code at 0x1000 (its own region), data in the 2M-aligned huge region at 0x200000. */
	vm.mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, vm.mem);
	vm.mem_size = 0x10000;
	ASSERT_EQ(0, __mshv_set_memory(vm.pt_fd, 0, vm.mem, 0x10000, W | X));
	ASSERT_EQ(0, __mshv_set_memory(vm.pt_fd, 0x200, m, size, W));
	vp = __mshv_create_vp(vm.pt_fd, 0);
	ASSERT_LE(0, vp);
	vm_load(&vm, CODE, rw_loop, sizeof(rw_loop));
	vp_set_entry(vp, CODE);
	set_ds(vp, 0x200000);
	m[DATA] = 60;
	calls = sim_calls(HVCALL_MAP_GPA_PAGES);
	round_trip(vp, &r, &w);
	EXPECT_EQ(60, r);
	EXPECT_EQ(61, m[DATA]);
	/* Two faults: the code's chunk, and the data's 2M page. */
	EXPECT_EQ(2, sim_calls(HVCALL_MAP_GPA_PAGES) - calls);
	ASSERT_EQ(0, sim_gpa(pt, 0x200 + (DATA >> 12), &pfn, &flags));
	EXPECT_EQ(host_pfn(m + DATA), pfn);
	EXPECT_TRUE(flags & HV_MAP_GPA_LARGE_PAGE);
	close(vp);
	close(vm.pt_fd);
	close(vm.mshv_fd);
	munmap(vm.mem, 0x10000);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/*
 * Page migration: MADV_COLLAPSE copies 512 small pages into a new 2M page and frees the old
 * ones. The hypervisor's mapping must go with them, and the guest's next touch must map the new
 * page (as one 2M page in a GPA_SUPER_PAGES partition).
 */
TEST(migration_into_a_huge_page)
{
	struct mshv_vm vm = { .mshv_fd = open_mshv_or_skip(O_RDWR | O_CLOEXEC) };
	__u8 *raw = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 pt, pfn, before;
	__u8 *m, r, w;
	__u32 flags;
	int vp, i, rc = -1;

	TEST_REQUIRE(sim_present());
	ASSERT_NE(MAP_FAILED, raw);
	m = (__u8 *)(((unsigned long)raw + (2 << 20) - 1) & ~((2UL << 20) - 1));
	/* Small pages first. */
	ASSERT_EQ(0, madvise(m, 2 << 20, MADV_NOHUGEPAGE));
	for (i = 0; i < 512; i++)
		m[i << 12] = i;
	vm.pt_fd = __mshv_create_partition(vm.mshv_fd, 1 << MSHV_PT_BIT_GPA_SUPER_PAGES, 0);
	ASSERT_LE(0, vm.pt_fd);
	ASSERT_EQ(0, ioctl(vm.pt_fd, MSHV_INITIALIZE_PARTITION));
	pt = sim_newest_partition();
	vm.mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, vm.mem);
	vm.mem_size = 0x10000;
	ASSERT_EQ(0, __mshv_set_memory(vm.pt_fd, 0, vm.mem, 0x10000, W | X));
	ASSERT_EQ(0, __mshv_set_memory(vm.pt_fd, 0x200, m, 2 << 20, W));
	vp = __mshv_create_vp(vm.pt_fd, 0);
	ASSERT_LE(0, vp);
	vm_load(&vm, CODE, rw_loop, sizeof(rw_loop));
	vp_set_entry(vp, CODE);
	set_ds(vp, 0x200000);
	round_trip(vp, &r, &w);
	EXPECT_EQ(2, r);
	before = host_pfn(m + DATA);
	ASSERT_EQ(0, sim_gpa(pt, 0x202, &pfn, &flags));
	EXPECT_EQ(before, pfn);
	EXPECT_FALSE(flags & HV_MAP_GPA_LARGE_PAGE);

	/* The host moves the memory. */
	ASSERT_EQ(0, madvise(m, 2 << 20, MADV_HUGEPAGE));
	for (i = 0; i < 3 && rc; i++)
		rc = madvise(m, 2 << 20, MADV_COLLAPSE);
	ASSERT_EQ(0, rc) TH_LOG("MADV_COLLAPSE: %s", strerror(errno));
	EXPECT_NE(before, host_pfn(m + DATA));
	ASSERT_EQ(0, sim_gpa(pt, 0x202, &pfn, &flags));
	EXPECT_TRUE(flags & HV_MAP_GPA_NO_ACCESS);
	/* The guest sees the moved contents, in the new page, now one 2M page. */
	round_trip(vp, &r, &w);
	EXPECT_EQ(3, r);
	EXPECT_EQ(4, m[DATA]);
	EXPECT_EQ(9, m[9 << 12]);
	ASSERT_EQ(0, sim_gpa(pt, 0x202, &pfn, &flags));
	EXPECT_EQ(host_pfn(m + DATA), pfn);
	EXPECT_TRUE(flags & HV_MAP_GPA_LARGE_PAGE);
	close(vp);
	close(vm.pt_fd);
	close(vm.mshv_fd);
	munmap(vm.mem, 0x10000);
	munmap(raw, 4 << 20);
}

TEST_HARNESS_MAIN
