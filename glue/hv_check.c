// SPDX-License-Identifier: GPL-2.0
/*
 * The sizes and offsets of the Hyper-V layouts the driver shares with the
 * hypervisor, as the kernel's own headers (include/hyperv/) define them,
 * evaluated by the C compiler. Data only: the comparison with the Rust
 * layouts (abi/hv/) is the KUnit suite mshv_hv_abi.
 */
#include <linux/kernel.h>
#include <linux/stddef.h>
#include <hyperv/hvhdk.h>

#include "glue/uapi_check.h"

#define C(x) { .name = #x, .value = (u64)(x) }

const struct mshv_rs_uapi_const mshv_rs_hv_consts[] = {
	/* Synthetic messages. */
	C(sizeof(struct hv_message_header)),
	C(offsetof(struct hv_message_header, payload_size)),
	C(offsetof(struct hv_message_header, message_flags)),
	C(offsetof(struct hv_message_header, sender)),
	C(sizeof(struct hv_message)),
	C(offsetof(struct hv_message, u.payload)),
	C(HV_MESSAGE_PAYLOAD_QWORD_COUNT),
	C(sizeof(struct hv_x64_segment_register)),
	C(offsetof(struct hv_x64_segment_register, limit)),
	C(offsetof(struct hv_x64_segment_register, selector)),
	C(offsetof(struct hv_x64_segment_register, attributes)),
	C(sizeof(struct hv_x64_intercept_message_header)),
	C(offsetof(struct hv_x64_intercept_message_header, intercept_access_type)),
	C(offsetof(struct hv_x64_intercept_message_header, execution_state)),
	C(offsetof(struct hv_x64_intercept_message_header, cs_segment)),
	C(offsetof(struct hv_x64_intercept_message_header, rip)),
	C(offsetof(struct hv_x64_intercept_message_header, rflags)),
	C(sizeof(struct hv_x64_memory_intercept_message)),
	C(offsetof(struct hv_x64_memory_intercept_message, cache_type)),
	C(offsetof(struct hv_x64_memory_intercept_message, instruction_byte_count)),
	C(offsetof(struct hv_x64_memory_intercept_message, memory_access_info)),
	C(offsetof(struct hv_x64_memory_intercept_message, guest_virtual_address)),
	C(offsetof(struct hv_x64_memory_intercept_message, guest_physical_address)),
	C(offsetof(struct hv_x64_memory_intercept_message, instruction_bytes)),
	C(sizeof(struct hv_x64_apic_eoi_message)),
	C(offsetof(struct hv_x64_apic_eoi_message, interrupt_vector)),
	C(HVMSG_NONE),
	C(HVMSG_UNMAPPED_GPA),
	C(HVMSG_GPA_INTERCEPT),
	C(HVMSG_X64_IO_PORT_INTERCEPT),
	C(HVMSG_X64_HALT),
	C(HVMSG_UNRECOVERABLE_EXCEPTION),
	C(HVMSG_X64_APIC_EOI),
	C(HV_INTERCEPT_ACCESS_READ),
	C(HV_INTERCEPT_ACCESS_WRITE),
	C(HV_INTERCEPT_ACCESS_EXECUTE),
	/* The register page. */
	C(sizeof(struct hv_vp_register_page)),
	C(offsetof(struct hv_vp_register_page, isvalid)),
	C(offsetof(struct hv_vp_register_page, dirty)),
	C(offsetof(struct hv_vp_register_page, gp_registers)),
	C(offsetof(struct hv_vp_register_page, rip)),
	C(offsetof(struct hv_vp_register_page, rflags)),
	C(offsetof(struct hv_vp_register_page, xmm_registers)),
	C(offsetof(struct hv_vp_register_page, segment_registers)),
	C(offsetof(struct hv_vp_register_page, cr0)),
	C(offsetof(struct hv_vp_register_page, xfem)),
	C(offsetof(struct hv_vp_register_page, interrupt_vectors)),
	C(HV_VP_REGISTER_PAGE_VERSION_1),
	C(HV_X64_REGISTER_CLASS_GENERAL),
	C(HV_X64_REGISTER_CLASS_IP),
	C(HV_X64_REGISTER_CLASS_XMM),
	C(HV_X64_REGISTER_CLASS_SEGMENT),
	C(HV_X64_REGISTER_CLASS_FLAGS),
	/* Hypercall inputs and outputs. */
	C(sizeof(union hv_register_value)),
	C(sizeof(struct hv_register_assoc)),
	C(sizeof(struct hv_input_create_partition)),
	C(sizeof(struct hv_input_get_partition_property)),
	C(sizeof(struct hv_input_set_partition_property)),
	C(sizeof(struct hv_input_withdraw_memory)),
	C(sizeof(struct hv_input_map_gpa_pages)),
	C(sizeof(struct hv_input_unmap_gpa_pages)),
	C(sizeof(struct hv_input_get_vp_registers)),
	C(sizeof(struct hv_input_map_vp_state_page)),
	C(sizeof(struct hv_input_get_vp_state)),
	C(sizeof(struct hv_input_assert_virtual_interrupt)),
	C(sizeof(struct hv_input_dispatch_vp)),
	C(sizeof(struct hv_output_dispatch_vp)),
	C(sizeof(struct hv_input_get_gpa_pages_access_state)),
};

const size_t mshv_rs_hv_consts_len = ARRAY_SIZE(mshv_rs_hv_consts);
