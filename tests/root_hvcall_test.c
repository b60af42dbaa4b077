// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_ROOT_HVCALL: argument checks, the hypercall list, and status write-back.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"

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

TEST_HARNESS_MAIN
