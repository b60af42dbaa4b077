// SPDX-License-Identifier: GPL-2.0
/*
 * mshv_io_bench: an ioeventfd notification against a full exit to userspace
 * for the same guest write, in one boot (`make bench`).
 *
 * The guest writes AL to a port (or an MMIO address) 200 times in a loop, then
 * halts. With an ioeventfd on the address, one MSHV_RUN_VP does all 200 writes
 * in the kernel; without, each write is an exit that the VMM completes as
 * cloud-hypervisor does (RIP advanced through the mapped register page, the
 * cheapest way there is) before running the VP again. The figure is the time
 * per write with the ioeventfd over the time per write through userspace
 * (goal <= 0.5), the median of 21 rounds of each: once as measured, and once
 * without the time the simulated hypervisor spends in its calls (the same
 * dispatch per write on both paths, and far slower under QEMU TCG than a real
 * hypervisor's exit and entry), which leaves what the driver and the VMM add.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"
#include "bench.h"

#define CODE	0x1000
#define PORT	0x3000
#define MMIO	0x10000
#define WRITES	200
#define ROUNDS	21

/* mov $PORT,%dx; mov $0,%al; 1: out %al,(%dx); inc %al; cmp $WRITES,%al; jnz 1b; hlt */
static const __u8 pio[] = {
	0xba, 0x00, 0x30, 0xb0, 0x00, 0xee, 0xfe, 0xc0, 0x3c, WRITES, 0x75, 0xf9, 0xf4,
};

/* mov $0,%al; 1: mov %al,(0) [DS: MMIO]; inc %al; cmp $WRITES,%al; jnz 1b; hlt */
static const __u8 mmio[] = {
	0xb0, 0x00, 0xa2, 0x00, 0x00, 0xfe, 0xc0, 0x3c, WRITES, 0x75, 0xf7, 0xf4,
};

/* struct hv_vp_register_page, as far as RIP. */
struct regpage {
	__u16 version;
	__u8 isvalid;
	__u8 rsvdz;
	__u32 dirty;
	__u64 gpr[16];
	__u64 rip;
} __attribute__((packed));

#define DIRTY_IP	(1 << 1)

/* Runs the loop from the start once; seconds per write, and of them outside the simulator. */
static double one_round(struct mshv_vm *vm, struct regpage *rp, bool in_kernel, __u32 exit_type,
			double *outside)
{
	int vp = vm->vp_fd[0];
	struct hv_message msg;
	int writes = 0;
	double t0, hv, t;

	vp_set_entry(vp, CODE);
	hv = sim_seconds();
	t0 = now();
	for (;;) {
		vp_run(vp, &msg);
		if (msg.type == HVMSG_X64_HALT)
			break;
		TEST_ASSERT(!in_kernel, "an exit (%#x) the ioeventfd should have taken", msg.type);
		TEST_ASSERT(msg.type == exit_type, "exit %#x", msg.type);
		/* The VMM completes the write: RIP past it, through the register page. */
		rp->rip = msg.intercept.rip + (exit_type == HVMSG_X64_IO_PORT_INTERCEPT ? 1 : 3);
		rp->dirty = DIRTY_IP;
		writes++;
	}
	t = now() - t0;
	hv = sim_seconds() - hv;
	TEST_ASSERT(in_kernel || writes == WRITES, "%d writes exited", writes);
	*outside = (t - hv) / WRITES;
	return t / WRITES;
}

static void bench(const char *what, const __u8 *code, size_t len, bool pio_kind)
{
	struct mshv_vm *vm = vm_create_with_one_vp(0x10000);
	int vp = vm->vp_fd[0], efd = eventfd(0, EFD_NONBLOCK);
	struct mshv_user_ioeventfd a = {
		.addr = pio_kind ? PORT : MMIO,
		.len = 1,
		.fd = efd,
		.flags = pio_kind ? 1 << MSHV_IOEVENTFD_BIT_PIO : 0,
	};
	__u32 exit_type = pio_kind ? HVMSG_X64_IO_PORT_INTERCEPT : HVMSG_UNMAPPED_GPA;
	struct regpage *rp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vp,
				  MSHV_VP_MMAP_OFFSET_REGISTERS * 4096);
	double user[ROUNDS], kernel[ROUNDS], user_out[ROUNDS], kernel_out[ROUNDS];
	double u, k, uo, ko;
	__u64 signals = 0;
	int i;

	TEST_ASSERT(efd >= 0 && rp != MAP_FAILED, "eventfd or register page: %s", strerror(errno));
	vm_load(vm, CODE, code, len);
	TEST_ASSERT(!__vp_set_reg(vp, HV_X64_REGISTER_DS, MMIO, 0xffffULL | (0x93ULL << 48)),
		    "set DS");
	/* Alternate, so both see the same machine. */
	for (i = 0; i < ROUNDS; i++) {
		TEST_ASSERT(!ioctl(vm->pt_fd, MSHV_IOEVENTFD, &a), "assign: %s", strerror(errno));
		kernel[i] = one_round(vm, rp, true, exit_type, &kernel_out[i]);
		a.flags |= 1 << MSHV_IOEVENTFD_BIT_DEASSIGN;
		TEST_ASSERT(!ioctl(vm->pt_fd, MSHV_IOEVENTFD, &a), "deassign: %s", strerror(errno));
		a.flags &= ~(1 << MSHV_IOEVENTFD_BIT_DEASSIGN);
		user[i] = one_round(vm, rp, false, exit_type, &user_out[i]);
	}
	TEST_ASSERT(read(efd, &signals, 8) == 8 && signals == ROUNDS * WRITES,
		    "%llu signals", (unsigned long long)signals);
	k = median(kernel, ROUNDS);
	u = median(user, ROUNDS);
	ko = median(kernel_out, ROUNDS);
	uo = median(user_out, ROUNDS);
	printf("bench: %s write (medians): ioeventfd %.1f us, exit to userspace and back %.1f us, "
	       "ratio %.2f; outside the simulated hypervisor %.1f us and %.1f us, "
	       "ratio %.2f (goal <= 0.5)\n", what, k * 1e6, u * 1e6, k / u, ko * 1e6, uo * 1e6,
	       ko / uo);
	munmap(rp, 4096);
	close(efd);
	vm_destroy(vm);
}

int main(void)
{
	bench("port", pio, sizeof(pio), true);
	bench("MMIO", mmio, sizeof(mmio), false);
	return 0;
}
