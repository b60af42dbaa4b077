// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mshv_util.h"
#include "sim.h"

bool sim_present(void)
{
	return access(SIM "state", R_OK) == 0;
}

long sim_calls(unsigned int code)
{
	char line[64];
	unsigned int c;
	long n = 0, count;
	FILE *f = fopen(SIM "calls", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %ld", &c, &count) == 2 && c == code)
			n = count;
	fclose(f);
	return n;
}

int sim_partitions(void)
{
	char buf[256];
	int fd = open(SIM "state", O_RDONLY), n = -1;
	ssize_t len;

	TEST_ASSERT(fd >= 0, "open %s: %s", SIM "state", strerror(errno));
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	TEST_ASSERT(len > 0, "read state");
	buf[len] = 0;
	TEST_ASSERT(sscanf(buf, "partitions %d", &n) == 1, "state: %s", buf);
	return n;
}

/* Writes line to the simulator's control file name; fails the test if it is refused. */
static void sim_write(const char *name, const char *line)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), SIM "%s", name);
	fd = open(path, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(write(fd, line, strlen(line)) == (ssize_t)strlen(line), "%s %s: %s", name,
		    line, strerror(errno));
	close(fd);
}

void sim_fault(const char *line)
{
	sim_write("fault", line);
}

__u64 sim_newest_partition(void)
{
	char line[128];
	unsigned long long id, newest = 0;
	FILE *f = fopen(SIM "state", "r");

	TEST_ASSERT(f, "open %s: %s", SIM "state", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "partition %llu", &id) == 1 && id > newest)
			newest = id;
	fclose(f);
	TEST_ASSERT(newest, "no partition in the simulator");
	return newest;
}

int sim_gpa(__u64 pt, __u64 gfn, __u64 *pfn, __u32 *flags)
{
	char buf[64];
	unsigned long long p;
	unsigned int fl;
	int fd = open(SIM "gpa", O_RDWR);
	ssize_t len;

	TEST_ASSERT(fd >= 0, "open %s: %s", SIM "gpa", strerror(errno));
	len = snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)pt,
		       (unsigned long long)gfn);
	TEST_ASSERT(write(fd, buf, len) == len, "write gpa: %s", strerror(errno));
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	TEST_ASSERT(len > 0, "read gpa");
	buf[len] = 0;
	if (sscanf(buf, "%llx %x", &p, &fl) != 2)
		return -1;
	*pfn = p;
	*flags = fl;
	return 0;
}

__u64 host_pfn(const void *addr)
{
	__u64 e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	TEST_ASSERT(fd >= 0, "open pagemap: %s", strerror(errno));
	TEST_ASSERT(pread(fd, &e, 8, (unsigned long)addr / 4096 * 8) == 8, "read pagemap");
	close(fd);
	/* Bit 63: present; bits 0-54: the PFN. */
	return (e >> 63) ? (e & ((1ULL << 55) - 1)) : 0;
}

long sim_deposited(__u64 pt)
{
	char line[128];
	unsigned long long id, n;
	long found = -1;
	FILE *f = fopen(SIM "state", "r");

	TEST_ASSERT(f, "open %s: %s", SIM "state", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "partition %llu %llu", &id, &n) == 2 && id == pt)
			found = n;
	fclose(f);
	return found;
}

void sim_forge(const char *line)
{
	sim_write("forge", line);
}
