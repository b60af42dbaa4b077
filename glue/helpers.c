// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel APIs that are static inline or macros, wrapped for the Rust side
 * (glue.rs). No logic lives here.
 */
#include <linux/crash_dump.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/mmap_lock.h>
#include <linux/nmi.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <asm/io.h>

#include "glue/helpers.h"

unsigned long mshv_rs_local_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void mshv_rs_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

u64 mshv_rs_virt_to_phys(const void *addr)
{
	return virt_to_phys((void *)addr);
}

void *mshv_rs_phys_to_virt(u64 pa)
{
	return phys_to_virt(pa);
}

bool mshv_rs_is_kdump_kernel(void)
{
	return is_kdump_kernel();
}

bool mshv_rs_pfn_valid(u64 pfn)
{
	return pfn_valid(pfn);
}

u64 mshv_rs_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

void mshv_rs_pages_to_pfns(struct page *const *pages, unsigned long n, u64 *pfns)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		pfns[i] = page_to_pfn(pages[i]);
}

struct page *mshv_rs_pfn_to_page(u64 pfn)
{
	return pfn_to_page(pfn);
}

void *mshv_rs_page_address(struct page *page)
{
	return page_address(page);
}

void mshv_rs_touch_nmi_watchdog(void)
{
	touch_nmi_watchdog();
}

bool mshv_rs_irqs_disabled(void)
{
	return irqs_disabled();
}

void mshv_rs_cond_resched(void)
{
	cond_resched();
}

bool mshv_rs_access_ok(unsigned long addr, unsigned long size)
{
	return access_ok((void __user *)addr, size);
}

unsigned int mshv_rs_folio_order(struct page *page)
{
	return folio_order(page_folio(page));
}

void mshv_rs_preempt_disable(void)
{
	preempt_disable();
}

void mshv_rs_preempt_enable(void)
{
	preempt_enable();
}

bool mshv_rs_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

int mshv_rs_mutex_lock_killable(struct mutex *lock)
{
	return mutex_lock_killable(lock);
}
