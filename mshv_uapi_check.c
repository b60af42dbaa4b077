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
	C(MSHV_CHECK_EXTENSION),
};

const size_t mshv_rs_uapi_consts_len = ARRAY_SIZE(mshv_rs_uapi_consts);
