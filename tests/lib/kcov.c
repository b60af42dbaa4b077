// SPDX-License-Identifier: GPL-2.0
/*
 * Coverage of the mshv module, from KCOV, for every test program and the
 * fuzzer: the coverage figure `make check` prints and the fuzzer's guidance
 * come from the same data.
 *
 * KCOV traces one task at a time, so every thread of every process enables
 * its own: the test programs are linked with --wrap for fork, waitpid, _exit,
 * pthread_create and ioctl (tests/Makefile), and this file starts tracing in
 * each new thread, drains the trace buffer into a per-process set of module
 * PCs after ioctls (before it can fill), and writes the set out at exit as
 * "<section> <offset>" lines, one file per process, in the directory
 * MSHV_KCOV_DIR names. A child is traced into a buffer its parent made, and
 * the parent takes what is in it when it reaps the child, so a child that is
 * killed (and cannot write its own) still counts. kcov_run() traces a command
 * (insmod, rmmod); kcov_remote() collects the module's work items, which run
 * in kworkers (KCOV's remote coverage, the module's common handle). Without
 * MSHV_KCOV_DIR, or without KCOV or the module, nothing is traced and the
 * wrappers only pass through.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kcov.h"

#define KCOV_INIT_TRACE		_IOR('c', 1, unsigned long)
#define KCOV_ENABLE		_IO('c', 100)
#define KCOV_REMOTE_ENABLE	_IOW('c', 102, struct kcov_remote_arg)
#define KCOV_TRACE_PC		0
/* The module's common handle (glue/irqfd.c): KCOV_SUBSYSTEM_COMMON, "mshv". */
#define MSHV_KCOV_HANDLE	0x6d736876ULL

struct kcov_remote_arg {
	unsigned int trace_mode;
	unsigned int area_size;
	unsigned int num_handles;
	unsigned long long common_handle;
	unsigned long long handles[];
};

/* Entries of a thread's trace buffer; drained when three quarters full. */
#define TRACE_WORDS	(256 * 1024)
#define TRACE_BYTES	(TRACE_WORDS * sizeof(unsigned long))

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

/* Children traced into buffers of this process, until it reaps them. */
#define MAXCHILD 64
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
static struct child {
	pid_t pid;
	int fd;
	unsigned long *area;
} children[MAXCHILD];

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
	g.nsec = 0;
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

/* A trace buffer: a KCOV fd (far above the fds tests juggle, so a stale fd number of theirs
 * never names it) and its mapping; not yet enabled. */
static int open_area(unsigned long **area, int cloexec)
{
	int fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC), hi;
	void *a;

	if (fd < 0)
		return -1;
	hi = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 900);
	close(fd);
	if (hi < 0 || ioctl(hi, KCOV_INIT_TRACE, TRACE_WORDS))
		goto fail;
	a = mmap(NULL, TRACE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, hi, 0);
	if (a == MAP_FAILED)
		goto fail;
	*area = a;
	return hi;
fail:
	if (hi >= 0)
		close(hi);
	return -1;
}

static void close_area(int fd, unsigned long *area)
{
	munmap(area, TRACE_BYTES);
	close(fd);
}

/* Starts tracing the calling thread into area (a fresh one if NULL). */
static void thread_start_into(int fd, unsigned long *area)
{
	if (!g.on || trace_fd >= 0)
		return;
	if (!area)
		fd = open_area(&area, 1);
	if (fd < 0)
		return;
	if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		close_area(fd, area);
		return;
	}
	trace_fd = fd;
	trace = area;
	__atomic_store_n(&trace[0], 0, __ATOMIC_RELAXED);
}

static void thread_start(void)
{
	thread_start_into(-1, NULL);
}

/* Moves the module PCs of a trace buffer into the set; how many were new. */
static int take_area(unsigned long *area)
{
	unsigned long n, i, pc;
	int added = 0;

	n = __atomic_load_n(&area[0], __ATOMIC_RELAXED);
	if (n > TRACE_WORDS - 1)
		n = TRACE_WORDS - 1;
	pthread_mutex_lock(&g.lock);
	for (i = 0; i < n; i++) {
		pc = area[i + 1];
		if (pc >= g.lo && pc < g.hi && set_add(pc))
			added++;
	}
	pthread_mutex_unlock(&g.lock);
	__atomic_store_n(&area[0], 0, __ATOMIC_RELAXED);
	return added;
}

int kcov_collect(void)
{
	return trace ? take_area(trace) : 0;
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
		close_area(trace_fd, trace);
	trace = NULL;
	trace_fd = -1;
}

/* Takes what a reaped child left in the buffer it was traced into. */
static void reap(pid_t pid)
{
	int i;

	pthread_mutex_lock(&children_lock);
	for (i = 0; i < MAXCHILD; i++) {
		if (children[i].pid != pid || !children[i].area)
			continue;
		take_area(children[i].area);
		close_area(children[i].fd, children[i].area);
		children[i].area = NULL;
		children[i].pid = 0;
	}
	pthread_mutex_unlock(&children_lock);
}

/* Writes the process's PCs as "<section> <offset>" lines. */
static void flush(void)
{
	unsigned long off, pc;
	char path[256];
	FILE *f;
	int s, best;

	kcov_collect();
	pthread_mutex_lock(&children_lock);
	for (s = 0; s < MAXCHILD; s++)
		if (children[s].area)
			take_area(children[s].area);
	pthread_mutex_unlock(&children_lock);
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
	unsigned long *area = NULL;
	int fd = -1, i;
	pid_t pid;

	/* What the parent traced so far is its own; the child's buffer is the parent's to read. */
	kcov_collect();
	if (g.on)
		fd = open_area(&area, 1);
	pid = __real_fork();
	if (pid == 0) {
		if (!g.on)
			return 0;
		/*
		 * Nothing of the parent's tracing is the child's (KCOV follows a task): its own
		 * buffer goes; its children's are forgotten, not unmapped (another of its threads
		 * may have been changing the table).
		 */
		if (trace)
			close_area(trace_fd, trace);
		trace = NULL;
		trace_fd = -1;
		memset(children, 0, sizeof(children));
		pthread_mutex_init(&children_lock, NULL);
		pthread_mutex_init(&g.lock, NULL);
		set_clear();
		if (fd >= 0)
			thread_start_into(fd, area);
		return 0;
	}
	if (fd < 0)
		return pid;
	pthread_mutex_lock(&children_lock);
	for (i = 0; i < MAXCHILD && pid > 0; i++) {
		if (!children[i].area) {
			children[i] = (struct child){ pid, fd, area };
			pthread_mutex_unlock(&children_lock);
			return pid;
		}
	}
	pthread_mutex_unlock(&children_lock);
	close_area(fd, area);
	return pid;
}

pid_t __real_waitpid(pid_t pid, int *status, int options);

pid_t __wrap_waitpid(pid_t pid, int *status, int options)
{
	int st = 0;
	pid_t r = __real_waitpid(pid, &st, options);

	/* Reaped (not a stop or a continue): its buffer is read and goes. */
	if (r > 0 && g.on && (WIFEXITED(st) || WIFSIGNALED(st)))
		reap(r);
	if (status)
		*status = st;
	return r;
}

/* Not async-signal-safe any more (it takes locks and writes a file): no handler may call it. */
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

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int r, e;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	r = __real_ioctl(fd, req, arg);
	e = errno;

	if (trace && __atomic_load_n(&trace[0], __ATOMIC_RELAXED) > TRACE_WORDS / 4 * 3)
		kcov_collect();
	errno = e;
	return r;
}

/* ---- Commands and work items (tests/kcov_run.c) ---- */

int kcov_run(char **argv)
{
	bool loaded = find_module();
	unsigned long *area = NULL;
	int fd = open_area(&area, 0), status = 0;
	pid_t pid = __real_fork();

	if (pid == 0) {
		/* Traced from here on, through the exec (KCOV follows the task). */
		if (fd >= 0)
			ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return 127;
	__real_waitpid(pid, &status, 0);
	/* insmod: the module is there only now; rmmod: it was found before. */
	if (fd >= 0 && (loaded || find_module()) && !g.bits) {
		g.bits = calloc((g.hi - g.lo + 63) / 64, sizeof(unsigned long));
		g.dir = getenv("MSHV_KCOV_DIR");
		g.on = g.bits && g.dir;
	}
	if (fd >= 0 && g.bits) {
		take_area(area);
		flush();
	}
	if (fd >= 0)
		close_area(fd, area);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static volatile sig_atomic_t remote_stop;

static void on_term(int sig)
{
	remote_stop = 1;
}

int kcov_remote(void)
{
	struct kcov_remote_arg arg = {
		.trace_mode = KCOV_TRACE_PC,
		.area_size = 64 * 1024,
		.common_handle = MSHV_KCOV_HANDLE,
	};
	struct sigaction sa = { .sa_handler = on_term };
	unsigned long *area;
	int fd;

	if (!g.on)
		return 2;
	sigaction(SIGTERM, &sa, NULL);
	fd = open_area(&area, 1);
	if (fd < 0 || ioctl(fd, KCOV_REMOTE_ENABLE, &arg))
		return 2;
	while (!remote_stop) {
		usleep(20000);
		take_area(area);
	}
	take_area(area);
	flush();
	return 0;
}
