/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mshv selftest library, after tools/testing/selftests/kvm: open the
 * device or skip, ask for capabilities, and gate tests on them so the same
 * suite runs (and skips what is absent) on a real Hyper-V root.
 */
#ifndef MSHV_UTIL_H
#define MSHV_UTIL_H

#include <stdbool.h>

#include "linux/mshv.h"
#include "kselftest.h"

#define MSHV_DEV_PATH "/dev/mshv"

/* Skips the whole test program when the condition does not hold. */
#define TEST_REQUIRE(f)                                                        \
	do {                                                                   \
		if (!(f))                                                      \
			ksft_exit_skip("Requirement not met: %s\n", #f);       \
	} while (0)

/* Opens /dev/mshv with @flags, or skips the test when there is none. */
int open_mshv_or_skip(int flags);

/* MSHV_CHECK_EXTENSION on @fd: the answer, or -1 with errno. */
int __mshv_check_cap(int fd, __u32 cap);

/* MSHV_CHECK_EXTENSION on /dev/mshv; fails the test on an error. */
int mshv_check_cap(__u32 cap);

static inline bool mshv_has_cap(__u32 cap)
{
	return mshv_check_cap(cap) > 0;
}

#endif /* MSHV_UTIL_H */

/* ---- Partitions, VPs, memory, running (after tools/testing/selftests/kvm) ---- */

#include <stddef.h>
#include "hv_abi.h"

/* Asserts outside the harness: print and exit with KSFT_FAIL. */
#define TEST_ASSERT(cond, fmt, ...)                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			ksft_exit_fail_msg("%s:%d: %s: " fmt "\n", __FILE__,   \
					   __LINE__, #cond, ##__VA_ARGS__);    \
	} while (0)

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

/*
 * ucall: the guest reports to the test with "out %ax, %dx" to UCALL_PORT + kind,
 * AX carrying the argument. The test reads it from the IO-port intercept.
 */
#define UCALL_PORT	0x1000
enum { UCALL_SYNC, UCALL_DONE, UCALL_ABORT };

struct ucall {
	unsigned int kind;
	__u16 arg;
};

/* Runs the VP to its next ucall (skipping past it); fails the test on anything else. */
void vp_get_ucall(int vp_fd, struct ucall *uc);

/* ---- The simulated hypervisor's debugfs (the MSHV_SIM=1 build only) ---- */

#define SIM "/sys/kernel/debug/mshv/sim/"

/* Whether the module runs over the simulator (its debugfs is there). */
bool sim_present(void);
/* Hypercalls of code the simulator has taken so far; -1 without a simulator. */
long sim_calls(unsigned int code);
/* Partitions the simulator holds; fails the test without a simulator. */
int sim_partitions(void);
/* Writes line to the simulator's fault file ("clear", or "code nth times status"). */
void sim_fault(const char *line);
/* The ID of the newest partition the simulator holds; fails the test without a simulator. */
__u64 sim_newest_partition(void);
/* The simulator's mapping of guest page gfn in partition pt: 0 with pfn and flags, -1 if none. */
int sim_gpa(__u64 pt, __u64 gfn, __u64 *pfn, __u32 *flags);
/* The PFN behind the caller's address (from /proc/self/pagemap; root only), 0 if none. */
__u64 host_pfn(const void *addr);

/* Pages deposited to partition pt's pool (the simulator's view); -1 if there is no such partition. */
long sim_deposited(__u64 pt);
/* Writes line to the simulator's forge file ("withdraw <pfn>", "state_page <pfn>", "clear"). */
void sim_forge(const char *line);

/* ---- The kernel log, for what a test must (not) have made the driver say ---- */

/* Opens /dev/kmsg at its end: kmsg_find() then sees only what is logged afterwards. */
int kmsg_open(void);
/* Whether a record logged since kmsg_open() (or the last kmsg_find on fd) contains needle. */
bool kmsg_find(int fd, const char *needle);
