// SPDX-License-Identifier: GPL-2.0
/*
 * The SynIC's kernel side, for mshv_synic.rs: the CPU hotplug state the
 * per-CPU setup hangs on, the mappings of the hypervisor's pages, the vector
 * handler's hard-IRQ part and the BH work item it hands messages to, and, in
 * the production build only, the SynIC MSRs and the hypervisor callback
 * vector's hook. For the simulator (hvsim/synic.rs, hvsim.rs): irq_works that
 * deliver its messages (one in hard-IRQ context, as the vector), and the work
 * item that runs VPs under its hypervisor scheduler. Wrappers only.
 */
#include <linux/cpuhotplug.h>
#include <linux/io.h>
#include <linux/irq_work.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/hyperv.h>
#include <asm/mshyperv.h>

#include "glue/helpers.h"

static int (*mshv_rs_cpu_online_fn)(unsigned int cpu);
static int (*mshv_rs_cpu_offline_fn)(unsigned int cpu);

static int mshv_rs_cpu_online(unsigned int cpu);
static int mshv_rs_cpu_offline(unsigned int cpu);

int mshv_rs_cpuhp_setup(int (*online)(unsigned int), int (*offline)(unsigned int))
{
	mshv_rs_cpu_online_fn = online;
	mshv_rs_cpu_offline_fn = offline;
	return cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "mshv_synic", mshv_rs_cpu_online,
				 mshv_rs_cpu_offline);
}

void mshv_rs_cpuhp_remove(int state)
{
	cpuhp_remove_state(state);
}

void *mshv_rs_memremap_wb(u64 pa)
{
	return memremap(pa, PAGE_SIZE, MEMREMAP_WB);
}

void mshv_rs_memunmap(void *addr)
{
	memunmap(addr);
}

unsigned int mshv_rs_this_cpu(void)
{
	return raw_smp_processor_id();
}

void mshv_rs_synchronize_rcu(void)
{
	synchronize_rcu();
}

#ifndef MSHV_SIM
u64 mshv_rs_rdmsr(u32 msr)
{
	return hv_get_non_nested_msr(msr);
}

void mshv_rs_wrmsr(u32 msr, u64 value)
{
	hv_set_non_nested_msr(msr, value);
}

void mshv_rs_set_isr(void (*isr)(void))
{
	hv_setup_mshv_handler(isr);
}

bool mshv_rs_vmbus_exists(void)
{
	return hv_vmbus_exists();
}

bool mshv_rs_recommend_aeoi(void)
{
	return hv_recommend_using_aeoi();
}

u8 mshv_rs_callback_vector(void)
{
	return HYPERVISOR_CALLBACK_VECTOR;
}
#endif

/*
 * The handler of the hypervisor callback vector runs in hard-IRQ context, where only raw
 * spinlocks may be taken (lockdep's raw-lock nesting check; PREEMPT_RT). It queues this CPU's
 * BH work item, which handles the message in softirq context on the same CPU, right after the
 * interrupt, where the wake-ups' locks may be taken (VMBus handles its messages in a tasklet
 * the same way). The message stays in its slot until then. The handling is traced by KCOV's
 * remote coverage under the module's common handle (glue/irqfd.c), as are the CPU hotplug
 * callbacks, which run in the hotplug threads.
 */
#include <linux/kcov.h>
#include <linux/workqueue.h>

#define MSHV_KCOV_INSTANCE 0x6d736876

static DEFINE_PER_CPU(struct work_struct, mshv_rs_isr_work);
static void (*mshv_rs_isr_fn)(void);

static void mshv_rs_isr_work_fn(struct work_struct *work)
{
	kcov_remote_start(kcov_remote_handle(KCOV_SUBSYSTEM_COMMON, MSHV_KCOV_INSTANCE));
	mshv_rs_isr_fn();
	kcov_remote_stop();
}

void mshv_rs_isr_hard(void)
{
	queue_work(system_bh_wq, this_cpu_ptr(&mshv_rs_isr_work));
}

void mshv_rs_isr_init(void (*fn)(void))
{
	int cpu;

	mshv_rs_isr_fn = fn;
	for_each_possible_cpu(cpu)
		INIT_WORK(per_cpu_ptr(&mshv_rs_isr_work, cpu), mshv_rs_isr_work_fn);
}

/* Waits for this CPU's handling (from its hotplug callback). */
void mshv_rs_isr_flush_this_cpu(void)
{
	flush_work(this_cpu_ptr(&mshv_rs_isr_work));
}

void mshv_rs_isr_sync(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		cancel_work_sync(per_cpu_ptr(&mshv_rs_isr_work, cpu));
}

static int mshv_rs_cpu_online(unsigned int cpu)
{
	int ret;

	kcov_remote_start(kcov_remote_handle(KCOV_SUBSYSTEM_COMMON, MSHV_KCOV_INSTANCE));
	ret = mshv_rs_cpu_online_fn(cpu);
	kcov_remote_stop();
	return ret;
}

static int mshv_rs_cpu_offline(unsigned int cpu)
{
	int ret;

	kcov_remote_start(kcov_remote_handle(KCOV_SUBSYSTEM_COMMON, MSHV_KCOV_INSTANCE));
	ret = mshv_rs_cpu_offline_fn(cpu);
	kcov_remote_stop();
	return ret;
}

/*
 * An irq_work that runs fn(ctx) on the CPU it is queued on: in hard-IRQ context (as an
 * interrupt vector would) when hard, else where the wake-ups' locks are allowed.
 */
struct mshv_rs_irq_work {
	struct irq_work work;
	/* irq_work_queue_on() is not exported: an IPI queues the work on its CPU. */
	call_single_data_t csd;
	void (*fn)(const void *ctx);
	const void *ctx;
};

static void mshv_rs_irq_work_remote(void *info)
{
	struct mshv_rs_irq_work *w = info;

	irq_work_queue(&w->work);
}

static void mshv_rs_irq_work_fn(struct irq_work *work)
{
	struct mshv_rs_irq_work *w = container_of(work, struct mshv_rs_irq_work, work);

	w->fn(w->ctx);
}

struct mshv_rs_irq_work *mshv_rs_irq_work_new(void (*fn)(const void *ctx), const void *ctx,
					      bool hard)
{
	struct mshv_rs_irq_work *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	if (hard)
		w->work = IRQ_WORK_INIT_HARD(mshv_rs_irq_work_fn);
	else
		w->work = IRQ_WORK_INIT(mshv_rs_irq_work_fn);
	INIT_CSD(&w->csd, mshv_rs_irq_work_remote, w);
	w->fn = fn;
	w->ctx = ctx;
	return w;
}

void mshv_rs_irq_work_queue_on(struct mshv_rs_irq_work *w, unsigned int cpu)
{
	preempt_disable();
	if (cpu == smp_processor_id())
		irq_work_queue(&w->work);
	else
		/* Busy: an IPI is on its way, and the work it queues delivers everything. */
		smp_call_function_single_async(cpu, &w->csd);
	preempt_enable();
}

/*
 * Nothing queues the work any more: waits until no IPI for it is in flight. Its function may
 * still run (after the unlock, with interrupts off): an RCU grace period after this covers it.
 */
void mshv_rs_irq_work_quiesce(struct mshv_rs_irq_work *w)
{
	while (smp_load_acquire(&w->csd.node.u_flags) & CSD_FLAG_LOCK)
		cpu_relax();
}

/* After mshv_rs_irq_work_quiesce() and an RCU grace period: waits for the work, frees it. */
void mshv_rs_irq_work_free(struct mshv_rs_irq_work *w)
{
	irq_work_sync(&w->work);
	kfree(w);
}

#ifdef MSHV_SIM
/*
 * The simulator's VP runner under the hypervisor's scheduler: a work item that runs the
 * resumed VPs, on its own, as the hypervisor would on its CPUs.
 */
#include <linux/workqueue.h>

struct mshv_rs_work {
	struct work_struct work;
	void (*fn)(const void *ctx);
	const void *ctx;
};

static void mshv_rs_work_fn(struct work_struct *work)
{
	struct mshv_rs_work *w = container_of(work, struct mshv_rs_work, work);

	w->fn(w->ctx);
}

struct mshv_rs_work *mshv_rs_work_new(void (*fn)(const void *ctx), const void *ctx)
{
	struct mshv_rs_work *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	INIT_WORK(&w->work, mshv_rs_work_fn);
	w->fn = fn;
	w->ctx = ctx;
	return w;
}

void mshv_rs_work_queue(struct mshv_rs_work *w)
{
	queue_work(system_unbound_wq, &w->work);
}

/* Waits for the work (which may queue itself again) and frees it. */
void mshv_rs_work_free(struct mshv_rs_work *w)
{
	cancel_work_sync(&w->work);
	kfree(w);
}
#endif
