/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The constants of uapi/linux/mshv.h as the C compiler computes them, for the
 * mshv_uapi KUnit suite to compare with the Rust mirrors (abi/uapi.rs).
 */
#ifndef MSHV_UAPI_CHECK_H
#define MSHV_UAPI_CHECK_H

#include <linux/types.h>

struct mshv_rs_uapi_const {
	const char *name;
	u64 value;
};

extern const struct mshv_rs_uapi_const mshv_rs_uapi_consts[];
extern const size_t mshv_rs_uapi_consts_len;

/* glue/hv_check.c: the Hyper-V layouts of include/hyperv/, for mshv_hv_abi. */
extern const struct mshv_rs_uapi_const mshv_rs_hv_consts[];
extern const size_t mshv_rs_hv_consts_len;

#endif /* MSHV_UAPI_CHECK_H */
