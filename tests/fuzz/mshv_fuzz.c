// SPDX-License-Identifier: GPL-2.0
/*
 * mshv_fuzz: a coverage-guided fuzzer for /dev/mshv, run in the debug guest.
 *
 *   mshv_fuzz [-s seed] [-n ioctls] [-t seconds] [-j threads] [-w hang-seconds]
 *
 * Thread 0 explores: it runs programs (sequences of up to 24 calls: the ioctls of /dev/mshv,
 * partition and VP fds with mutated arguments, mmap of VP fds, MADV_DONTNEED, a mapping
 * replaced by a new one, fork, close, eventfd writes, raw ioctl numbers), each in a fresh set of fds
 * closed in a random order at its end. KCOV (tests/lib/kcov.c) says which of the module's PCs
 * a call reached; a program that reached new ones is kept, and later programs are mutations of
 * kept ones (an argument changed, a call inserted, removed or swapped, two programs spliced).
 * The other threads race: they run single calls, weighted toward MSHV_RUN_VP, unmapping,
 * munmap, MADV_DONTNEED, fork and close, on fds they all share. The guests loop on ioeventfd
 * writes, fault on memory, leave with intercepts or halt. A signal thread sends SIGUSR1
 * (handled, no SA_RESTART) to a random worker every 2 ms, so every run is interrupted and every
 * EINTR path is taken; a watchdog fails the run when a call lasts longer than the hang bound.
 *
 * The seed (printed first) decides every thread's calls: with -j 1 a seed replays a run; with
 * racers the same calls run, in an order the scheduler decides. Output is TAP: the summary
 * (ioctls, distinct module PCs, inputs kept, seed) and whether the simulated hypervisor is
 * left with nothing once every fd is closed. Splats, leaks and panics are the judge's
 * (scripts/parse-log.py), from the kernel log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kcov.h"
#include "mshv_util.h"
#include "mshv_vm.h"
#include "sim.h"

#define MAXCALLS	24
#define MAXCORPUS	512
#define NSLOT		4
#define NAREA		6
#define AREA_SIZE	(4UL << 20)
#define MAXTHREADS	8
#define CODE		0x1000
#define PORT		0x3000
#define MMIO		0x10000

static unsigned long long opt_seed, opt_ioctls = 1000000;
static double opt_secs;
static int opt_threads = 3, opt_hang = 30;

static volatile int stop;
static unsigned long long ioctls;	/* atomic */
static double t0;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- Randomness: xorshift64*, one generator per thread, all from the seed ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static const uint64_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 507, 508, 509, 511, 512,
	513, 0xfff, 0x1000, 0x1001, 0xffff, 0x10000, 0x1ff, 0x200, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000ULL, (1ULL << 40) - 1, 1ULL << 40, 1ULL << 47, 1ULL << 52,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~0ULL - 1, ~0ULL - 4095,
};

/* A value: small, interesting, or anything. */
static uint64_t value(struct rng *r)
{
	switch (below(r, 4)) {
	case 0:
		return below(r, 16);
	case 1:
	case 2:
		return interesting[below(r, sizeof(interesting) / sizeof(interesting[0]))];
	default:
		return rnd(r);
	}
}

/* ---- Programs ---- */

enum op {
	OP_OPEN, OP_CHECK, OP_CREATE_PT, OP_INIT_PT, OP_CREATE_VP, OP_SET_MEM, OP_UNMAP_MEM,
	OP_BITMAP, OP_IRQFD, OP_IOEVENTFD, OP_ROUTING, OP_HVCALL, OP_RUN, OP_VP_STATE,
	OP_MMAP_VP, OP_CLOSE, OP_MADVISE, OP_REMAP, OP_FORK, OP_EFD, OP_SET_REG, OP_RAW,
	OP_COUNT
};

static const char *const op_name[OP_COUNT] = {
	"open", "check_extension", "create_partition", "initialize", "create_vp",
	"set_guest_memory", "unmap_guest_memory", "gpap_bitmap", "irqfd", "ioeventfd",
	"msi_routing", "root_hvcall", "run_vp", "vp_state", "mmap_vp", "close", "madvise",
	"remap", "fork", "eventfd_write", "set_register", "raw_ioctl",
};

/* How often each call is generated: the explorer's, and the racers'. */
static const int weight_explore[OP_COUNT] = {
	2, 2, 6, 5, 5, 8, 4, 3, 4, 5, 3, 4, 8, 3, 2, 3, 2, 1, 1, 2, 3, 2,
};
static const int weight_race[OP_COUNT] = {
	1, 0, 2, 2, 2, 6, 5, 1, 1, 2, 1, 1, 12, 1, 1, 4, 6, 3, 1, 1, 1, 0,
};

struct call {
	uint8_t op;
	uint64_t a[6];
};

struct prog {
	int n;
	struct call c[MAXCALLS];
};

static void gen_call(struct rng *r, const int *weight, struct call *c)
{
	int total = 0, i, pick;

	for (i = 0; i < OP_COUNT; i++)
		total += weight[i];
	pick = below(r, total);
	for (i = 0; i < OP_COUNT && pick >= weight[i]; i++)
		pick -= weight[i];
	c->op = i;
	for (i = 0; i < 6; i++)
		c->a[i] = below(r, 3) ? below(r, 64) : value(r);
}

static void gen_prog(struct rng *r, struct prog *p)
{
	int i;

	p->n = 1 + below(r, MAXCALLS);
	/* Most programs start where a VMM does. */
	for (i = 0; i < p->n; i++)
		gen_call(r, weight_explore, &p->c[i]);
	if (p->n >= 4 && below(r, 2)) {
		p->c[0].op = OP_CREATE_PT;
		p->c[1].op = OP_INIT_PT;
		p->c[2].op = OP_SET_MEM;
		p->c[3].op = OP_CREATE_VP;
	}
}

static void mutate(struct rng *r, struct prog *p, const struct prog *other)
{
	int n = 1 + below(r, 3), i, j;
	struct call t;

	while (n--) {
		switch (below(r, 6)) {
		case 0:		/* an argument */
		case 1:
			i = below(r, p->n);
			j = below(r, 6);
			p->c[i].a[j] = below(r, 2) ? value(r) : p->c[i].a[j] ^ (1ULL << below(r, 64));
			break;
		case 2:		/* a call more */
			if (p->n < MAXCALLS) {
				i = below(r, p->n + 1);
				memmove(&p->c[i + 1], &p->c[i], (p->n - i) * sizeof(p->c[0]));
				gen_call(r, weight_explore, &p->c[i]);
				p->n++;
			}
			break;
		case 3:		/* a call less */
			if (p->n > 1) {
				i = below(r, p->n);
				memmove(&p->c[i], &p->c[i + 1], (p->n - i - 1) * sizeof(p->c[0]));
				p->n--;
			}
			break;
		case 4:		/* two calls swapped */
			i = below(r, p->n);
			j = below(r, p->n);
			t = p->c[i];
			p->c[i] = p->c[j];
			p->c[j] = t;
			break;
		default:	/* spliced with another program */
			if (other && other->n) {
				i = below(r, p->n);
				j = below(r, other->n);
				while (i < MAXCALLS && j < other->n)
					p->c[i++] = other->c[j++];
				if (i > p->n)
					p->n = i;
			}
			break;
		}
	}
}

/* ---- What calls act on ---- */

struct vp_slot {
	int fd;
	int pt;		/* its partition's slot */
};

struct ctx {
	pthread_mutex_t lock;
	int dev[NSLOT], pt[NSLOT], efd[NSLOT];
	struct vp_slot vp[NSLOT];
	int pt_area[NSLOT];	/* the area mapped at guest page 0, -1 for none */
};

/* Guest memory candidates: RW, RW (THP), RW shared, read-only, no access, RW again. */
static char *area[NAREA];
static const int area_prot[NAREA] = {
	PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
	PROT_NONE, PROT_READ | PROT_WRITE,
};
static const int area_flags[NAREA] = {
	MAP_PRIVATE | MAP_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS,
	MAP_PRIVATE | MAP_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS,
};
/* Scratch buffers the kernel may write (bitmaps, VP state, hypercall output). */
static char *scratch;
#define SCRATCH_SIZE (2UL << 20)

static void ctx_init(struct ctx *c)
{
	int i;

	pthread_mutex_init(&c->lock, NULL);
	for (i = 0; i < NSLOT; i++) {
		c->dev[i] = c->pt[i] = c->efd[i] = c->vp[i].fd = -1;
		c->pt_area[i] = -1;
	}
}

/* Closes every fd of the context, in an order drawn from r. */
static void ctx_close(struct ctx *c, struct rng *r)
{
	int *all[4 * NSLOT], n = 0, i, j, *t;

	for (i = 0; i < NSLOT; i++) {
		all[n++] = &c->dev[i];
		all[n++] = &c->pt[i];
		all[n++] = &c->efd[i];
		all[n++] = &c->vp[i].fd;
	}
	for (i = n - 1; i > 0; i--) {
		j = below(r, i + 1);
		t = all[i];
		all[i] = all[j];
		all[j] = t;
	}
	for (i = 0; i < n; i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
	for (i = 0; i < NSLOT; i++)
		c->pt_area[i] = -1;
}

static int get_fd(struct ctx *c, int *slots, uint64_t a)
{
	int fd;

	pthread_mutex_lock(&c->lock);
	fd = slots[a % NSLOT];
	pthread_mutex_unlock(&c->lock);
	return fd;
}

/* Stores fd in a slot, closing what was there (the close itself is a call worth making). */
static void put_fd(struct ctx *c, int *slot, int fd)
{
	int old;

	pthread_mutex_lock(&c->lock);
	old = *slot;
	*slot = fd;
	pthread_mutex_unlock(&c->lock);
	if (old >= 0)
		close(old);
}

/* ---- Guests: real-mode code at CODE in the area mapped at guest page 0 ---- */

static const __u8 g_ucall[] = { 0xba, 0x00, 0x10, 0xef, 0xf4 };
static const __u8 g_pio_loop[] = { 0xba, 0x00, 0x30, 0xb8, 0x00, 0x00, 0xef, 0x40, 0xeb, 0xfc };
static const __u8 g_mmio_loop[] = { 0xb8, 0x00, 0x00, 0xa3, 0x00, 0x00, 0x40, 0xeb, 0xfa };
/* Touches three pages, writing, forever: faults on movable memory after every change. */
static const __u8 g_touch[] = {
	0xa0, 0x00, 0x20, 0xfe, 0xc0, 0xa2, 0x00, 0x20, 0xa0, 0x00, 0x30, 0xa2, 0x00, 0x40,
	0xeb, 0xf0,
};
static const __u8 g_hlt[] = { 0xf4 };
static const __u8 g_spin[] = { 0xeb, 0xfe };
static const __u8 g_in[] = { 0xba, 0x00, 0x30, 0xec, 0xf4 };
static const struct {
	const __u8 *code;
	size_t len;
} guests[] = {
	{ g_ucall, sizeof(g_ucall) }, { g_pio_loop, sizeof(g_pio_loop) },
	{ g_mmio_loop, sizeof(g_mmio_loop) }, { g_touch, sizeof(g_touch) },
	{ g_hlt, sizeof(g_hlt) }, { g_spin, sizeof(g_spin) }, { g_in, sizeof(g_in) },
};

/* ---- Calls ---- */

/* Sets a VP's entry point without failing the run (the fd may be gone or not a VP). */
static void vp_set_entry_quiet(int vp, __u64 ip)
{
	__vp_set_reg(vp, HV_X64_REGISTER_CS, 0, 0xffffULL | (0x9bULL << 48));
	__vp_set_reg(vp, HV_X64_REGISTER_RIP, ip, 0);
}

static int vp_fd(struct ctx *c, uint64_t a)
{
	int fd;

	pthread_mutex_lock(&c->lock);
	fd = c->vp[a % NSLOT].fd;
	pthread_mutex_unlock(&c->lock);
	return fd;
}

struct worker {
	int id;
	pid_t tid;
	struct rng r;
	volatile double busy_since;	/* 0 when not in a call */
	volatile int busy_op;
	unsigned long long calls;
};

static struct worker workers[MAXTHREADS];
static int nworkers;

static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	__atomic_add_fetch(&ioctls, 1, __ATOMIC_RELAXED);
	return ioctl(fd, cmd, arg);
}

static int hvcall(int fd, __u16 code, __u16 reps, void *in, __u16 in_sz, void *out, __u16 out_sz)
{
	struct mshv_root_hvcall a = {
		.code = code, .reps = reps, .in_sz = in_sz, .out_sz = out_sz,
		.in_ptr = (unsigned long)in, .out_ptr = (unsigned long)out,
	};

	return do_ioctl(fd, MSHV_ROOT_HVCALL, &a);
}

static const __u16 codes[] = {
	0x0044, 0x0101, 0x0045, 0x004d, 0x0050, 0x0051, 0x0052, 0x0056, 0x0091, 0x0094,
	0x00c9, 0x00c0, 0x00c1, 0x00f4, 0x0048, 0x004b, 0x0001, 0xffff,
};

static const __u32 reg_names[] = {
	HV_X64_REGISTER_RIP, HV_X64_REGISTER_RAX, HV_X64_REGISTER_RFLAGS, HV_X64_REGISTER_CS,
	HV_X64_REGISTER_DS, 0x00090004, 0x00040000, 0x12345678,
};

/* A pointer for the kernel: a scratch buffer, NULL, unmapped, or a kernel address. */
static void *pointer(uint64_t a)
{
	switch (a % 8) {
	case 0:
		return NULL;
	case 1:
		return (void *)0x10000;	/* never mapped */
	case 2:
		return (void *)0xffff888000000000ULL;
	case 3:
		return scratch + SCRATCH_SIZE - 4096 + (a >> 8) % 4096;
	default:
		return scratch + ((a >> 8) % (SCRATCH_SIZE / 4096 - 1)) * 4096;
	}
}

static uint64_t gfn_of(uint64_t a)
{
	switch (a % 4) {
	case 0:
	case 1:
		return 0;
	case 2:
		return (a >> 2) % 2048;
	default:
		return a >> 2;
	}
}

static void exec_call(struct ctx *c, struct worker *w, const struct call *k)
{
	const uint64_t *a = k->a;
	int fd, r, s;

	switch (k->op) {
	case OP_OPEN:
		s = a[0] % NSLOT;
		fd = open("/dev/mshv", O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			put_fd(c, &c->dev[s], fd);
		break;
	case OP_CHECK: {
		__u32 id = a[2] % 3 ? a[2] % 0x30 : (__u32)a[2];

		fd = a[0] % 2 ? get_fd(c, c->pt, a[1]) : get_fd(c, c->dev, a[1]);
		do_ioctl(fd, MSHV_CHECK_EXTENSION, a[3] % 8 ? (void *)&id : pointer(a[3]));
		break;
	}
	case OP_CREATE_PT: {
		struct mshv_create_partition_v2 v2 = {
			.pt_flags = a[1] % 4 ? a[1] & 0x3f : a[1],
			.pt_isolation = a[2] % 4 ? 0 : a[2],
			.pt_num_cpu_fbanks = a[3] % 4 ? MSHV_NUM_CPU_FEATURES_BANKS : a[3],
		};

		fd = get_fd(c, c->dev, a[0]);
		if (fd < 0) {
			fd = open("/dev/mshv", O_RDWR | O_CLOEXEC);
			put_fd(c, &c->dev[a[0] % NSLOT], fd);
		}
		if (a[4] % 3 == 0)
			v2.pt_flags |= 1ULL << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES;
		if (a[5] % 8 == 0)
			v2.pt_rsvd[a[5] % 6] = 1;
		r = do_ioctl(fd, MSHV_CREATE_PARTITION, &v2);
		if (r >= 0) {
			s = (a[0] >> 8) % NSLOT;
			put_fd(c, &c->pt[s], r);
			pthread_mutex_lock(&c->lock);
			c->pt_area[s] = -1;
			pthread_mutex_unlock(&c->lock);
		}
		break;
	}
	case OP_INIT_PT:
		do_ioctl(get_fd(c, c->pt, a[0]), MSHV_INITIALIZE_PARTITION, NULL);
		break;
	case OP_CREATE_VP: {
		struct mshv_create_vp v = { .vp_index = a[1] % 4 ? a[1] % 4 : (__u32)a[1] };

		s = a[0] % NSLOT;
		r = do_ioctl(get_fd(c, c->pt, s), MSHV_CREATE_VP, &v);
		if (r >= 0) {
			int vs = a[2] % NSLOT;

			put_fd(c, &c->vp[vs].fd, r);
			pthread_mutex_lock(&c->lock);
			c->vp[vs].pt = s;
			pthread_mutex_unlock(&c->lock);
		}
		break;
	}
	case OP_SET_MEM:
	case OP_UNMAP_MEM: {
		int ar = a[1] % NAREA;
		uint64_t off = (a[2] % (AREA_SIZE / 4096)) * 4096, size;
		struct mshv_user_mem_region m = { 0 };

		switch (a[3] % 4) {
		case 0:
			size = AREA_SIZE - off;
			break;
		case 1:
			size = 4096 * (1 + (a[3] >> 2) % 64);
			break;
		case 2:
			size = value(&w->r) & ~4095ULL;
			break;
		default:
			size = a[3];
		}
		s = a[0] % NSLOT;
		if (a[5] % 4 == 0)
			off = size = 0;
		m.size = size;
		m.guest_pfn = gfn_of(a[4]);
		m.userspace_addr = (unsigned long)area[ar] + off;
		m.flags = a[5] % 6 ? (a[5] >> 3) & 0x7 : (__u8)(a[5] >> 3);
		if (k->op == OP_UNMAP_MEM)
			m.flags |= 1 << MSHV_SET_MEM_BIT_UNMAP;
		if (a[5] % 16 == 1)
			m.rsvd[0] = 1;
		r = do_ioctl(get_fd(c, c->pt, s), MSHV_SET_GUEST_MEMORY, &m);
		if (!r && m.guest_pfn == 0 && off == 0 && k->op == OP_SET_MEM) {
			pthread_mutex_lock(&c->lock);
			c->pt_area[s] = ar;
			pthread_mutex_unlock(&c->lock);
		}
		break;
	}
	case OP_BITMAP: {
		struct mshv_gpap_access_bitmap b = {
			.access_type = a[1] % 3, .access_op = a[2] % 4,
			.page_count = a[3] % 4 ? a[3] % 4096 : value(&w->r),
			.gpap_base = gfn_of(a[4]),
			.bitmap_ptr = (unsigned long)pointer(a[5]),
		};

		do_ioctl(get_fd(c, c->pt, a[0]), MSHV_GET_GPAP_ACCESS_BITMAP, &b);
		break;
	}
	case OP_IRQFD: {
		struct mshv_user_irqfd q = {
			.fd = a[1] % 5 ? get_fd(c, c->efd, a[1]) : (int)a[1],
			.resamplefd = a[2] % 5 ? get_fd(c, c->efd, a[2]) : (int)a[2],
			.gsi = a[3] % 4 ? a[3] % 16 : (__u32)a[3],
			.flags = a[4] % 8,
		};

		do_ioctl(get_fd(c, c->pt, a[0]), MSHV_IRQFD, &q);
		break;
	}
	case OP_IOEVENTFD: {
		static const __u32 lens[] = { 0, 1, 2, 4, 8, 3 };
		struct mshv_user_ioeventfd e = {
			.datamatch = a[4] % 4 ? a[4] % 4 : a[4],
			.addr = a[2] % 3 == 0 ? PORT : a[2] % 3 == 1 ? MMIO : a[2],
			.len = lens[a[3] % 6],
			.fd = a[1] % 5 ? get_fd(c, c->efd, a[1]) : (int)a[1],
			.flags = a[5] % 16,
		};

		if (a[5] % 32 == 17)
			e.rsvd[0] = 1;
		do_ioctl(get_fd(c, c->pt, a[0]), MSHV_IOEVENTFD, &e);
		break;
	}
	case OP_ROUTING: {
		struct {
			struct mshv_user_irq_table t;
			struct mshv_user_irq_entry e[8];
		} rt = { .t = { .nr = a[1] % 4 ? a[1] % 9 : (__u32)a[1] } };
		unsigned int i;

		for (i = 0; i < 8; i++) {
			rt.e[i].gsi = (a[2] >> (4 * i)) % 16;
			rt.e[i].address_lo = 0xfee00000 | (((a[3] >> i) & 3) << 12) |
					     ((a[3] >> (8 + i)) & 1) << 2;
			rt.e[i].data = 0x20 + i + ((a[4] >> i) & 1 ? 0x8000 : 0);
		}
		if (a[5] % 8 == 0)
			rt.e[a[5] % 8].address_hi = 1;
		do_ioctl(get_fd(c, c->pt, a[0]), MSHV_SET_MSI_ROUTING,
			 a[5] % 16 == 3 ? pointer(a[5]) : (void *)&rt);
		break;
	}
	case OP_HVCALL: {
		__u64 in[64];
		unsigned int i;

		for (i = 0; i < 64; i++)
			in[i] = i < 6 ? (i == 0 ? a[4] % 8 : a[(i + 3) % 6] % 256) : 0;
		fd = a[0] % 3 == 0 ? get_fd(c, c->dev, a[1]) :
		     a[0] % 3 == 1 ? get_fd(c, c->pt, a[1]) : vp_fd(c, a[1]);
		hvcall(fd, codes[a[2] % (sizeof(codes) / sizeof(codes[0]))], a[3] % 4,
		       in, a[5] % 4 ? 8 * (1 + a[5] % 8) : (__u16)a[5], scratch,
		       a[5] % 3 ? 512 : 0);
		break;
	}
	case OP_RUN: {
		struct hv_message msg;
		int ar = -1;

		pthread_mutex_lock(&c->lock);
		fd = c->vp[a[0] % NSLOT].fd;
		if (fd >= 0)
			ar = c->pt_area[c->vp[a[0] % NSLOT].pt];
		pthread_mutex_unlock(&c->lock);
		/* Only areas nobody munmaps are written from here. */
		if ((ar == 0 || ar == 1 || ar == 5) && a[1] % 4) {
			unsigned int g = a[2] % (sizeof(guests) / sizeof(guests[0]));

			memcpy(area[ar] + CODE, guests[g].code, guests[g].len);
			vp_set_entry_quiet(fd, CODE);
		}
		do_ioctl(fd, MSHV_RUN_VP, a[3] % 16 ? (void *)&msg : pointer(a[3]));
		break;
	}
	case OP_VP_STATE: {
		struct mshv_get_set_vp_state st = {
			.type = a[1] % 6,
			.buf_sz = a[2] % 4 ? 4096 * (1 + a[2] % 2) : (__u32)a[2],
			.buf_ptr = (unsigned long)pointer(a[3]),
		};

		fd = vp_fd(c, a[0]);
		if (a[4] % 8 == 0)
			st.rsvd[0] = 1;
		do_ioctl(fd, a[5] % 2 ? MSHV_SET_VP_STATE : MSHV_GET_VP_STATE, &st);
		break;
	}
	case OP_MMAP_VP: {
		size_t len = 4096 * (1 + a[2] % 3);
		volatile char *p;

		fd = vp_fd(c, a[0]);
		p = mmap(NULL, len, PROT_READ | (a[3] % 2 ? PROT_WRITE : 0), MAP_SHARED, fd,
			 4096 * (a[1] % 4));
		if (p != MAP_FAILED) {
			(void)p[0];
			munmap((void *)p, len);
		}
		break;
	}
	case OP_CLOSE: {
		int *slot;

		s = a[1] % NSLOT;
		switch (a[0] % 4) {
		case 0:
			slot = &c->dev[s];
			break;
		case 1:
			slot = &c->pt[s];
			break;
		case 2:
			slot = &c->efd[s];
			break;
		default:
			slot = &c->vp[s].fd;
		}
		put_fd(c, slot, -1);
		break;
	}
	case OP_MADVISE: {
		uint64_t off = (a[1] % (AREA_SIZE / 4096)) * 4096;

		madvise(area[a[0] % NAREA] + off, a[2] % 2 ? AREA_SIZE - off : 4096 * (1 + a[2] % 8),
			a[3] % 5 ? MADV_DONTNEED : MADV_HUGEPAGE);
		break;
	}
	case OP_REMAP: {
		/*
		 * Areas 2-4 only: nothing writes them from here. The old mapping goes and a new
		 * one takes its place in one call: a munmap first would leave a hole another
		 * thread's mmap could fill (a KCOV buffer, say), which the MAP_FIXED would then
		 * replace.
		 */
		int ar = 2 + a[0] % 3;

		mmap(area[ar], AREA_SIZE, area_prot[ar], area_flags[ar] | MAP_FIXED, -1, 0);
		break;
	}
	case OP_FORK: {
		pid_t p = fork();

		if (p == 0) {
			/* The child's copies of the fds go first, in its own order. */
			if (a[0] % 2)
				close(c->pt[a[1] % NSLOT]);
			_exit(0);
		}
		/* Until it is gone (the signals interrupt the wait): its fds die with it. */
		while (p > 0 && waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		break;
	}
	case OP_EFD: {
		__u64 one = 1;

		s = a[0] % NSLOT;
		fd = get_fd(c, c->efd, s);
		if (fd < 0 || a[1] % 8 == 0)
			put_fd(c, &c->efd[s], eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
		else if (write(fd, &one, 8) < 0)
			break;
		break;
	}
	case OP_SET_REG: {
		struct {
			struct hv_input_vp_registers head;
			struct hv_register_assoc reg;
		} __attribute__((packed)) in = { 0 };

		in.reg.name = reg_names[a[1] % (sizeof(reg_names) / sizeof(reg_names[0]))];
		in.reg.low = a[2] % 2 ? CODE : value(&w->r);
		in.reg.high = a[3] % 2 ? 0xffffULL | (0x93ULL << 48) : a[3];
		if (in.reg.name == HV_X64_REGISTER_DS && a[4] % 2)
			in.reg.low = MMIO;
		fd = vp_fd(c, a[0]);
		hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0);
		break;
	}
	case OP_RAW: {
		unsigned long cmd = a[1] % 2 ? _IOC(a[2] % 4, 0xb8, a[3] % 16, a[4] % 512) : a[1];

		fd = a[0] % 3 == 0 ? get_fd(c, c->dev, a[0] >> 2) :
		     a[0] % 3 == 1 ? get_fd(c, c->pt, a[0] >> 2) : vp_fd(c, a[0] >> 2);
		r = do_ioctl(fd, cmd, pointer(a[5]));
		/* A number that happens to make a partition or a VP: its fd is the run's to close. */
		if (r >= 0 && (cmd == MSHV_CREATE_PARTITION || cmd == MSHV_CREATE_VP))
			close(r);
		break;
	}
	}
}

/* One call, with the watchdog told what it is. */
static void run_call(struct ctx *c, struct worker *w, const struct call *k)
{
	w->busy_op = k->op;
	w->busy_since = now();
	exec_call(c, w, k);
	w->busy_since = 0;
	w->calls++;
}

static bool done(void)
{
	return stop || __atomic_load_n(&ioctls, __ATOMIC_RELAXED) >= opt_ioctls ||
	       (opt_secs > 0 && now() - t0 >= opt_secs);
}

/* ---- Threads ---- */

static struct prog corpus[MAXCORPUS];
static int ncorpus;

static void *explore(void *arg)
{
	struct worker *w = arg;
	struct prog p;
	struct ctx c;
	int i, fresh;

	w->tid = syscall(SYS_gettid);
	while (!done()) {
		if (!ncorpus || !below(&w->r, 5)) {
			gen_prog(&w->r, &p);
		} else {
			p = corpus[below(&w->r, ncorpus)];
			mutate(&w->r, &p, &corpus[below(&w->r, ncorpus)]);
		}
		ctx_init(&c);
		kcov_collect();
		fresh = 0;
		for (i = 0; i < p.n && !stop; i++) {
			run_call(&c, w, &p.c[i]);
			fresh += kcov_collect();
		}
		ctx_close(&c, &w->r);
		fresh += kcov_collect();
		if (fresh && ncorpus < MAXCORPUS)
			corpus[ncorpus++] = p;
	}
	return NULL;
}

static struct ctx arena;

static void *race(void *arg)
{
	struct worker *w = arg;
	struct call k;

	w->tid = syscall(SYS_gettid);
	while (!done()) {
		gen_call(&w->r, weight_race, &k);
		run_call(&arena, w, &k);
		kcov_collect();
	}
	return NULL;
}

static void *signaller(void *arg)
{
	struct rng r = { opt_seed * 7 + 3 };
	struct worker *w;

	while (!stop) {
		usleep(2000);
		w = &workers[below(&r, nworkers)];
		if (w->tid)
			syscall(SYS_tgkill, getpid(), w->tid, SIGUSR1);
	}
	return NULL;
}

static void *watchdog(void *arg)
{
	char path[64], line[256];
	double since;
	FILE *f;
	int i;

	while (!stop) {
		usleep(500000);
		for (i = 0; i < nworkers; i++) {
			since = workers[i].busy_since;
			if (!since || now() - since < opt_hang)
				continue;
			printf("not ok 1 fuzz: hang: thread %d in %s for %.0f s (seed %llu)\n", i,
			       op_name[workers[i].busy_op], now() - since, opt_seed);
			snprintf(path, sizeof(path), "/proc/self/task/%d/stack", workers[i].tid);
			f = fopen(path, "r");
			while (f && fgets(line, sizeof(line), f))
				printf("# %s", line);
			if (f)
				fclose(f);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

static void on_signal(int sig)
{
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit nofile = { 4096, 4096 };
	pthread_t t[MAXTHREADS], sig, dog;
	int i, o, left = -1, ok = 1;
	struct rng r;

	opt_seed = (unsigned long long)time(NULL) ^ getpid();
	while ((o = getopt(argc, argv, "s:n:t:j:w:")) != -1) {
		switch (o) {
		case 's':
			opt_seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			opt_ioctls = strtoull(optarg, NULL, 0);
			break;
		case 't':
			opt_secs = strtod(optarg, NULL);
			break;
		case 'j':
			opt_threads = atoi(optarg);
			break;
		case 'w':
			opt_hang = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-n ioctls] [-t seconds] [-j threads] "
				"[-w hang-seconds]\n", argv[0]);
			return 2;
		}
	}
	if (opt_threads < 1 || opt_threads > MAXTHREADS)
		opt_threads = 3;
	printf("TAP version 13\n1..2\n# fuzz: seed %llu, %d threads, up to %llu ioctls",
	       opt_seed, opt_threads, opt_ioctls);
	if (opt_secs > 0)
		printf(" or %.0f s", opt_secs);
	printf("\n");
	fflush(stdout);
	if (access(MSHV_DEV_PATH, F_OK)) {
		printf("1..0 # SKIP no %s\n", MSHV_DEV_PATH);
		return 4;
	}
	setrlimit(RLIMIT_NOFILE, &nofile);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	kcov_setup(NULL);
	for (i = 0; i < NAREA; i++) {
		area[i] = mmap(NULL, AREA_SIZE, area_prot[i], area_flags[i], -1, 0);
		if (area[i] == MAP_FAILED)
			return 2;
	}
	madvise(area[1], AREA_SIZE, MADV_HUGEPAGE);
	/* A guard page after the scratch buffers: a write past them is EFAULT, never guest memory. */
	scratch = mmap(NULL, SCRATCH_SIZE + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED || mprotect(scratch + SCRATCH_SIZE, 4096, PROT_NONE))
		return 2;
	ctx_init(&arena);
	t0 = now();
	r.s = opt_seed * 0x9e3779b97f4a7c15ULL + 1;
	nworkers = opt_threads;
	for (i = 0; i < nworkers; i++) {
		workers[i].id = i;
		workers[i].r.s = rnd(&r) | 1;
	}
	for (i = 0; i < nworkers; i++)
		pthread_create(&t[i], NULL, i ? race : explore, &workers[i]);
	pthread_create(&sig, NULL, signaller, NULL);
	pthread_create(&dog, NULL, watchdog, NULL);
	for (i = 0; i < nworkers; i++)
		pthread_join(t[i], NULL);
	stop = 1;
	pthread_join(sig, NULL);
	pthread_join(dog, NULL);
	ctx_close(&arena, &r);
	kcov_collect();
	printf("ok 1 fuzz: %llu ioctls, %zu distinct module PCs, %d inputs kept, %.0f s (seed %llu)%s\n",
	       ioctls, kcov_pcs(), ncorpus, now() - t0, opt_seed,
	       kcov_enabled() ? "" : " (no KCOV: not guided)");
	/* Every fd is closed: the hypervisor holds nothing of the run. */
	if (sim_present()) {
		left = sim_partitions();
		ok = left == 0;
	}
	printf("%s 2 fuzz: no partition left in the hypervisor (%d)\n", ok ? "ok" : "not ok", left);
	return ok ? 0 : 1;
}
