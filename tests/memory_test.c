// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_SET_GUEST_MEMORY: map and unmap, and every way to get them wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"

#define W (1 << MSHV_SET_MEM_BIT_WRITABLE)
#define X (1 << MSHV_SET_MEM_BIT_EXECUTABLE)
#define U (1 << MSHV_SET_MEM_BIT_UNMAP)
#define P (1 << MSHV_SET_MEM_BIT_PINNED)

FIXTURE(pt) {
	int mshv;
	int pt;
	char *mem;
	size_t size;
};

FIXTURE_SETUP(pt)
{
	self->mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	if (!mshv_has_cap(MSHV_CAP_GUEST_MEMORY))
		SKIP(return, "no MSHV_CAP_GUEST_MEMORY");
	self->pt = mshv_create_partition(self->mshv, true);
	self->size = 16 * 4096;
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(pt)
{
	close(self->pt);
	munmap(self->mem, self->size);
	close(self->mshv);
}

static int set_mem(int pt, __u64 gfn, void *addr, __u64 size, __u8 flags, __u8 rsvd0)
{
	struct mshv_user_mem_region r = {
		.size = size,
		.guest_pfn = gfn,
		.userspace_addr = (__u64)(unsigned long)addr,
		.flags = flags,
	};

	r.rsvd[0] = rsvd0;
	return ioctl(pt, MSHV_SET_GUEST_MEMORY, &r);
}

TEST_F(pt, map_and_unmap)
{
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, self->size, W | X, 0));
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, self->size, U, 0));
	/* Mapped again after the unmap; read-only and not executable too. */
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, self->size, 0, 0));
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, self->size, U, 0));
}

TEST_F(pt, bad_flags_and_reserved)
{
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, self->mem, self->size, 1 << MSHV_SET_MEM_BIT_COUNT, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, self->mem, self->size, 0x80, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, self->mem, self->size, W, 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(pt, bad_sizes_and_alignment)
{
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, self->mem, 0, W, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, self->mem, 4095, W, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, self->mem + 8, 4096, W, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(pt, overflow_and_gpa_space)
{
	/* guest_pfn + pages wraps around, or runs past the 52-bit GPA space. */
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, ~0ULL - 1, self->mem, self->size, W, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, (1ULL << 40) - 1, self->mem, 2 * 4096, W, 0));
	EXPECT_EQ(EINVAL, errno);
	/* The last page of the GPA space is fine. */
	EXPECT_EQ(0, set_mem(self->pt, (1ULL << 40) - 1, self->mem, 4096, W, 0));
}

TEST_F(pt, no_memory_there)
{
	char *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole, 4096));
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, hole, 4096, W, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_GUEST_MEMORY, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(pt, writable_region_of_read_only_memory)
{
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, ro, 4096, W, 0));
	EXPECT_EQ(EFAULT, errno);
	/* Read-only guest memory over it is fine. */
	EXPECT_EQ(0, set_mem(self->pt, 0, ro, 4096, 0, 0));
	munmap(ro, 4096);
}

TEST_F(pt, overlap_is_eexist)
{
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, 4 * 4096, W, 0));
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0x103, self->mem + 4 * 4096, 4 * 4096, W, 0));
	EXPECT_EQ(EEXIST, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0xfd, self->mem + 4 * 4096, 4 * 4096, W, 0));
	EXPECT_EQ(EEXIST, errno);
	/* Adjacent on both sides is fine. */
	EXPECT_EQ(0, set_mem(self->pt, 0x104, self->mem + 4 * 4096, 4 * 4096, W, 0));
	EXPECT_EQ(0, set_mem(self->pt, 0xfc, self->mem + 8 * 4096, 4 * 4096, W, 0));
}

TEST_F(pt, overlap_is_checked_before_pinning)
{
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, 4 * 4096, W, 0));
	/* Overlapping and unpinnable (writable over read-only memory): EEXIST, as upstream. */
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0x101, ro, 4096, W, 0));
	EXPECT_EQ(EEXIST, errno);
	munmap(ro, 4096);
}

TEST_F(pt, kernel_addresses_are_einval)
{
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0, (void *)0xffffffff81000000UL, 4096, W, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(pt, unmap_past_the_gpa_space_is_enoent)
{
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, ~0ULL - 1, self->mem, self->size, U, 0));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(pt, unmap_must_match)
{
	ASSERT_EQ(0, set_mem(self->pt, 0x100, self->mem, 4 * 4096, W, 0));
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0x200, self->mem, 4 * 4096, U, 0));
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0x101, self->mem + 4096, 3 * 4096, U, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0x100, self->mem, 2 * 4096, U, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mem(self->pt, 0x100, self->mem + 4096, 4 * 4096, U, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_mem(self->pt, 0x100, self->mem, 4 * 4096, U, 0));
}

TEST_F(pt, uninitialized_partition)
{
	int pt = mshv_create_partition(self->mshv, false);

	/* The hypervisor refuses to map into an uninitialized partition: EIO, nothing pinned. */
	errno = 0;
	EXPECT_EQ(-1, set_mem(pt, 0, self->mem, self->size, W, 0));
	EXPECT_EQ(EIO, errno);
	close(pt);
}

TEST_F(pt, munmap_while_mapped_is_allowed)
{
	char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, m);
	m[0] = 1;
	ASSERT_EQ(0, set_mem(self->pt, 0, m, 4 * 4096, W, 0));
	/* Movable: the process may unmap its memory; the guest loses it (see movable_memory). */
	EXPECT_EQ(0, munmap(m, 4 * 4096));
}

TEST_F(pt, munmap_while_pinned_keeps_the_pages)
{
	char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 pfn, before;
	__u32 flags;

	ASSERT_NE(MAP_FAILED, m);
	m[0] = 1;
	before = host_pfn(m);
	ASSERT_EQ(0, set_mem(self->pt, 0, m, 4 * 4096, W | P, 0));
	/* Pinned: the process may unmap its view; the partition keeps the pages until close. */
	EXPECT_EQ(0, munmap(m, 4 * 4096));
	if (sim_present()) {
		ASSERT_EQ(0, sim_gpa(sim_newest_partition(), 0, &pfn, &flags));
		EXPECT_EQ(before, pfn);
	}
}

/* 4 MiB of anonymous memory, 2M-aligned, backed by transparent huge pages if the kernel can. */
static char *huge_memory(size_t size)
{
	char *raw = mmap(NULL, size + (2 << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *m;
	size_t i;

	if (raw == MAP_FAILED)
		return NULL;
	m = (char *)(((unsigned long)raw + (2 << 20) - 1) & ~((2UL << 20) - 1));
	madvise(m, size, MADV_HUGEPAGE);
	for (i = 0; i < size; i += 4096)
		m[i] = 1;
	return m;
}

static bool is_huge(void *addr)
{
	char line[256];
	unsigned long start, end, kb;
	bool in = false, huge = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) == 2)
			in = (unsigned long)addr >= start && (unsigned long)addr < end;
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1 && kb >= 4096)
			huge = true;
	}
	fclose(f);
	return huge;
}

TEST(large_pages_when_the_backing_allows)
{
	size_t size = 4 << 20;
	int mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	char *m = huge_memory(size);
	int pt, plain;
	long before;

	ASSERT_NE(NULL, m);
	if (sim_calls(HVCALL_MAP_GPA_PAGES) < 0)
		SKIP(return, "no simulator counters to count hypercalls with");
	if (!is_huge(m))
		SKIP(return, "the kernel gave no transparent huge pages");
	pt = __mshv_create_partition(mshv, 1 << MSHV_PT_BIT_GPA_SUPER_PAGES, 0);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	/* Pinned: two 2M pages in one hypercall (4K pages would take three: 509 per call). */
	before = sim_calls(HVCALL_MAP_GPA_PAGES);
	ASSERT_EQ(0, set_mem(pt, 0x200, m, size, W | P, 0));
	EXPECT_EQ(1, sim_calls(HVCALL_MAP_GPA_PAGES) - before);
	ASSERT_EQ(0, set_mem(pt, 0x200, m, size, U, 0));
	/* A guest address off the 2M grid: 4K pages. */
	before = sim_calls(HVCALL_MAP_GPA_PAGES);
	ASSERT_EQ(0, set_mem(pt, 0x201, m, size, W | P, 0));
	EXPECT_EQ(3, sim_calls(HVCALL_MAP_GPA_PAGES) - before);
	close(pt);
	/* Without MSHV_PT_BIT_GPA_SUPER_PAGES: 4K pages. */
	plain = mshv_create_partition(mshv, true);
	before = sim_calls(HVCALL_MAP_GPA_PAGES);
	ASSERT_EQ(0, set_mem(plain, 0x200, m, size, W | P, 0));
	EXPECT_EQ(3, sim_calls(HVCALL_MAP_GPA_PAGES) - before);
	close(plain);
	close(mshv);
}

TEST_HARNESS_MAIN
