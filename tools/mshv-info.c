// SPDX-License-Identifier: GPL-2.0
/*
 * mshv-info: what does /dev/mshv offer here? Like kvm-ok, for the Microsoft
 * Hypervisor: prints every capability the header knows, by name, with the
 * driver's answer to MSHV_CHECK_EXTENSION.
 *
 * Exit status: 0 when /dev/mshv answers, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mshv_cap_names.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/mshv";
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned int i;

	if (fd < 0) {
		printf("%s: %s\n", path, strerror(errno));
		if (errno == ENOENT)
			printf("Is the mshv module loaded? It loads only on a Microsoft Hypervisor root or L1VH partition.\n");
		return 1;
	}
	printf("%s: Microsoft Hypervisor interface\n", path);
	for (i = 0; i < MSHV_NR_CAP_NAMES; i++) {
		__u32 id = mshv_cap_names[i].id;
		int r = ioctl(fd, MSHV_CHECK_EXTENSION, &id);

		if (r < 0)
			printf("  %-26s (%3u)  error: %s\n", mshv_cap_names[i].name, id,
			       strerror(errno));
		else if (r == 0)
			printf("  %-26s (%3u)  no\n", mshv_cap_names[i].name, id);
		else if (r == 1)
			printf("  %-26s (%3u)  yes\n", mshv_cap_names[i].name, id);
		else
			printf("  %-26s (%3u)  yes: %d\n", mshv_cap_names[i].name, id, r);
	}
	close(fd);
	return 0;
}
