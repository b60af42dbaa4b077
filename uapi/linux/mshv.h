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
#define MSHV_CAP_REGISTER_PAGE		0x1	/* VP register page mmap */
#define MSHV_CAP_VTL_RETURN_ACTION	0x2	/* VTL driver only */
#define MSHV_CAP_DR6_SHARED		0x3	/* VTL driver only */

/*
 * /dev/mshv (and, later, partition fds): is a capability supported?
 * The argument points to a __u32 capability number. Returns 0 when the
 * capability is unsupported or unknown, a positive value when it is supported
 * (value-bearing capabilities return their value).
 */
#define MSHV_CHECK_EXTENSION	_IOW(MSHV_IOCTL, 0x00, __u32)

#endif /* _MSHV_RS_UAPI_LINUX_MSHV_H */
