/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few Microsoft Hypervisor (TLFS) definitions the tests need: hypercall
 * inputs for MSHV_ROOT_HVCALL and the intercept messages MSHV_RUN_VP returns.
 * Layouts as the TLFS (and Linux's include/hyperv/) define them.
 */
#ifndef MSHV_TESTS_HV_ABI_H
#define MSHV_TESTS_HV_ABI_H

#include <linux/types.h>

#define HVCALL_GET_PARTITION_PROPERTY	0x0044
#define HVCALL_SET_PARTITION_PROPERTY	0x0045
#define HVCALL_GET_VP_REGISTERS		0x0050
#define HVCALL_SET_VP_REGISTERS		0x0051
#define HVCALL_CREATE_VP		0x004e
#define HVCALL_DEPOSIT_MEMORY		0x0048
#define HVCALL_MAP_GPA_PAGES		0x004b

/* HV_MAP_GPA_* flags of a mapping. */
#define HV_MAP_GPA_READABLE		0x1
#define HV_MAP_GPA_WRITABLE		0x2
#define HV_MAP_GPA_NO_ACCESS		0x10000
#define HV_MAP_GPA_NOT_CACHED		0x200000
#define HV_MAP_GPA_LARGE_PAGE		0x80000000

#define HV_STATUS_INVALID_PARAMETER	0x5
#define HV_STATUS_ACCESS_DENIED		0x6
#define HV_STATUS_INSUFFICIENT_MEMORY	0xb
#define HV_STATUS_UNKNOWN_PROPERTY	0x9

#define HV_PARTITION_PROPERTY_XSAVE_STATES	0x00060007

#define HV_X64_REGISTER_RAX	0x00020000
#define HV_X64_REGISTER_RBX	0x00020003
#define HV_X64_REGISTER_RDX	0x00020002
#define HV_X64_REGISTER_RIP	0x00020010
#define HV_X64_REGISTER_RFLAGS	0x00020011
#define HV_X64_REGISTER_CS	0x00060001
#define HV_X64_REGISTER_DS	0x00060003

#define HVMSG_UNMAPPED_GPA		0x80000000
#define HVMSG_GPA_INTERCEPT		0x80000001
#define HVMSG_X64_IO_PORT_INTERCEPT	0x80010000
#define HVMSG_X64_HALT			0x80010007

struct hv_register_assoc {
	__u32 name;
	__u32 reserved1;
	__u64 reserved2;
	__u64 low;
	__u64 high;
} __attribute__((packed));

struct hv_input_vp_registers {
	__u64 partition_id;
	__u32 vp_index;
	__u8 input_vtl;
	__u8 rsvd_z8;
	__u16 rsvd_z16;
} __attribute__((packed));

struct hv_input_get_partition_property {
	__u64 partition_id;
	__u32 property_code;
	__u32 padding;
} __attribute__((packed));

struct hv_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u16 attributes;
} __attribute__((packed));

struct hv_intercept_header {
	__u32 vp_index;
	__u8 instruction_length; /* low 4 bits */
	__u8 access_type;	 /* 0 read, 1 write, 2 execute */
	__u16 execution_state;
	struct hv_segment cs;
	__u64 rip;
	__u64 rflags;
} __attribute__((packed));

struct hv_io_port_intercept {
	struct hv_intercept_header header;
	__u16 port;
	__u8 access_info; /* size in bits 2:0 */
	__u8 instruction_byte_count;
	__u32 reserved;
	__u64 rax;
	__u8 instruction_bytes[16];
	struct hv_segment ds;
	struct hv_segment es;
	__u64 rcx;
	__u64 rsi;
	__u64 rdi;
} __attribute__((packed));

struct hv_memory_intercept {
	struct hv_intercept_header header;
	__u32 cache_type;
	__u8 instruction_byte_count;
	__u8 access_info;
	__u8 tpr;
	__u8 reserved;
	__u64 gva;
	__u64 gpa;
	__u8 instruction_bytes[16];
} __attribute__((packed));

struct hv_message {
	__u32 type;
	__u8 payload_size;
	__u8 flags;
	__u8 reserved[2];
	__u64 sender;
	union {
		struct hv_intercept_header intercept;
		struct hv_io_port_intercept io;
		struct hv_memory_intercept mem;
		__u8 payload[240];
	};
} __attribute__((packed));

_Static_assert(sizeof(struct hv_message) == 256, "hv_message is 256 bytes");
_Static_assert(sizeof(struct hv_io_port_intercept) == 128, "io port intercept");

#endif /* MSHV_TESTS_HV_ABI_H */
