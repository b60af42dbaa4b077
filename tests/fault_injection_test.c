// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall failures reach userspace as the right errno and leave nothing
 * behind: the simulator fails the hypercalls of create, initialize, create VP,
 * map, unmap and run on request (debugfs, simulator build only). Leaks are
 * caught by the simulator's own accounting ("partitions 0" at the end) and by
 * the kmemleak scan of the test run.
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
#include "ucall.h"
#include "sim.h"

#define HVCALL_CREATE_PARTITION		0x0040
#define HVCALL_INITIALIZE_PARTITION	0x0041
#define HVCALL_UNMAP_GPA_PAGES		0x004c
#define HVCALL_MAP_VP_STATE_PAGE	0x00e1
#define HVCALL_DISPATCH_VP		0x00c2
#define HVCALL_FINALIZE_PARTITION	0x0042
#define HVCALL_DELETE_PARTITION		0x0043
#define HVCALL_WITHDRAW_MEMORY		0x0049

#define HV_STATUS_OPERATION_FAILED	0x71

static void inject(int code, int nth, int times, int status)
{
	char line[64];

	snprintf(line, sizeof(line), "%#x %d %d %#x\n", code, nth, times, status);
	sim_fault(line);
}

static void clear_faults(void)
{
	sim_fault("clear");
}

FIXTURE(sim) {
	int mshv;
	int before;
};

FIXTURE_SETUP(sim)
{
	self->mshv = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	if (access(SIM "fault", W_OK))
		SKIP(return, "no simulator (not the MSHV_SIM=1 build)");
	clear_faults();
	self->before = sim_partitions();
}

FIXTURE_TEARDOWN(sim)
{
	clear_faults();
	/* Whatever failed, every partition the test made is gone again. */
	EXPECT_EQ(self->before, sim_partitions());
	close(self->mshv);
}

TEST_F(sim, create_partition)
{
	inject(HVCALL_CREATE_PARTITION, 1, 1, HV_STATUS_ACCESS_DENIED);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_partition(self->mshv, 0, 0));
	EXPECT_EQ(EACCES, errno);
	/* A hypervisor that keeps asking for memory: the deposits are bounded, ENOMEM. */
	inject(HVCALL_CREATE_PARTITION, 1, 11, HV_STATUS_INSUFFICIENT_MEMORY);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_partition(self->mshv, 0, 0));
	EXPECT_EQ(ENOMEM, errno);
	/* Fewer shortages than the bound: deposits, then success. */
	inject(HVCALL_CREATE_PARTITION, 1, 3, HV_STATUS_INSUFFICIENT_MEMORY);
	close(mshv_create_partition(self->mshv, true));
}

TEST_F(sim, initialize_partition)
{
	int pt = mshv_create_partition(self->mshv, false);

	inject(HVCALL_INITIALIZE_PARTITION, 1, 1, HV_STATUS_OPERATION_FAILED);
	errno = 0;
	EXPECT_EQ(-1, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	close(pt);
}

TEST_F(sim, create_vp)
{
	int pt = mshv_create_partition(self->mshv, true);
	int vp;

	inject(HVCALL_CREATE_VP, 1, 1, HV_STATUS_ACCESS_DENIED);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(pt, 0));
	EXPECT_EQ(EACCES, errno);
	/* The VP is made but its message page cannot be mapped: the VP is deleted again. */
	inject(HVCALL_MAP_VP_STATE_PAGE, 1, 1, HV_STATUS_ACCESS_DENIED);
	errno = 0;
	EXPECT_EQ(-1, __mshv_create_vp(pt, 0));
	EXPECT_EQ(EACCES, errno);
	vp = __mshv_create_vp(pt, 0);
	EXPECT_LE(0, vp);
	close(vp);
	close(pt);
}

/* A shortage of contiguous memory is answered with blocks of 8 contiguous pages, and a retry. */
TEST_F(sim, contiguous_shortage_is_deposited_for)
{
	int pt = mshv_create_partition(self->mshv, true);
	__u64 id = sim_newest_partition();
	long before = sim_deposited(id);
	int vp;

	inject(HVCALL_CREATE_VP, 1, 1, 0x75 /* INSUFFICIENT_CONTIGUOUS_MEMORY */);
	vp = __mshv_create_vp(pt, 0);
	EXPECT_LE(0, vp) TH_LOG("create VP: %s", strerror(errno));
	EXPECT_LE(before + 8, sim_deposited(id));
	close(vp);
	close(pt);
}

TEST_F(sim, map_and_unmap)
{
	int pt = mshv_create_partition(self->mshv, true);
	size_t size = 1024 * 4096;	/* three map hypercalls */
	char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u8 w = 1 << MSHV_SET_MEM_BIT_WRITABLE, u = 1 << MSHV_SET_MEM_BIT_UNMAP;

	ASSERT_NE(MAP_FAILED, m);
	/* The second batch fails: the first is undone, nothing stays mapped or pinned. */
	inject(HVCALL_MAP_GPA_PAGES, 2, 1, HV_STATUS_ACCESS_DENIED);
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(pt, 0, m, size, w));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, __mshv_set_memory(pt, 0, m, size, w));
	/* A failed unmap keeps the region: unmapping again works. */
	inject(HVCALL_UNMAP_GPA_PAGES, 1, 1, HV_STATUS_ACCESS_DENIED);
	errno = 0;
	EXPECT_EQ(-1, __mshv_set_memory(pt, 0, m, size, u));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, __mshv_set_memory(pt, 0, m, size, u));
	close(pt);
	munmap(m, size);
}

TEST_F(sim, run_vp)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	struct hv_message msg;
	static const __u8 hlt[] = { 0xf4 };

	vm_load(vm, 0x1000, hlt, sizeof(hlt));
	vp_set_entry(vm->vp_fd[0], 0x1000);
	inject(HVCALL_DISPATCH_VP, 1, 1, HV_STATUS_ACCESS_DENIED);
	errno = 0;
	EXPECT_EQ(-1, __vp_run(vm->vp_fd[0], &msg));
	EXPECT_EQ(EACCES, errno);
	vp_run(vm->vp_fd[0], &msg);
	EXPECT_EQ(HVMSG_X64_HALT, msg.type);
	vm_destroy(vm);
}

TEST_F(sim, partition_teardown)
{
	int codes[] = { HVCALL_FINALIZE_PARTITION, HVCALL_WITHDRAW_MEMORY, HVCALL_DELETE_PARTITION };
	unsigned int i;

	/* A teardown hypercall that fails once is tried again: nothing stays behind. */
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		struct mshv_vm *vm = vm_create_with_one_vp(0x10000);

		inject(codes[i], 1, 1, HV_STATUS_OPERATION_FAILED);
		vm_destroy(vm);
		EXPECT_EQ(self->before, sim_partitions()) TH_LOG("code %#x", codes[i]);
	}
}

TEST_HARNESS_MAIN
