// SPDX-License-Identifier: GPL-2.0
/*
 * Coverage of the mshv module, from KCOV, for every test program and the
 * fuzzer: the coverage figure `make check` prints and the fuzzer's guidance
 * come from the same data.
 *
 * KCOV traces one task at a time, so every thread of every process enables
 * its own: the test programs are linked with --wrap for fork, _exit,
 * pthread_create and ioctl (tests/Makefile), and this file starts tracing in
 * each new process and thread, drains the trace buffer into a per-process set
 * of module PCs after ioctls (before it can fill), and writes the set out at
 * exit as "<section> <offset>" lines, one file per process, in the directory
 * MSHV_KCOV_DIR names. Without that variable, or without KCOV or the module,
 * nothing is traced and the wrappers only pass through.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kcov.h"

#define KCOV_INIT_TRACE	_IOR('c', 1, unsigned long)
#define KCOV_ENABLE	_IO('c', 100)
#define KCOV_TRACE_PC	0

/* Entries of a thread's trace buffer; drained when three quarters full. */
#define TRACE_WORDS	(256 * 1024)

struct section {
	char name[48];
	unsigned long start;
};

static struct {
	pthread_mutex_t lock;
	bool on;		/* tracing in this process */
	const char *dir;
	struct section sec[64];
	int nsec;
	unsigned long lo, hi;	/* the module's core, where its PCs are */
	unsigned long *bits;	/* a bit per byte of the core: the PCs reached */
	size_t len;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread int trace_fd = -1;
static __thread unsigned long *trace;

/* A bit per byte of the module: a trace entry costs a few instructions to take in. */
static bool set_add(unsigned long pc)
{
	unsigned long off = pc - g.lo, mask = 1UL << (off % 64);

	if (g.bits[off / 64] & mask)
		return false;
	g.bits[off / 64] |= mask;
	g.len++;
	return true;
}

static void set_clear(void)
{
	memset(g.bits, 0, (g.hi - g.lo + 63) / 64 * sizeof(unsigned long));
	g.len = 0;
}

/* The module's core from /proc/modules, its text sections from sysfs. */
static bool find_module(void)
{
	char line[256], name[64], path[128];
	unsigned long size, addr;
	struct dirent *e;
	FILE *f = fopen("/proc/modules", "r");
	DIR *d;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lu %*s %*s %*s 0x%lx", name, &size, &addr) == 3 &&
		    !strcmp(name, "mshv")) {
			g.lo = addr;
			g.hi = addr + size;
		}
	fclose(f);
	d = opendir("/sys/module/mshv/sections");
	if (!g.hi || !d) {
		if (d)
			closedir(d);
		return false;
	}
	while ((e = readdir(d)) && g.nsec < 64) {
		if (!strstr(e->d_name, "text") || strlen(e->d_name) >= sizeof(g.sec[0].name))
			continue;
		snprintf(path, sizeof(path), "/sys/module/mshv/sections/%s", e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "0x%lx", &addr) == 1) {
			strcpy(g.sec[g.nsec].name, e->d_name);
			g.sec[g.nsec++].start = addr;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return g.nsec > 0;
}

/* Starts tracing the calling thread. */
static void thread_start(void)
{
	int fd;
	void *a;

	if (!g.on || trace_fd >= 0)
		return;
	fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	/* Far above the fds tests juggle, so a stale fd number of theirs never names it. */
	trace_fd = fcntl(fd, F_DUPFD_CLOEXEC, 900);
	close(fd);
	if (trace_fd < 0 || ioctl(trace_fd, KCOV_INIT_TRACE, TRACE_WORDS))
		goto fail;
	a = mmap(NULL, TRACE_WORDS * sizeof(unsigned long), PROT_READ | PROT_WRITE, MAP_SHARED,
		 trace_fd, 0);
	if (a == MAP_FAILED)
		goto fail;
	trace = a;
	if (ioctl(trace_fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(a, TRACE_WORDS * sizeof(unsigned long));
		trace = NULL;
		goto fail;
	}
	__atomic_store_n(&trace[0], 0, __ATOMIC_RELAXED);
	return;
fail:
	if (trace_fd >= 0)
		close(trace_fd);
	trace_fd = -1;
}

int kcov_collect(void)
{
	unsigned long n, i, pc;
	int added = 0;

	if (!trace)
		return 0;
	n = __atomic_load_n(&trace[0], __ATOMIC_RELAXED);
	if (n > TRACE_WORDS - 1)
		n = TRACE_WORDS - 1;
	pthread_mutex_lock(&g.lock);
	for (i = 0; i < n; i++) {
		pc = trace[i + 1];
		if (pc >= g.lo && pc < g.hi && set_add(pc))
			added++;
	}
	pthread_mutex_unlock(&g.lock);
	__atomic_store_n(&trace[0], 0, __ATOMIC_RELAXED);
	return added;
}

size_t kcov_pcs(void)
{
	return g.len;
}

bool kcov_enabled(void)
{
	return trace != NULL;
}

static void thread_stop(void)
{
	kcov_collect();
	if (trace)
		munmap(trace, TRACE_WORDS * sizeof(unsigned long));
	trace = NULL;
	if (trace_fd >= 0)
		close(trace_fd);
	trace_fd = -1;
}

/* Writes the process's PCs as "<section> <offset>" lines. */
static void flush(void)
{
	unsigned long off, pc;
	char path[256];
	FILE *f;
	int s, best;

	kcov_collect();
	if (!g.on || !g.dir || !g.len)
		return;
	snprintf(path, sizeof(path), "%s/%d.pcs", g.dir, getpid());
	f = fopen(path, "a");
	if (!f)
		return;
	pthread_mutex_lock(&g.lock);
	for (off = 0; off < g.hi - g.lo; off++) {
		if (!g.bits[off / 64]) {
			off |= 63;
			continue;
		}
		if (!(g.bits[off / 64] & (1UL << (off % 64))))
			continue;
		pc = g.lo + off;
		best = -1;
		for (s = 0; s < g.nsec; s++)
			if (g.sec[s].start <= pc && (best < 0 || g.sec[s].start > g.sec[best].start))
				best = s;
		if (best >= 0)
			fprintf(f, "%s %lx\n", g.sec[best].name, pc - g.sec[best].start);
	}
	/* Written: a second flush (exit after _exit's) adds nothing. */
	set_clear();
	pthread_mutex_unlock(&g.lock);
	fclose(f);
}

void kcov_setup(const char *dir)
{
	if (g.on || !find_module())
		return;
	g.bits = calloc((g.hi - g.lo + 63) / 64, sizeof(unsigned long));
	if (!g.bits)
		return;
	g.dir = dir;
	g.on = true;
	thread_start();
	atexit(flush);
}

/* ---- The wrappers the test programs are linked with (--wrap) ---- */

__attribute__((constructor)) static void kcov_constructor(void)
{
	const char *dir = getenv("MSHV_KCOV_DIR");

	if (dir && *dir)
		kcov_setup(dir);
}

pid_t __real_fork(void);
void __real__exit(int status) __attribute__((noreturn));
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg);
int __real_ioctl(int fd, unsigned long req, ...);

pid_t __wrap_fork(void)
{
	pid_t pid;

	/* What the parent traced so far is its own: the child starts empty. */
	kcov_collect();
	pid = __real_fork();
	if (pid == 0 && g.on) {
		/* The parent's trace is not the child's (KCOV follows a task, not an fd). */
		if (trace)
			munmap(trace, TRACE_WORDS * sizeof(unsigned long));
		trace = NULL;
		if (trace_fd >= 0)
			close(trace_fd);
		trace_fd = -1;
		set_clear();
		pthread_mutex_init(&g.lock, NULL);
		thread_start();
	}
	return pid;
}

void __wrap__exit(int status)
{
	flush();
	__real__exit(status);
}

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void stop_cleanup(void *unused)
{
	thread_stop();
}

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	void *ret;

	free(p);
	thread_start();
	pthread_cleanup_push(stop_cleanup, NULL);
	ret = s.fn(s.arg);
	pthread_cleanup_pop(1);
	return ret;
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg)
{
	struct start *s;
	int r;

	if (!g.on)
		return __real_pthread_create(t, attr, fn, arg);
	s = malloc(sizeof(*s));
	if (!s)
		return EAGAIN;
	s->fn = fn;
	s->arg = arg;
	r = __real_pthread_create(t, attr, trampoline, s);
	if (r)
		free(s);
	return r;
}

int __wrap_ioctl(int fd, unsigned long req, void *arg)
{
	int r = __real_ioctl(fd, req, arg);
	int e = errno;

	if (trace && __atomic_load_n(&trace[0], __ATOMIC_RELAXED) > TRACE_WORDS / 4 * 3)
		kcov_collect();
	errno = e;
	return r;
}
