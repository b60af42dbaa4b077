// SPDX-License-Identifier: GPL-2.0
/*
 * Every #define of uapi/linux/mshv.h, evaluated by the C compiler. Data only:
 * the comparison is the Rust KUnit suite mshv_uapi. scripts/lint.sh checks
 * that this list names every MSHV_* macro of the header.
 */
#include <linux/kernel.h>

#include "uapi/linux/mshv.h"
#include "mshv_uapi_check.h"

#define C(x) { .name = #x, .value = (u64)(x) }

const struct mshv_rs_uapi_const mshv_rs_uapi_consts[] = {
	C(MSHV_IOCTL),
	C(MSHV_CAP_CORE_API_STABLE),
	C(MSHV_CAP_REGISTER_PAGE),
	C(MSHV_CAP_VTL_RETURN_ACTION),
	C(MSHV_CAP_DR6_SHARED),
	C(MSHV_CAP_CREATE_PARTITION),
	C(MSHV_CAP_CREATE_PARTITION_V2),
	C(MSHV_CAP_CHECK_EXTENSION_PARTITION),
	C(MSHV_CAP_VPS),
	C(MSHV_CAP_GUEST_MEMORY),
	C(MSHV_CAP_ROOT_HVCALL),
	C(MSHV_CAP_INTERCEPT_MESSAGE_PAGE),
	C(MSHV_CHECK_EXTENSION),
	C(MSHV_PT_BIT_LAPIC),
	C(MSHV_PT_FLAGS_MASK),
	C(MSHV_PT_ISOLATION_COUNT),
	C(MSHV_NUM_CPU_FEATURES_BANKS),
	C(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES),
	C(MSHV_SET_MEM_FLAGS_MASK),
	C(MSHV_SET_MEM_BIT_UNMAP),
	C(MSHV_SET_MEM_BIT_PINNED),
	C(MSHV_HV_PAGE_SIZE),
	C(MSHV_RUN_VP_BUF_SZ),
	C(MSHV_VP_MMAP_OFFSET_REGISTERS),
	C(MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE),
	C(MSHV_VP_MMAP_OFFSET_COUNT),
	C(MSHV_CREATE_PARTITION),
	C(MSHV_INITIALIZE_PARTITION),
	C(MSHV_CREATE_VP),
	C(MSHV_SET_GUEST_MEMORY),
	C(MSHV_ROOT_HVCALL),
	C(MSHV_RUN_VP),
	C(sizeof(struct mshv_create_partition)),
	C(sizeof(struct mshv_create_partition_v2)),
	C(offsetof(struct mshv_create_partition_v2, pt_cpu_fbanks)),
	C(offsetof(struct mshv_create_partition_v2, pt_disabled_xsave)),
	C(sizeof(struct mshv_create_vp)),
	C(sizeof(struct mshv_user_mem_region)),
	C(offsetof(struct mshv_user_mem_region, flags)),
	C(sizeof(struct mshv_root_hvcall)),
	C(offsetof(struct mshv_root_hvcall, status)),
	C(offsetof(struct mshv_root_hvcall, in_ptr)),
	C(sizeof(struct mshv_run_vp)),
	C(MSHV_GET_VP_STATE),
	C(MSHV_SET_VP_STATE),
	C(MSHV_CAP_VP_STATE),
	C(MSHV_CAP_GPAP_ACCESS_BITMAP),
	C(MSHV_CAP_MSI_ROUTING),
	C(MSHV_MAX_GUEST_IRQS),
	C(MSHV_SET_MSI_ROUTING),
	C(MSHV_CAP_IRQFD),
	C(MSHV_CAP_MOVABLE_MEMORY),
	C(MSHV_CAP_PINNED_MEMORY),
	C(MSHV_CAP_MMIO_MEMORY),
	C(MSHV_IRQFD),
	C(MSHV_IRQFD_FLAGS_MASK),
	C(MSHV_IRQFD_BIT_DEASSIGN),
	C(MSHV_IRQFD_BIT_RESAMPLE),
	C(sizeof(struct mshv_user_irqfd)),
	C(sizeof(struct mshv_user_irq_table)),
	C(sizeof(struct mshv_user_irq_entry)),
	C(MSHV_GET_GPAP_ACCESS_BITMAP),
	C(MSHV_GPAP_ACCESS_TYPE_COUNT),
	C(MSHV_GPAP_ACCESS_OP_COUNT),
	C(MSHV_GPAP_ACCESS_OP_SET),
	C(sizeof(struct mshv_gpap_access_bitmap)),
	C(offsetof(struct mshv_gpap_access_bitmap, page_count)),
	C(MSHV_VP_STATE_SYNTHETIC_TIMERS),
	C(MSHV_VP_STATE_COUNT),
	C(sizeof(struct mshv_get_set_vp_state)),
	C(offsetof(struct mshv_get_set_vp_state, buf_sz)),
};

const size_t mshv_rs_uapi_consts_len = ARRAY_SIZE(mshv_rs_uapi_consts);
