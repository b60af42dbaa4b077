// SPDX-License-Identifier: GPL-2.0
/*
 * The mm side of a movable region: an MMU interval notifier on the region's
 * userspace range, and page lookups in the mm the notifier was registered
 * from. The interval notifier API (mmu_interval_read_begin/retry/set_seq,
 * mmu_notifier_range_blockable) is static inline and has no Rust abstraction;
 * what to unmap and when to retry is decided in mshv_partition/region/movable.rs, behind an
 * opaque owner. Also: what VMAs back a range (and the PFN of a device-memory
 * VMA), and whether PFNs hold RAM (mshv_partition/region.rs).
 */
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/pfn.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "glue/helpers.h"

struct mshv_rs_mn {
	struct mmu_interval_notifier mni;
	const void *owner;
};

static bool mn_invalidate(struct mmu_interval_notifier *mni,
			  const struct mmu_notifier_range *range,
			  unsigned long cur_seq)
{
	struct mshv_rs_mn *mn = container_of(mni, struct mshv_rs_mn, mni);

	return mshv_rs_region_invalidate(mn->owner, mn, range->start, range->end,
					 mmu_notifier_range_blockable(range), cur_seq);
}

static const struct mmu_interval_notifier_ops mn_ops = {
	.invalidate = mn_invalidate,
};

int mshv_rs_mn_new(const void *owner, unsigned long start, unsigned long length,
		   struct mshv_rs_mn **out)
{
	struct mshv_rs_mn *mn;
	int ret;

	if (!current->mm)
		return -EINVAL;
	mn = kzalloc(sizeof(*mn), GFP_KERNEL_ACCOUNT);
	if (!mn)
		return -ENOMEM;
	mn->owner = owner;
	ret = mmu_interval_notifier_insert(&mn->mni, current->mm, start, length, &mn_ops);
	if (ret) {
		kfree(mn);
		return ret;
	}
	*out = mn;
	return 0;
}

void mshv_rs_mn_free(struct mshv_rs_mn *mn)
{
	/* Waits for an invalidation in progress; none starts after it. */
	mmu_interval_notifier_remove(&mn->mni);
	kfree(mn);
}

unsigned long mshv_rs_mn_read_begin(struct mshv_rs_mn *mn)
{
	return mmu_interval_read_begin(&mn->mni);
}

bool mshv_rs_mn_read_retry(struct mshv_rs_mn *mn, unsigned long seq)
{
	return mmu_interval_read_retry(&mn->mni, seq);
}

void mshv_rs_mn_set_seq(struct mshv_rs_mn *mn, unsigned long seq)
{
	mmu_interval_set_seq(&mn->mni, seq);
}

long mshv_rs_mn_get_pages(struct mshv_rs_mn *mn, unsigned long start, unsigned long n,
			  bool write, struct page **pages)
{
	struct mm_struct *mm = mn->mni.mm;
	long got;

	/* The process may be exiting: its memory is gone, not ours to keep. */
	if (!mmget_not_zero(mm))
		return -EFAULT;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	got = get_user_pages_remote(mm, start, n, write ? FOLL_WRITE : 0, pages, NULL);
	mmap_read_unlock(mm);
	mmput(mm);
	return got;
}

void mshv_rs_put_pages(struct page **pages, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		put_page(pages[i]);
}

/*
 * What backs [addr, addr + size) in the caller's mm. *flags: the flags of the VMA at addr; *pfn,
 * only when the range stays inside that VMA: the PFN a VM_PFNMAP mapping gives addr;
 * *covered: VMAs cover the whole range with no hole, none after the first device memory;
 * *writable: all of them are writable. -EINVAL when no VMA is at addr, -EINTR when the task
 * is killed while waiting for the mmap lock. The walk is bounded by the process's map count.
 */
int mshv_rs_vma_span(unsigned long addr, unsigned long size, unsigned long *flags, u64 *pfn,
		     bool *covered, bool *writable)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = addr + size, next = addr;
	struct vm_area_struct *vma;
	int ret = 0;

	if (!mm)
		return -EINVAL;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, addr);
	if (!vma) {
		ret = -EINVAL;
		goto out;
	}
	*flags = vma->vm_flags;
	/*
	 * VM_PFNMAP mappings of device memory set vm_pgoff to the PFN of
	 * vm_start (remap_pfn_range, VFIO); the address's own page is that
	 * plus its offset into the VMA. Only for a range inside the VMA.
	 */
	if (size <= vma->vm_end - addr)
		*pfn = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	*covered = true;
	*writable = true;
	{
		VMA_ITERATOR(vmi, mm, addr);

		for_each_vma_range(vmi, vma, end) {
			if (vma->vm_start > next ||
			    (next != addr && (vma->vm_flags & (VM_IO | VM_PFNMAP)))) {
				*covered = false;
				break;
			}
			if (!(vma->vm_flags & VM_WRITE))
				*writable = false;
			next = vma->vm_end;
		}
	}
	if (next < end)
		*covered = false;
out:
	mmap_read_unlock(mm);
	return ret;
}

bool mshv_rs_pfns_hold_ram(u64 pfn, u64 n)
{
	u64 max = PHYS_ADDR_MAX >> PAGE_SHIFT;

	if (pfn > max || n > max - pfn)
		return true;
	return region_intersects(PFN_PHYS(pfn), n << PAGE_SHIFT, IORESOURCE_SYSTEM_RAM,
				 IORES_DESC_NONE) != REGION_DISJOINT;
}

void mshv_rs_module_get(void)
{
	__module_get(THIS_MODULE);
}
