// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mshv_vm.h"

int __mshv_create_partition(int mshv_fd, __u64 flags, __u64 isolation)
{
	struct mshv_create_partition args = { .pt_flags = flags, .pt_isolation = isolation };

	return ioctl(mshv_fd, MSHV_CREATE_PARTITION, &args);
}

int mshv_create_partition(int mshv_fd, bool initialize)
{
	int fd = __mshv_create_partition(mshv_fd, 1 << MSHV_PT_BIT_LAPIC, MSHV_PT_ISOLATION_NONE);

	TEST_ASSERT(fd >= 0, "MSHV_CREATE_PARTITION: %s", strerror(errno));
	if (initialize)
		TEST_ASSERT(!ioctl(fd, MSHV_INITIALIZE_PARTITION), "MSHV_INITIALIZE_PARTITION: %s",
			    strerror(errno));
	return fd;
}

int __mshv_set_memory(int pt_fd, __u64 gfn, void *addr, __u64 size, __u8 flags)
{
	struct mshv_user_mem_region r = {
		.size = size,
		.guest_pfn = gfn,
		.userspace_addr = (__u64)(unsigned long)addr,
		.flags = flags,
	};

	return ioctl(pt_fd, MSHV_SET_GUEST_MEMORY, &r);
}

int __mshv_create_vp(int pt_fd, __u32 index)
{
	struct mshv_create_vp args = { .vp_index = index };

	return ioctl(pt_fd, MSHV_CREATE_VP, &args);
}

struct mshv_vm *vm_create_with_one_vp(size_t mem_size)
{
	struct mshv_vm *vm = calloc(1, sizeof(*vm));
	unsigned int i;

	TEST_ASSERT(vm, "calloc");
	for (i = 0; i < 4; i++)
		vm->vp_fd[i] = -1;
	vm->mshv_fd = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_CREATE_PARTITION));
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_GUEST_MEMORY));
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_VPS));
	TEST_REQUIRE(mshv_has_cap(MSHV_CAP_ROOT_HVCALL));
	vm->pt_fd = mshv_create_partition(vm->mshv_fd, true);
	vm->mem_size = mem_size;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(vm->mem != MAP_FAILED, "mmap");
	TEST_ASSERT(!__mshv_set_memory(vm->pt_fd, 0, vm->mem, mem_size,
				       1 << MSHV_SET_MEM_BIT_WRITABLE |
				       1 << MSHV_SET_MEM_BIT_EXECUTABLE),
		    "MSHV_SET_GUEST_MEMORY: %s", strerror(errno));
	vm->vp_fd[0] = __mshv_create_vp(vm->pt_fd, 0);
	TEST_ASSERT(vm->vp_fd[0] >= 0, "MSHV_CREATE_VP: %s", strerror(errno));
	return vm;
}

void vm_destroy(struct mshv_vm *vm)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (vm->vp_fd[i] >= 0)
			close(vm->vp_fd[i]);
	close(vm->pt_fd);
	munmap(vm->mem, vm->mem_size);
	close(vm->mshv_fd);
	free(vm);
}

void vm_load(struct mshv_vm *vm, __u64 gpa, const void *code, size_t len)
{
	TEST_ASSERT(gpa + len <= vm->mem_size, "code past guest memory");
	memcpy((char *)vm->mem + gpa, code, len);
}

static int root_hvcall(int fd, __u16 code, __u16 reps, void *in, __u16 in_sz, void *out,
		       __u16 out_sz, struct mshv_root_hvcall *args)
{
	*args = (struct mshv_root_hvcall){
		.code = code,
		.reps = reps,
		.in_sz = in_sz,
		.out_sz = out_sz,
		.in_ptr = (__u64)(unsigned long)in,
		.out_ptr = (__u64)(unsigned long)out,
	};
	return ioctl(fd, MSHV_ROOT_HVCALL, args);
}

int __vp_set_reg(int vp_fd, __u32 name, __u64 low, __u64 high)
{
	struct {
		struct hv_input_vp_registers head;
		struct hv_register_assoc reg;
	} __attribute__((packed)) in = {
		.reg = { .name = name, .low = low, .high = high },
	};
	struct mshv_root_hvcall args;

	return root_hvcall(vp_fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0, &args);
}

void vp_set_reg(int vp_fd, __u32 name, __u64 value)
{
	TEST_ASSERT(!__vp_set_reg(vp_fd, name, value, 0), "set register %#x: %s", name,
		    strerror(errno));
}

__u64 vp_get_reg(int vp_fd, __u32 name)
{
	struct {
		struct hv_input_vp_registers head;
		__u32 name;
	} __attribute__((packed)) in = { .name = name };
	__u64 out[2] = { 0 };
	struct mshv_root_hvcall args;

	TEST_ASSERT(!root_hvcall(vp_fd, HVCALL_GET_VP_REGISTERS, 1, &in, sizeof(in), out,
				 sizeof(out), &args),
		    "get register %#x: %s", name, strerror(errno));
	TEST_ASSERT(args.reps == 1, "reps completed %u", args.reps);
	return out[0];
}

void vp_set_entry(int vp_fd, __u64 ip)
{
	/* CS: base 0, limit 0xffff, selector 0, a present code segment. */
	TEST_ASSERT(!__vp_set_reg(vp_fd, HV_X64_REGISTER_CS, 0,
				  0xffffULL | (0x9bULL << 48)), "set CS: %s", strerror(errno));
	vp_set_reg(vp_fd, HV_X64_REGISTER_RIP, ip);
}

void vp_skip(int vp_fd, const struct hv_message *msg)
{
	vp_set_reg(vp_fd, HV_X64_REGISTER_RIP,
		   msg->intercept.rip + (msg->intercept.instruction_length & 0xf));
}

int __vp_run(int vp_fd, struct hv_message *msg)
{
	return ioctl(vp_fd, MSHV_RUN_VP, msg);
}

void vp_run(int vp_fd, struct hv_message *msg)
{
	TEST_ASSERT(!__vp_run(vp_fd, msg), "MSHV_RUN_VP: %s", strerror(errno));
}
