/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel log, for what a test must (not) have made the driver say.
 */
#ifndef MSHV_KMSG_H
#define MSHV_KMSG_H

#include <stdbool.h>

/* Opens /dev/kmsg at its end: kmsg_find() then sees only what is logged afterwards. */
int kmsg_open(void);
/* Whether a record logged since kmsg_open() (or the last kmsg_find on fd) contains needle. */
bool kmsg_find(int fd, const char *needle);

#endif /* MSHV_KMSG_H */
