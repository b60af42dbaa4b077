// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_ROOT_HVCALL: argument checks, the hypercall list, and status write-back.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"

FIXTURE(vm) {
	struct mshv_vm *vm;
	struct hv_input_get_partition_property in;
	__u64 out;
	struct mshv_root_hvcall a;
};

FIXTURE_SETUP(vm)
{
	self->vm = vm_create_with_one_vp(0x10000);
	self->in = (struct hv_input_get_partition_property){
		.partition_id = 0x1234, /* the kernel writes the real one */
		.property_code = HV_PARTITION_PROPERTY_XSAVE_STATES,
	};
	self->out = 0;
	self->a = (struct mshv_root_hvcall){
		.code = HVCALL_GET_PARTITION_PROPERTY,
		.in_sz = sizeof(self->in),
		.out_sz = sizeof(self->out),
		.in_ptr = (__u64)(unsigned long)&self->in,
		.out_ptr = (__u64)(unsigned long)&self->out,
	};
}

FIXTURE_TEARDOWN(vm)
{
	vm_destroy(self->vm);
}

TEST_F(vm, get_property_on_each_fd)
{
	int fds[] = { self->vm->pt_fd, self->vm->vp_fd[0], self->vm->mshv_fd };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		struct mshv_root_hvcall a = self->a;

		self->out = 0;
		EXPECT_EQ(0, ioctl(fds[i], MSHV_ROOT_HVCALL, &a)) TH_LOG("fd %u", i);
		EXPECT_EQ(0, a.status);
		EXPECT_NE(0, self->out);
	}
}

TEST_F(vm, failure_writes_the_status_back)
{
	struct mshv_root_hvcall a = self->a;

	self->in.property_code = 0x12345678;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->pt_fd, MSHV_ROOT_HVCALL, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(HV_STATUS_UNKNOWN_PROPERTY, a.status);
	/* Output the hypervisor did not write comes back zeroed. */
	EXPECT_EQ(0, self->out);
}

TEST_F(vm, rep_registers_round_trip)
{
	vp_set_reg(self->vm->vp_fd[0], HV_X64_REGISTER_RBX, 0x1122334455667788ULL);
	EXPECT_EQ(0x1122334455667788ULL, vp_get_reg(self->vm->vp_fd[0], HV_X64_REGISTER_RBX));
	/* An unknown register: the hypervisor's INVALID_PARAMETER, EINVAL. */
	errno = 0;
	EXPECT_EQ(-1, __vp_set_reg(self->vm->vp_fd[0], 0x7777, 0, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(vm, malformed_arguments)
{
	struct mshv_root_hvcall bad[10];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		bad[i] = self->a;
	bad[0].status = 1;
	bad[1].in_ptr = 0;
	bad[2].in_sz = 7;
	bad[3].in_sz = 4097;
	bad[4].rsvd[3] = 1;
	bad[5].out_sz = 0;
	bad[6].out_sz = 4097;
	bad[7].code = HVCALL_CREATE_VP;		/* not on the list */
	bad[8].code = 0xffff;
	bad[9].code = HVCALL_SET_VP_REGISTERS;	/* fine on a partition fd... */
	for (i = 0; i < 9; i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vm->pt_fd, MSHV_ROOT_HVCALL, &bad[i])) TH_LOG("case %u", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %u", i);
	}
	/* ...not SetPartitionProperty on a VP fd (upstream: partition fds only)... */
	bad[8] = self->a;
	bad[8].code = HVCALL_SET_PARTITION_PROPERTY;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->vp_fd[0], MSHV_ROOT_HVCALL, &bad[8]));
	EXPECT_EQ(EINVAL, errno);
	/* ...and /dev/mshv may only read properties of the root. */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->mshv_fd, MSHV_ROOT_HVCALL, &bad[9]));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->pt_fd, MSHV_ROOT_HVCALL, NULL));
	EXPECT_EQ(EFAULT, errno);
	bad[0] = self->a;
	bad[0].in_ptr = 8;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->pt_fd, MSHV_ROOT_HVCALL, &bad[0]));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(vm, output_goes_back_on_success_only)
{
	struct mshv_root_hvcall a = self->a;

	/* A failing call with an output buffer that cannot be written: the status's errno. */
	self->in.property_code = 0x12345678;
	a.out_ptr = 8;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->pt_fd, MSHV_ROOT_HVCALL, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(HV_STATUS_UNKNOWN_PROPERTY, a.status);
}

TEST_F(vm, nothing_of_an_earlier_call_comes_back)
{
	struct {
		struct hv_input_vp_registers head;
		__u32 names[2];
	} __attribute__((packed)) get = {
		.names = { HV_X64_REGISTER_RBX, HV_X64_REGISTER_RDX },
	};
	struct mshv_root_hvcall a = {
		.code = HVCALL_GET_VP_REGISTERS,
		.reps = 2,
		.in_sz = sizeof(get),
		.in_ptr = (__u64)(unsigned long)&get,
	};
	static __u8 out[4096];
	cpu_set_t one;
	unsigned int i;

	/* Both calls on one CPU: they share its output page. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	vp_set_reg(self->vm->vp_fd[0], HV_X64_REGISTER_RBX, 0x5a5a5a5a5a5a5a5aULL);
	vp_set_reg(self->vm->vp_fd[0], HV_X64_REGISTER_RDX, 0x5a5a5a5a5a5a5a5aULL);
	/* The registers land in the output page; this call asks for none of it back. */
	ASSERT_EQ(0, ioctl(self->vm->vp_fd[0], MSHV_ROOT_HVCALL, &a));
	ASSERT_EQ(2, a.reps);
	/* A call with a page of output after it: the 8 bytes it wrote, zeros after them. */
	memset(out, 0xaa, sizeof(out));
	a = self->a;
	a.out_sz = sizeof(out);
	a.out_ptr = (__u64)(unsigned long)out;
	ASSERT_EQ(0, ioctl(self->vm->pt_fd, MSHV_ROOT_HVCALL, &a));
	EXPECT_NE(0, *(__u64 *)out);
	for (i = 8; i < sizeof(out) && !out[i]; i++)
		;
	EXPECT_EQ(sizeof(out), i) TH_LOG("byte %u is %#x", i, i < sizeof(out) ? out[i] : 0);
}

/* Writes `text` to the simulator's debugfs file `name`. */
static void sim_write(const char *name, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), SIM "%s", name);
	fd = open(path, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", path);
	close(fd);
}

TEST_F(vm, rep_output_of_any_size_survives_early_returns)
{
	static const __u32 names[] = {
		HV_X64_REGISTER_RAX, HV_X64_REGISTER_RBX, HV_X64_REGISTER_RDX,
	};
	struct {
		struct hv_input_vp_registers head;
		__u32 names[3];
	} __attribute__((packed)) get = { .names = { names[0], names[1], names[2] } };
	__u64 out[8]; /* 64 bytes: more than 3 values of 16, and no multiple of 3 */
	struct mshv_root_hvcall a = {
		.code = HVCALL_GET_VP_REGISTERS,
		.reps = 3,
		.in_sz = sizeof(get),
		.out_sz = sizeof(out),
		.in_ptr = (__u64)(unsigned long)&get,
		.out_ptr = (__u64)(unsigned long)out,
	};
	long issued;
	unsigned int i;

	TEST_REQUIRE(sim_present());
	for (i = 0; i < 3; i++)
		vp_set_reg(self->vm->vp_fd[0], names[i], 0x1111111111111111ULL * (i + 1));
	/* The simulator completes a few reps per issue: the kernel issues again, keeping each. */
	sim_write("partial_reps", "0x9e3779b97f4a7c15");
	issued = sim_calls(HVCALL_GET_VP_REGISTERS);
	memset(out, 0xaa, sizeof(out));
	EXPECT_EQ(0, ioctl(self->vm->vp_fd[0], MSHV_ROOT_HVCALL, &a));
	issued = sim_calls(HVCALL_GET_VP_REGISTERS) - issued;
	sim_write("partial_reps", "0");
	EXPECT_EQ(3, a.reps);
	EXPECT_LT(1, issued);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0x1111111111111111ULL * (i + 1), out[2 * i]) TH_LOG("register %u", i);
		EXPECT_EQ(0, out[2 * i + 1]) TH_LOG("register %u, high half", i);
	}
	EXPECT_EQ(0, out[6]);
	EXPECT_EQ(0, out[7]);
}

TEST_HARNESS_MAIN
