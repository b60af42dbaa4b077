/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Partitions, VPs, guest memory and running a VP, for the selftests (after
 * tools/testing/selftests/kvm's kvm_util.h).
 */
#ifndef MSHV_VM_H
#define MSHV_VM_H

#include <stdbool.h>
#include <stddef.h>

#include "hv_abi.h"
#include "mshv_util.h"

/* A partition with guest memory and VPs. */
struct mshv_vm {
	int mshv_fd;
	int pt_fd;
	void *mem;		/* guest RAM, mapped at GPA 0 */
	size_t mem_size;
	int vp_fd[4];
};

/* MSHV_CREATE_PARTITION with a v1 argument; the fd, or -1 with errno. */
int __mshv_create_partition(int mshv_fd, __u64 flags, __u64 isolation);
/* Creates, and optionally initializes, a partition; fails the test on error. */
int mshv_create_partition(int mshv_fd, bool initialize);
/* MSHV_SET_GUEST_MEMORY; 0, or -1 with errno. */
int __mshv_set_memory(int pt_fd, __u64 gfn, void *addr, __u64 size, __u8 flags);
/* MSHV_CREATE_VP; the fd, or -1 with errno. */
int __mshv_create_vp(int pt_fd, __u32 index);

/* A partition with mem_size bytes of RAM at GPA 0 and VP 0, ready to run real-mode code. */
struct mshv_vm *vm_create_with_one_vp(size_t mem_size);
void vm_destroy(struct mshv_vm *vm);
/* Copies code into guest memory at gpa. */
void vm_load(struct mshv_vm *vm, __u64 gpa, const void *code, size_t len);

/* VP registers through MSHV_ROOT_HVCALL (Get/SetVpRegisters). */
int __vp_set_reg(int vp_fd, __u32 name, __u64 low, __u64 high);
void vp_set_reg(int vp_fd, __u32 name, __u64 value);
__u64 vp_get_reg(int vp_fd, __u32 name);
/* Real mode: CS base 0 and selector 0, RIP = ip. */
void vp_set_entry(int vp_fd, __u64 ip);
/* After an intercept: RIP past the intercepted instruction. */
void vp_skip(int vp_fd, const struct hv_message *msg);

/* MSHV_RUN_VP; 0, or -1 with errno. */
int __vp_run(int vp_fd, struct hv_message *msg);
/* Runs until the next intercept; fails the test on error. */
void vp_run(int vp_fd, struct hv_message *msg);

#endif /* MSHV_VM_H */
