// SPDX-License-Identifier: GPL-2.0
/*
 * Device memory regions (MSHV_CAP_MMIO_MEMORY): MSHV_SET_GUEST_MEMORY of a
 * VM_IO | VM_PFNMAP mapping maps its PFNs uncached, the address's offset into
 * the mapping honoured (upstream maps vm_pgoff whatever the offset), and
 * refuses RAM. The mappings come from /dev/mem (remap_pfn_range, vm_pgoff =
 * PFN): a hole in the physical address space for device memory, a RAM page
 * for the refusal. The simulator shows what the hypervisor maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"
#include "kmsg.h"

static const __u8 W = 1 << MSHV_SET_MEM_BIT_WRITABLE;
static const __u8 U = 1 << MSHV_SET_MEM_BIT_UNMAP;
static const __u8 P = 1 << MSHV_SET_MEM_BIT_PINNED;

#define SIZE 0x10000UL

/*
 * A 2M-aligned physical address below 4G above every "System RAM" range of /proc/iomem, and
 * the first RAM page above 1M.
 */
static void physical_layout(unsigned long *hole, unsigned long *ram)
{
	unsigned long start, end, top = 0;
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");

	*ram = 0;
	TEST_ASSERT(f, "open /proc/iomem: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* Top-level entries only (no indentation). */
		if (line[0] == ' ' || !strstr(line, "System RAM"))
			continue;
		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || end >= (1UL << 32))
			continue;
		if (end > top)
			top = end;
		if (!*ram && start >= 0x100000)
			*ram = start;
	}
	fclose(f);
	TEST_ASSERT(top && *ram, "no System RAM in /proc/iomem");
	*hole = ((top + 1 + (2UL << 20) - 1) & ~((2UL << 20) - 1)) + (16UL << 20);
	TEST_ASSERT(*hole + SIZE < (1UL << 32), "no hole below 4G");
}

FIXTURE(mmio) {
	int mshv, pt, mem;
	__u64 id;
	unsigned long hole, ram;
	__u8 *dev;
};

FIXTURE_SETUP(mmio)
{
	self->mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_MMIO_MEMORY));
	/* What the hypervisor maps is read from the simulator. */
	TEST_REQUIRE(sim_present());
	self->pt = mshv_create_partition(self->mshv, true);
	self->id = sim_newest_partition();
	self->mem = open("/dev/mem", O_RDWR | O_SYNC);
	ASSERT_LE(0, self->mem);
	physical_layout(&self->hole, &self->ram);
	self->dev = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->mem, self->hole);
	ASSERT_NE(MAP_FAILED, self->dev);
}

FIXTURE_TEARDOWN(mmio)
{
	munmap(self->dev, SIZE);
	close(self->mem);
	close(self->pt);
	close(self->mshv);
}

TEST_F(mmio, mapped_uncached_at_the_offset)
{
	__u64 pfn;
	__u32 flags;
	int i;

	/* Two pages from the mapping's second page on; no write access asked for. */
	ASSERT_EQ(0, __mshv_set_memory(self->pt, 0x400, self->dev + 0x1000, 0x2000, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, sim_gpa(self->id, 0x400 + i, &pfn, &flags));
		EXPECT_EQ((self->hole >> 12) + 1 + i, pfn);
		EXPECT_TRUE(flags & HV_MAP_GPA_NOT_CACHED);
		EXPECT_FALSE(flags & HV_MAP_GPA_NO_ACCESS);
		/* As upstream: device memory is readable and writable. */
		EXPECT_EQ(HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE,
			  flags & (HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE));
	}
	EXPECT_EQ(-1, sim_gpa(self->id, 0x402, &pfn, &flags));
	/* Overlaps are refused as for RAM; the unmap must match exactly. */
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0x401, self->dev, 0x1000, W));
	EXPECT_EQ(EEXIST, errno);
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0x400, self->dev, 0x2000, U));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, __mshv_set_memory(self->pt, 0x400, self->dev + 0x1000, 0x2000, U));
	EXPECT_EQ(-1, sim_gpa(self->id, 0x400, &pfn, &flags));
}

TEST_F(mmio, never_movable_and_pinning_changes_nothing)
{
	__u64 pfn;
	__u32 flags;

	ASSERT_EQ(0, __mshv_set_memory(self->pt, 0x10, self->dev, SIZE, W | P));
	ASSERT_EQ(0, sim_gpa(self->id, 0x1f, &pfn, &flags));
	EXPECT_EQ((self->hole >> 12) + 0xf, pfn);
	EXPECT_TRUE(flags & HV_MAP_GPA_NOT_CACHED);
	/* The VMA going away does not change the hypervisor's mapping: nothing is movable. */
	ASSERT_EQ(0, munmap(self->dev, SIZE));
	ASSERT_EQ(0, sim_gpa(self->id, 0x10, &pfn, &flags));
	EXPECT_EQ(self->hole >> 12, pfn);
	self->dev = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->mem, self->hole);
	ASSERT_NE(MAP_FAILED, self->dev);
}

TEST_F(mmio, past_the_mapping_is_einval)
{
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, self->dev + SIZE - 0x1000, 0x2000, W));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(mmio, ram_is_refused)
{
	__u8 *ram = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, self->mem, self->ram);

	ASSERT_NE(MAP_FAILED, ram);
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(self->pt, 0, ram, 0x2000, W));
	EXPECT_EQ(EINVAL, errno);
	munmap(ram, 0x2000);
}

TEST_HARNESS_MAIN
