/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The capability numbers of uapi/linux/mshv.h with their names, for
 * userspace tools and tests. scripts/lint.sh checks that this list names every
 * MSHV_CAP_* of the header.
 */
#ifndef MSHV_CAP_NAMES_H
#define MSHV_CAP_NAMES_H

#include "linux/mshv.h"

struct mshv_cap_name {
	__u32 id;
	const char *name;
};

#define MSHV_CAP_NAME(x) { MSHV_CAP_##x, #x }

static const struct mshv_cap_name mshv_cap_names[] = {
	MSHV_CAP_NAME(CORE_API_STABLE),
	MSHV_CAP_NAME(REGISTER_PAGE),
	MSHV_CAP_NAME(VTL_RETURN_ACTION),
	MSHV_CAP_NAME(DR6_SHARED),
	MSHV_CAP_NAME(CREATE_PARTITION),
	MSHV_CAP_NAME(CREATE_PARTITION_V2),
	MSHV_CAP_NAME(CHECK_EXTENSION_PARTITION),
	MSHV_CAP_NAME(VPS),
	MSHV_CAP_NAME(GUEST_MEMORY),
	MSHV_CAP_NAME(ROOT_HVCALL),
	MSHV_CAP_NAME(INTERCEPT_MESSAGE_PAGE),
	MSHV_CAP_NAME(VP_STATE),
	MSHV_CAP_NAME(GPAP_ACCESS_BITMAP),
	MSHV_CAP_NAME(MSI_ROUTING),
	MSHV_CAP_NAME(IRQFD),
	MSHV_CAP_NAME(MOVABLE_MEMORY),
	MSHV_CAP_NAME(PINNED_MEMORY),
	MSHV_CAP_NAME(MMIO_MEMORY),
	MSHV_CAP_NAME(IOEVENTFD),
	MSHV_CAP_NAME(IOEVENTFD_PIO),
	MSHV_CAP_NAME(IRQFD_RESAMPLE),
	MSHV_CAP_NAME(NR_MEM_REGIONS),
	MSHV_CAP_NAME(NR_IOEVENTFDS),
	MSHV_CAP_NAME(NR_IRQFDS),
};

#define MSHV_NR_CAP_NAMES (sizeof(mshv_cap_names) / sizeof(mshv_cap_names[0]))

#endif /* MSHV_CAP_NAMES_H */
