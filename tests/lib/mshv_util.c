// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mshv_util.h"

int open_mshv_or_skip(int flags)
{
	int fd = open(MSHV_DEV_PATH, flags);

	if (fd < 0) {
		if (errno == ENOENT || errno == EACCES || errno == ENODEV)
			ksft_exit_skip("- Cannot open '%s': %s.  Is mshv loaded?\n",
				       MSHV_DEV_PATH, strerror(errno));
		ksft_exit_fail_msg("open(%s): %s\n", MSHV_DEV_PATH, strerror(errno));
	}
	return fd;
}

int __mshv_check_cap(int fd, __u32 cap)
{
	return ioctl(fd, MSHV_CHECK_EXTENSION, &cap);
}

int mshv_check_cap(__u32 cap)
{
	int fd = open_mshv_or_skip(O_RDWR | O_CLOEXEC);
	int r = __mshv_check_cap(fd, cap);

	if (r < 0)
		ksft_exit_fail_msg("MSHV_CHECK_EXTENSION(%u): %s\n", cap, strerror(errno));
	close(fd);
	return r;
}
