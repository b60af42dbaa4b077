/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmarks share: the clock, the simulated hypervisor's own time,
 * medians.
 */
#ifndef MSHV_BENCH_H
#define MSHV_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds the simulated hypervisor spent in all its calls so far; 0 without it. */
static inline double sim_seconds(void)
{
	char line[96];
	unsigned int code;
	long count;
	double ns, total = 0;
	FILE *f = fopen("/sys/kernel/debug/mshv/sim/calls", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %ld %lf", &code, &count, &ns) == 3)
			total += ns;
	fclose(f);
	return total / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n values (n odd); sorts them. */
static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

#endif
