/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel APIs that are static inline or macros, wrapped for the Rust side
 * (glue.rs). No logic lives here.
 */
#ifndef MSHV_HELPERS_H
#define MSHV_HELPERS_H

#include <linux/types.h>

struct mutex;
struct page;

unsigned long mshv_rs_local_irq_save(void);
void mshv_rs_local_irq_restore(unsigned long flags);
u64 mshv_rs_virt_to_phys(const void *addr);
void *mshv_rs_phys_to_virt(u64 pa);
bool mshv_rs_pfn_valid(u64 pfn);
bool mshv_rs_is_kdump_kernel(void);
u64 mshv_rs_page_to_pfn(struct page *page);
void mshv_rs_pages_to_pfns(struct page *const *pages, unsigned long n, u64 *pfns);
struct page *mshv_rs_pfn_to_page(u64 pfn);
void *mshv_rs_page_address(struct page *page);
void mshv_rs_touch_nmi_watchdog(void);
void mshv_rs_cond_resched(void);
bool mshv_rs_fatal_signal_pending(void);
int mshv_rs_mutex_lock_killable(struct mutex *lock);
void mshv_rs_preempt_disable(void);
void mshv_rs_preempt_enable(void);
unsigned int mshv_rs_folio_order(struct page *page);
bool mshv_rs_access_ok(unsigned long addr, unsigned long size);
bool mshv_rs_irqs_disabled(void);

/* glue/synic.c: the SynIC's CPU hotplug state, page mappings, MSRs and vector. */
int mshv_rs_cpuhp_setup(int (*online)(unsigned int), int (*offline)(unsigned int));
void mshv_rs_cpuhp_remove(int state);
void *mshv_rs_memremap_wb(u64 pa);
void mshv_rs_memunmap(void *addr);
unsigned int mshv_rs_this_cpu(void);
void mshv_rs_synchronize_rcu(void);
u64 mshv_rs_rdmsr(u32 msr);
void mshv_rs_wrmsr(u32 msr, u64 value);
void mshv_rs_set_isr(void (*isr)(void));
bool mshv_rs_vmbus_exists(void);
bool mshv_rs_recommend_aeoi(void);
u8 mshv_rs_callback_vector(void);
struct mshv_rs_irq_work;
void mshv_rs_isr_hard(void);
void mshv_rs_isr_init(void (*fn)(void));
void mshv_rs_isr_flush_this_cpu(void);
void mshv_rs_isr_sync(void);
struct mshv_rs_irq_work *mshv_rs_irq_work_new(void (*fn)(const void *ctx), const void *ctx,
					      bool hard);
void mshv_rs_irq_work_queue_on(struct mshv_rs_irq_work *w, unsigned int cpu);
void mshv_rs_irq_work_quiesce(struct mshv_rs_irq_work *w);
void mshv_rs_irq_work_free(struct mshv_rs_irq_work *w);
struct mshv_rs_work;
struct mshv_rs_work *mshv_rs_work_new(void (*fn)(const void *ctx), const void *ctx);
void mshv_rs_work_queue(struct mshv_rs_work *w);
void mshv_rs_work_free(struct mshv_rs_work *w);

/* glue/irqfd.c: an irqfd's eventfd wait entry and injection work. */
struct mshv_rs_irqfd;
struct mshv_rs_irqfd *mshv_rs_irqfd_new(int fd, const void *owner, u32 gsi);
const void *mshv_rs_irqfd_ctx(const struct mshv_rs_irqfd *irqfd);
bool mshv_rs_irqfd_hup(const struct mshv_rs_irqfd *irqfd);
void mshv_rs_irqfd_arm(struct mshv_rs_irqfd *irqfd);
void mshv_rs_irqfd_free(struct mshv_rs_irqfd *irqfd);
const void *mshv_rs_eventfd_ctx_get(int fd);
void mshv_rs_eventfd_ctx_put(const void *ctx);
void mshv_rs_eventfd_signal(const void *ctx);
/* In Rust (mshv_partition/irqfd.rs); the injection work item calls it, in process context. */
void mshv_rs_irqfd_inject(const void *owner, u32 gsi);
/* In Rust (mshv_partition/irqfd.rs); the wake callback calls it (atomic context) when the eventfd hangs up. */
void mshv_rs_irqfd_hangup(const void *owner);

/* glue/region.c: a movable region's interval notifier; MMIO VMAs. */
struct mshv_rs_mn;
int mshv_rs_mn_new(const void *owner, unsigned long start, unsigned long length,
		   struct mshv_rs_mn **out);
void mshv_rs_mn_free(struct mshv_rs_mn *mn);
unsigned long mshv_rs_mn_read_begin(struct mshv_rs_mn *mn);
bool mshv_rs_mn_read_retry(struct mshv_rs_mn *mn, unsigned long seq);
void mshv_rs_mn_set_seq(struct mshv_rs_mn *mn, unsigned long seq);
long mshv_rs_mn_get_pages(struct mshv_rs_mn *mn, unsigned long start, unsigned long n,
			  bool write, struct page **pages);
void mshv_rs_put_pages(struct page **pages, unsigned long n);
int mshv_rs_vma_span(unsigned long addr, unsigned long size, unsigned long *flags, u64 *pfn,
		     bool *covered, bool *writable);
bool mshv_rs_pfns_hold_ram(u64 pfn, u64 n);
void mshv_rs_module_get(void);
/* In Rust (mshv_partition/region/movable.rs); the notifier's invalidate callback calls it. */
bool mshv_rs_region_invalidate(const void *owner, struct mshv_rs_mn *mn, unsigned long start,
			       unsigned long end, bool blockable, unsigned long seq);

#endif /* MSHV_HELPERS_H */
