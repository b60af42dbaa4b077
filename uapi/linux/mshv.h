/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Userspace interface of /dev/mshv, as provided by mshv-rs.
 *
 * Numbers and layouts are those of the root-partition section of Linux's
 * include/uapi/linux/mshv.h, so a VMM written against that header works
 * unchanged. What this driver adds is the capability list: every ioctl, flag
 * bit, mmap offset and passthrough hypercall belongs to exactly one
 * MSHV_CAP_*, which MSHV_CHECK_EXTENSION answers. Ask for features, not
 * versions. Capability numbers are never reused.
 *
 * See Documentation/mshv.rst.
 */
#ifndef _MSHV_RS_UAPI_LINUX_MSHV_H
#define _MSHV_RS_UAPI_LINUX_MSHV_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MSHV_IOCTL	0xB8

/*
 * Capabilities, the argument of MSHV_CHECK_EXTENSION.
 *
 * 0-3 are the numbers Linux's header already assigns. 2 and 3 belong to the
 * VTL driver (mshv_vtl) and are always answered 0 here; 4 is taken by an
 * out-of-tree VTL kernel and is never assigned here. mshv-rs numbers its own
 * capabilities from 16 up.
 */
#define MSHV_CAP_CORE_API_STABLE	0x0	/* 1: this interface is kept stable */
#define MSHV_CAP_REGISTER_PAGE		0x1	/* mmap at MSHV_VP_MMAP_OFFSET_REGISTERS */
#define MSHV_CAP_VTL_RETURN_ACTION	0x2	/* VTL driver only */
#define MSHV_CAP_DR6_SHARED		0x3	/* VTL driver only */
/* MSHV_CREATE_PARTITION (v1 struct), the partition fd, MSHV_INITIALIZE_PARTITION */
#define MSHV_CAP_CREATE_PARTITION	0x10
/* MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES and struct mshv_create_partition_v2 */
#define MSHV_CAP_CREATE_PARTITION_V2	0x11
/* MSHV_CHECK_EXTENSION on partition fds */
#define MSHV_CAP_CHECK_EXTENSION_PARTITION 0x12
/* MSHV_CREATE_VP, the VP fd, MSHV_RUN_VP; the value is the number of VPs a partition may have */
#define MSHV_CAP_VPS			0x13
/* MSHV_SET_GUEST_MEMORY with MSHV_SET_MEM_BIT_{WRITABLE,EXECUTABLE,UNMAP} */
#define MSHV_CAP_GUEST_MEMORY		0x14
/* MSHV_ROOT_HVCALL on partition and VP fds (upstream's hypercall list) and on /dev/mshv */
#define MSHV_CAP_ROOT_HVCALL		0x15
/* mmap of the VP fd at MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE */
#define MSHV_CAP_INTERCEPT_MESSAGE_PAGE	0x16
/* MSHV_GET_VP_STATE and MSHV_SET_VP_STATE, all five MSHV_VP_STATE_* types */
#define MSHV_CAP_VP_STATE		0x17
/* MSHV_GET_GPAP_ACCESS_BITMAP; the value is the largest page_count of one call */
#define MSHV_CAP_GPAP_ACCESS_BITMAP	0x18
/* MSHV_SET_MSI_ROUTING; the value is the number of GSIs (MSHV_MAX_GUEST_IRQS) */
#define MSHV_CAP_MSI_ROUTING		0x19
/* MSHV_IRQFD assign and deassign */
#define MSHV_CAP_IRQFD			0x1A
/*
 * MSHV_SET_GUEST_MEMORY maps RAM movable: nothing is pinned, the guest's
 * touch faults pages in, host changes (munmap, MADV_DONTNEED, fork, page
 * migration) take them back.
 */
#define MSHV_CAP_MOVABLE_MEMORY		0x1B
/* MSHV_SET_MEM_BIT_PINNED: pin a region's memory and map it at once */
#define MSHV_CAP_PINNED_MEMORY		0x1C
/*
 * MSHV_SET_GUEST_MEMORY maps device memory (VM_PFNMAP mappings; the PFN is
 * vm_pgoff plus the address's offset into the mapping) uncached; RAM PFNs are
 * refused
 */
#define MSHV_CAP_MMIO_MEMORY		0x1D
/* MSHV_IOEVENTFD for guest writes to MMIO (guest physical) addresses */
#define MSHV_CAP_IOEVENTFD		0x1E
/* MSHV_IOEVENTFD with MSHV_IOEVENTFD_BIT_PIO: guest writes to I/O ports */
#define MSHV_CAP_IOEVENTFD_PIO		0x1F
/*
 * MSHV_IRQFD_BIT_RESAMPLE: resamplefd is signalled when the guest ends the
 * level-triggered interrupt (its EOI, which then does not reach userspace)
 */
#define MSHV_CAP_IRQFD_RESAMPLE		0x20
/*
 * Per-partition limits; the value is the limit, and one past it is ENOSPC:
 * guest memory regions (MSHV_SET_GUEST_MEMORY), ioeventfds (MSHV_IOEVENTFD),
 * irqfds (MSHV_IRQFD).
 */
#define MSHV_CAP_NR_MEM_REGIONS		0x21
#define MSHV_CAP_NR_IOEVENTFDS		0x22
#define MSHV_CAP_NR_IRQFDS		0x23

/*
 * /dev/mshv and partition fds: is a capability supported?
 * The argument points to a __u32 capability number. Returns 0 when the
 * capability is unsupported or unknown, a positive value when it is supported
 * (value-bearing capabilities return their value).
 */
#define MSHV_CHECK_EXTENSION	_IOW(MSHV_IOCTL, 0x00, __u32)

/* Partition flags (MSHV_CREATE_PARTITION pt_flags bits) */
enum {
	MSHV_PT_BIT_LAPIC,
	MSHV_PT_BIT_X2APIC,
	MSHV_PT_BIT_GPA_SUPER_PAGES,
	MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES,
	MSHV_PT_BIT_NESTED_VIRTUALIZATION,
	MSHV_PT_BIT_SMT_ENABLED_GUEST,
	MSHV_PT_BIT_COUNT,
};

#define MSHV_PT_FLAGS_MASK ((1 << MSHV_PT_BIT_COUNT) - 1)

enum {
	MSHV_PT_ISOLATION_NONE,
	MSHV_PT_ISOLATION_COUNT,
};

/*
 * The first version of the MSHV_CREATE_PARTITION argument. Returns a
 * partition fd; the partition is not initialized yet.
 */
struct mshv_create_partition {
	__u64 pt_flags;
	__u64 pt_isolation;
};

#define MSHV_NUM_CPU_FEATURES_BANKS 2

/*
 * The argument when pt_flags has MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES: the same
 * ioctl number, a longer struct. The feature banks and xsave bits are the
 * ones to disable, passed to the hypervisor as they are.
 */
struct mshv_create_partition_v2 {
	__u64 pt_flags;
	__u64 pt_isolation;
	__u16 pt_num_cpu_fbanks;	/* MSHV_NUM_CPU_FEATURES_BANKS */
	__u8  pt_rsvd[6];		/* MBZ */
	__u64 pt_cpu_fbanks[MSHV_NUM_CPU_FEATURES_BANKS];
	__u64 pt_rsvd1[2];		/* MBZ */
	__u64 pt_disabled_xsave;
} __attribute__((packed));

/* /dev/mshv */
#define MSHV_CREATE_PARTITION	_IOW(MSHV_IOCTL, 0x00, struct mshv_create_partition)

struct mshv_create_vp {
	__u32 vp_index;
};

enum {
	MSHV_SET_MEM_BIT_WRITABLE,
	MSHV_SET_MEM_BIT_EXECUTABLE,
	MSHV_SET_MEM_BIT_UNMAP,
	MSHV_SET_MEM_BIT_PINNED,	/* MSHV_CAP_PINNED_MEMORY */
	MSHV_SET_MEM_BIT_COUNT
};

#define MSHV_SET_MEM_FLAGS_MASK ((1 << MSHV_SET_MEM_BIT_COUNT) - 1)

/* The hypervisor's page size */
#define MSHV_HV_PAGE_SIZE	0x1000

/*
 * MSHV_SET_GUEST_MEMORY: map (or, with MSHV_SET_MEM_BIT_UNMAP, unmap) size
 * bytes of userspace memory at guest page guest_pfn. Sizes and addresses are
 * MSHV_HV_PAGE_SIZE aligned; regions may not overlap in guest physical space;
 * an unmap names an existing region exactly.
 */
struct mshv_user_mem_region {
	__u64 size;
	__u64 guest_pfn;
	__u64 userspace_addr;
	__u8 flags;
	__u8 rsvd[7];			/* MBZ */
};

/*
 * MSHV_ROOT_HVCALL: issue an allowed hypercall for the partition (or VP) of
 * the fd. reps is the rep count in and the reps completed out; status (MBZ in)
 * is the HV_STATUS out. The kernel writes the partition ID into the first 8
 * input bytes.
 */
struct mshv_root_hvcall {
	__u16 code;
	__u16 reps;
	__u16 in_sz;			/* <= MSHV_HV_PAGE_SIZE */
	__u16 out_sz;			/* <= MSHV_HV_PAGE_SIZE, 0 without out_ptr */
	__u16 status;
	__u8 rsvd[6];			/* MBZ */
	__u64 in_ptr;
	__u64 out_ptr;
};

enum {
	MSHV_GPAP_ACCESS_TYPE_ACCESSED,
	MSHV_GPAP_ACCESS_TYPE_DIRTY,
	MSHV_GPAP_ACCESS_TYPE_COUNT
};

enum {
	MSHV_GPAP_ACCESS_OP_NOOP,
	MSHV_GPAP_ACCESS_OP_CLEAR,
	MSHV_GPAP_ACCESS_OP_SET,
	MSHV_GPAP_ACCESS_OP_COUNT
};

/*
 * MSHV_GET_GPAP_ACCESS_BITMAP: one bit per guest page from gpap_base, set
 * when the page was accessed (or written, for DIRTY); then, with CLEAR or SET,
 * the bits of all the pages are cleared or set. bitmap_ptr receives
 * (page_count + 7) / 8 bytes, unused trailing bits zero.
 */
struct mshv_gpap_access_bitmap {
	__u8 access_type;		/* MSHV_GPAP_ACCESS_TYPE_* */
	__u8 access_op;			/* MSHV_GPAP_ACCESS_OP_* */
	__u8 rsvd[6];			/* MBZ */
	__u64 page_count;
	__u64 gpap_base;
	__u64 bitmap_ptr;
};

/* GSIs a partition's MSI routing table may name: 0 to MSHV_MAX_GUEST_IRQS - 1 */
#define MSHV_MAX_GUEST_IRQS	4096

struct mshv_user_irq_entry {
	__u32 gsi;
	__u32 address_lo;
	__u32 address_hi;		/* MBZ: no extended destination */
	__u32 data;
};

/*
 * MSHV_SET_MSI_ROUTING: the partition's whole routing table, replaced at once
 * (nr 0 empties it); one entry per GSI.
 */
struct mshv_user_irq_table {
	__u32 nr;
	__u32 rsvd;			/* MBZ */
	struct mshv_user_irq_entry entries[];
};

enum {
	MSHV_IRQFD_BIT_DEASSIGN,
	MSHV_IRQFD_BIT_RESAMPLE,
	MSHV_IRQFD_BIT_COUNT,
};

#define MSHV_IRQFD_FLAGS_MASK	((1 << MSHV_IRQFD_BIT_COUNT) - 1)

/* MSHV_IRQFD: each signal of eventfd fd raises the MSI that gsi is routed to */
struct mshv_user_irqfd {
	__s32 fd;
	__s32 resamplefd;		/* with MSHV_IRQFD_BIT_RESAMPLE */
	__u32 gsi;
	__u32 flags;
};

enum {
	MSHV_IOEVENTFD_BIT_DATAMATCH,
	MSHV_IOEVENTFD_BIT_PIO,
	MSHV_IOEVENTFD_BIT_DEASSIGN,
	MSHV_IOEVENTFD_BIT_COUNT,
};

#define MSHV_IOEVENTFD_FLAGS_MASK	((1 << MSHV_IOEVENTFD_BIT_COUNT) - 1)

/*
 * MSHV_IOEVENTFD: a guest write of len bytes (0: any size) to addr (a guest
 * physical address, or with MSHV_IOEVENTFD_BIT_PIO an I/O port), of the value
 * datamatch if MSHV_IOEVENTFD_BIT_DATAMATCH, signals eventfd fd instead of
 * returning to userspace.
 */
struct mshv_user_ioeventfd {
	__u64 datamatch;
	__u64 addr;
	__u32 len;			/* 0, 1, 2, 4 or 8 */
	__s32 fd;
	__u32 flags;
	__u8 rsvd[4];			/* MBZ */
};

/* Partition fds */
#define MSHV_INITIALIZE_PARTITION	_IO(MSHV_IOCTL, 0x00)
#define MSHV_CREATE_VP			_IOW(MSHV_IOCTL, 0x01, struct mshv_create_vp)
#define MSHV_SET_GUEST_MEMORY		_IOW(MSHV_IOCTL, 0x02, struct mshv_user_mem_region)
#define MSHV_IRQFD			_IOW(MSHV_IOCTL, 0x03, struct mshv_user_irqfd)
#define MSHV_IOEVENTFD			_IOW(MSHV_IOCTL, 0x04, struct mshv_user_ioeventfd)
#define MSHV_SET_MSI_ROUTING		_IOW(MSHV_IOCTL, 0x05, struct mshv_user_irq_table)
#define MSHV_GET_GPAP_ACCESS_BITMAP	_IOWR(MSHV_IOCTL, 0x06, struct mshv_gpap_access_bitmap)
/* Partition and VP fds, and /dev/mshv */
#define MSHV_ROOT_HVCALL		_IOWR(MSHV_IOCTL, 0x07, struct mshv_root_hvcall)

#define MSHV_RUN_VP_BUF_SZ 256

/* VP state pages that can be mapped: the value times the page size is the mmap offset */
enum {
	MSHV_VP_MMAP_OFFSET_REGISTERS,
	MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE,
	MSHV_VP_MMAP_OFFSET_GHCB,
	MSHV_VP_MMAP_OFFSET_COUNT
};

/* MSHV_RUN_VP: on success, the 256-byte intercept message (struct hv_message) */
struct mshv_run_vp {
	__u8 msg_buf[MSHV_RUN_VP_BUF_SZ];
};

enum {
	MSHV_VP_STATE_LAPIC,		/* local APIC state */
	MSHV_VP_STATE_XSAVE,		/* XSAVE data, compacted form */
	MSHV_VP_STATE_SIMP,
	MSHV_VP_STATE_SIEFP,
	MSHV_VP_STATE_SYNTHETIC_TIMERS,
	MSHV_VP_STATE_COUNT,
};

/*
 * MSHV_GET_VP_STATE / MSHV_SET_VP_STATE: buf_sz and buf_ptr are 4K-aligned.
 * The kernel writes the size the state needs into buf_sz first; a buffer that
 * is too small then fails with EINVAL, and the caller can retry.
 */
struct mshv_get_set_vp_state {
	__u8 type;			/* MSHV_VP_STATE_* */
	__u8 rsvd[3];			/* MBZ */
	__u32 buf_sz;
	__u64 buf_ptr;
};

/* VP fds */
#define MSHV_RUN_VP			_IOR(MSHV_IOCTL, 0x00, struct mshv_run_vp)
#define MSHV_GET_VP_STATE		_IOWR(MSHV_IOCTL, 0x01, struct mshv_get_set_vp_state)
#define MSHV_SET_VP_STATE		_IOWR(MSHV_IOCTL, 0x02, struct mshv_get_set_vp_state)

#endif /* _MSHV_RS_UAPI_LINUX_MSHV_H */
