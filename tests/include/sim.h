/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated hypervisor's controls (its debugfs, /sys/kernel/debug/mshv/sim/,
 * in the MSHV_SIM=1 build only), for tests that arm faults or look below the
 * hypercall ABI.
 */
#ifndef MSHV_SIM_H
#define MSHV_SIM_H

#include <stdbool.h>

#include <linux/types.h>

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

#endif /* MSHV_SIM_H */
