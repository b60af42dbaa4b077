// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmsg.h"
#include "mshv_util.h"

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open /dev/kmsg: %s", strerror(errno));
	TEST_ASSERT(lseek(fd, 0, SEEK_END) >= 0, "seek /dev/kmsg: %s", strerror(errno));
	return fd;
}

bool kmsg_find(int fd, const char *needle)
{
	char rec[2048];
	bool found = false;
	ssize_t n;

	/* One record per read; EAGAIN when there are no more, EPIPE when some were overwritten. */
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		if (strstr(rec, needle))
			found = true;
	}
	return found;
}
