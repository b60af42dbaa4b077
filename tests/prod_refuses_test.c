// SPDX-License-Identifier: GPL-2.0
/*
 * The production module where there is no Hyper-V root or L1VH partition:
 * loading fails with ENODEV, the kernel log says why in exactly one line, and
 * nothing is left behind. (One finit_module() call: busybox's insmod retries
 * with init_module() and would run the module's init twice.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"

static const char *prod_ko(void)
{
	const char *p = getenv("MSHV_PROD_KO");

	return p ? p : "/lib/mshv/prod/mshv.ko";
}

/* Reads the kernel log records written since @kmsg was positioned; counts mshv lines. */
static int mshv_log_lines(int kmsg, int *refusals)
{
	char rec[2048];
	int lines = 0;
	ssize_t n;

	*refusals = 0;
	while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0) {
		rec[n] = 0;
		if (!strstr(rec, "mshv: ") || strstr(rec, "taints kernel"))
			continue;
		printf("# kmsg: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
		lines++;
		if (strstr(rec, "refusing to load"))
			(*refusals)++;
	}
	return lines;
}

static bool mshv_loaded(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "mshv ", 5))
			found = true;
	fclose(f);
	return found;
}

TEST(refuses_with_enodev_and_one_log_line)
{
	int ko, kmsg, lines, refusals;
	char buf[64];

	if (!access("/dev/mshv", F_OK) || mshv_loaded())
		SKIP(return, "mshv is loaded");
	ko = open(prod_ko(), O_RDONLY | O_CLOEXEC);
	if (ko < 0)
		SKIP(return, "no production module at %s", prod_ko());
	if (!access("/sys/hypervisor/type", F_OK)) {
		int t = open("/sys/hypervisor/type", O_RDONLY);
		ssize_t n = read(t, buf, sizeof(buf) - 1);

		close(t);
		if (n > 0 && (buf[n] = 0, strstr(buf, "Microsoft")))
			SKIP(return, "running on Hyper-V");
	}

	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg);
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));

	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_finit_module, ko, "", 0));
	EXPECT_EQ(ENODEV, errno);

	lines = mshv_log_lines(kmsg, &refusals);
	EXPECT_EQ(1, lines);
	EXPECT_EQ(1, refusals);

	EXPECT_FALSE(mshv_loaded());
	EXPECT_NE(0, access("/dev/mshv", F_OK));
	close(kmsg);
	close(ko);
}

TEST_HARNESS_MAIN
