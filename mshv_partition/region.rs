// SPDX-License-Identifier: GPL-2.0

//! Guest memory regions: userspace memory mapped at a guest physical address, pinned, movable
//! ([`movable`]) or device memory.

use kernel::{
    mm::virt::flags as vm,
    prelude::*,
    sync::Arc, //
};

use crate::{
    abi::hv::{
        map_flags,
        message::AccessType,
        PageSize,
        PartitionId,
        PAGES_PER_LARGE_PAGE, //
    },
    abi::uapi::{
        mem,
        UserMemRegion,
        MSHV_HV_PAGE_SIZE, //
    },
    glue::{
        pin::{
            self,
            Pinned,
            Term, //
        },
        OnKill,
        VmaSpan, //
    },
    hvcall::Hv,
    mshv_partition::region::movable::MovableMem,
};

pub(crate) mod movable;

/// The guest physical address space in pages (52 address bits).
pub(crate) const GFN_LIMIT: u64 = 1 << 40;
/// PFNs mapped in one go: eight map hypercalls of 509, more than a 2M page's 512.
const RUN_MAX: usize = 8 * 509;

/// What backs a region.
enum Backing {
    /// Pinned pages, mapped when the region is made.
    Pinned(Pinned),
    /// The process's pages, faulted in by the guest's touch and given back on host changes.
    /// Shared with a VP resolving a fault, which must not hold the partition's lock meanwhile.
    Movable(Arc<MovableMem>),
    /// Device memory (a `VM_IO | VM_PFNMAP` mapping) from this PFN on, mapped uncached.
    Mmio(u64),
}

/// A region of guest memory.
pub(crate) struct Region {
    /// First guest page.
    pub(crate) guest_pfn: u64,
    /// Pages.
    pub(crate) npages: u64,
    /// Userspace address it came from.
    pub(crate) uaddr: u64,
    /// `HV_MAP_GPA_*` flags it is mapped with.
    pub(crate) map_flags: u32,
    backing: Backing,
    /// How a pinned or MMIO region is mapped, once it is: runs of (first page, pages, mapped
    /// with 2M pages).
    runs: KVec<Run>,
}

/// What `MSHV_SET_GUEST_MEMORY` maps: where the partition is and how it may be mapped.
pub(crate) struct Target<'a> {
    pub(crate) hv: &'a Arc<Hv>,
    /// The hypervisor's ID of the partition.
    pub(crate) pt: PartitionId,
    /// 2M pages may be used (`MSHV_PT_BIT_GPA_SUPER_PAGES`).
    pub(crate) large: bool,
}

impl Region {
    /// Checks the size and the alignment of a map or unmap request.
    pub(crate) fn check_alignment(req: &UserMemRegion) -> Result {
        let page = MSHV_HV_PAGE_SIZE as u64;
        if req.size == 0 || req.size % page != 0 || req.userspace_addr % page != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Checks a map request's size, alignment and ranges; returns its page count.
    pub(crate) fn check_shape(req: &UserMemRegion) -> Result<u64> {
        Self::check_alignment(req)?;
        let npages = req.size / MSHV_HV_PAGE_SIZE as u64;
        // As upstream: the range must be userspace memory.
        let (addr, size) = (
            usize::try_from(req.userspace_addr),
            usize::try_from(req.size),
        );
        if !matches!((addr, size), (Ok(a), Ok(s)) if crate::glue::access_ok(a, s)) {
            return Err(EINVAL);
        }
        // Upstream checks neither; a region past the GPA space or wrapping around is refused.
        if req
            .guest_pfn
            .checked_add(npages)
            .is_none_or(|end| end > GFN_LIMIT)
            || req.userspace_addr.checked_add(req.size).is_none()
        {
            return Err(EINVAL);
        }
        Ok(npages)
    }

    /// Makes the region `req` asks for and maps it into partition `t.pt`, `span` being what
    /// backs its userspace range: device memory when the address is in a `VM_IO | VM_PFNMAP`
    /// mapping, else pinned memory when `MSHV_SET_MEM_BIT_PINNED` asks for it (upstream pins
    /// isolated partitions' memory; no isolation type exists here), else movable memory. A
    /// range with a hole (memory nothing backs) is `EFAULT`, before any work. On failure
    /// nothing of it stays mapped (or what does stays pinned for good, see [`Region::leak`]).
    pub(crate) fn create(req: &UserMemRegion, span: &VmaSpan, t: &Target<'_>) -> Result<Self> {
        let npages = Self::check_shape(req)?;
        let (vm_flags, io_pfn) = (span.flags, span.io_pfn);
        let writable = req.flags & mem::WRITABLE != 0;
        let mut map_flags = map_flags::READABLE | map_flags::ADJUSTABLE;
        if writable {
            map_flags |= map_flags::WRITABLE;
        }
        if req.flags & mem::EXECUTABLE != 0 {
            map_flags |= map_flags::EXECUTABLE;
        }
        let pin_access = if writable {
            pin::Access::Write
        } else {
            pin::Access::Read
        };
        let backing = if vm_flags & (vm::IO | vm::PFNMAP) != 0 {
            // Device memory: only `VM_PFNMAP` says what `vm_pgoff` means, and RAM is never
            // mapped as a device (upstream refuses it too).
            let io_pfn = io_pfn.ok_or(EINVAL)?;
            if vm_flags & vm::PFNMAP == 0 || crate::glue::pfns_hold_ram(io_pfn, npages) {
                return Err(EINVAL);
            }
            // As upstream: readable and writable whatever was asked, uncached.
            map_flags = map_flags::READABLE | map_flags::WRITABLE | map_flags::NOT_CACHED;
            Backing::Mmio(io_pfn)
        } else if !span.covered {
            // Upstream fails only where its page array cannot be allocated (ENOMEM), and
            // otherwise maps a movable region of nothing, page by page.
            return Err(EFAULT);
        } else if req.flags & mem::PINNED != 0 {
            let n = usize::try_from(npages).map_err(|_| EINVAL)?;
            Backing::Pinned(Pinned::new(req.userspace_addr, n, pin_access, Term::Long)?)
        } else {
            // Pinning would fail there: say so now, not at the guest's first write.
            if writable && !span.writable {
                return Err(EFAULT);
            }
            let m = MovableMem::new(
                t.hv,
                t.pt,
                req.guest_pfn,
                npages,
                req.userspace_addr,
                map_flags,
                t.large,
            )?;
            match m {
                Some(m) => Backing::Movable(m),
                // As upstream: a region that cannot be watched is pinned.
                None => {
                    let n = usize::try_from(npages).map_err(|_| EINVAL)?;
                    Backing::Pinned(Pinned::new(req.userspace_addr, n, pin_access, Term::Long)?)
                }
            }
        };
        let mut region = Self {
            guest_pfn: req.guest_pfn,
            npages,
            uaddr: req.userspace_addr,
            map_flags,
            backing,
            runs: KVec::new(),
        };
        if let Err(e) = region.map(t.hv, t.pt, t.large) {
            if region.is_mapped() {
                // The hypervisor may still map some of the pages: never unpin them.
                region.leak();
            }
            return Err(e);
        }
        Ok(region)
    }

    /// Maps a pinned or MMIO region into partition `pt`: 2M pages where `large` allows them
    /// and the backing is a 2M folio at a 2M-aligned guest address, 4K pages elsewhere. All or
    /// nothing. (A movable region is mapped, no-access, when it is made.)
    fn map(&mut self, hv: &Hv, pt: PartitionId, large: bool) -> Result {
        match &self.backing {
            Backing::Pinned(p) => map_pinned(
                &mut self.runs,
                p,
                hv,
                pt,
                (self.guest_pfn, self.map_flags),
                large,
            ),
            Backing::Movable(_) => Ok(()),
            Backing::Mmio(pfn) => {
                let pfn = *pfn;
                self.map_mmio(hv, pt, pfn)
            }
        }
    }

    /// Maps device memory from `pfn` on: a batch of PFNs at a time, one run of 4K pages.
    fn map_mmio(&mut self, hv: &Hv, pt: PartitionId, pfn: u64) -> Result {
        self.runs.reserve(1, GFP_KERNEL_ACCOUNT)?;
        // PFNs a batch at a time: a device's range may be large.
        let mut batch = KVec::with_capacity(4096, GFP_KERNEL)?;
        let mut done = 0;
        while done < self.npages {
            let step = if done == 0 {
                Ok(())
            } else {
                OnKill::Stop.step()
            };
            let n = (self.npages - done).min(4096);
            batch.clear();
            for k in 0..n {
                // Cannot fail: there is room for 4096.
                let _ = batch.push_within_capacity(pfn + done + k);
            }
            let gfn = self.guest_pfn + done;
            let mapped = step.and_then(|()| hv.map_gpa_pages(pt, gfn, self.map_flags, &batch));
            if let Err(e) = mapped {
                let run = Run {
                    first: 0,
                    pages: done,
                    size: PageSize::Small,
                };
                if done != 0
                    && hv
                        .unmap_gpa_pages(pt, self.guest_pfn, done, run.size)
                        .is_err()
                {
                    // Still mapped: recorded, so the caller keeps the region.
                    self.runs.push(run, GFP_KERNEL_ACCOUNT)?;
                }
                return Err(e);
            }
            done += n;
        }
        // Cannot fail: room was reserved above.
        let run = Run {
            first: 0,
            pages: self.npages,
            size: PageSize::Small,
        };
        self.runs.push(run, GFP_KERNEL_ACCOUNT)?;
        Ok(())
    }

    /// Whether some of the region may still be mapped in the hypervisor.
    pub(crate) fn is_mapped(&self) -> bool {
        match &self.backing {
            Backing::Movable(m) => m.is_mapped(),
            _ => !self.runs.is_empty(),
        }
    }

    /// Gives up the region without unpinning its pages (or, for movable memory, without
    /// removing the notifier that takes them back), which the hypervisor may still map: a
    /// leak, but never guest access to freed memory.
    pub(crate) fn leak(self) {
        pr_err!(
            "region at guest page {:#x}: {} pages stay pinned (or watched)\n",
            self.guest_pfn,
            self.npages
        );
        if let Backing::Movable(_) = self.backing {
            // The notifier stays registered, and its callbacks are this module's code.
            crate::glue::module_get();
        }
        core::mem::forget(self);
    }

    /// Unmaps the region from partition `pt`. On failure (or, with [`OnKill::Stop`], when the
    /// task is killed) what is not unmapped stays, for a later unmap or the teardown.
    pub(crate) fn unmap(&mut self, hv: &Hv, pt: PartitionId, kill: OnKill) -> Result {
        if let Backing::Movable(m) = &self.backing {
            return m.unmap(kill);
        }
        unmap_runs(&mut self.runs, hv, pt, self.guest_pfn, kill)
    }

    /// The partition is about to be finalized (see [`MovableMem::begin_finalize`]).
    pub(crate) fn begin_finalize(&self) {
        if let Backing::Movable(m) = &self.backing {
            m.begin_finalize();
        }
    }

    /// The finalize failed (see [`MovableMem::finalize_failed`]).
    pub(crate) fn finalize_failed(&self) {
        if let Backing::Movable(m) = &self.backing {
            m.finalize_failed();
        }
    }

    /// The partition was finalized, which unmapped every GPA.
    pub(crate) fn forget_mappings(&mut self) {
        match &self.backing {
            Backing::Movable(m) => m.forget_mappings(),
            _ => self.runs.clear(),
        }
    }

    /// The memory that resolves a guest fault in the region for an access of type `access`: only movable memory faults in, and only for an access its
    /// flags allow.
    pub(crate) fn fault_target(&self, access: AccessType) -> Result<Arc<MovableMem>> {
        let Backing::Movable(m) = &self.backing else {
            return Err(EFAULT);
        };
        let need = match access {
            AccessType::Read => map_flags::READABLE,
            AccessType::Write => map_flags::WRITABLE,
            AccessType::Execute => map_flags::KERNEL_EXECUTABLE,
        };
        if self.map_flags & need == 0 {
            return Err(EACCES);
        }
        Ok(m.clone())
    }

    /// Whether the region overlaps guest pages `[gfn, gfn + n)`.
    pub(crate) fn overlaps(&self, gfn: u64, n: u64) -> bool {
        gfn < self.guest_pfn + self.npages && self.guest_pfn < gfn + n
    }

    /// Whether the region contains guest page `gfn`.
    pub(crate) fn contains(&self, gfn: u64) -> bool {
        self.overlaps(gfn, 1)
    }
}
/// A run of a region's guest pages mapped alike, with one batch of map hypercalls.
#[derive(Clone, Copy)]
struct Run {
    /// The run's first page, from the region's first.
    first: u64,
    /// 4K pages in the run.
    pages: u64,
    size: PageSize,
}

impl Run {
    /// The pages of the run's size (the unmap hypercall's count).
    fn units(self) -> u64 {
        self.pages / self.size.small_pages()
    }
}

/// Maps pinned pages: a 2M guest page at a time, gathered into runs of alike pages (2M or 4K)
/// of at most a few hypercalls each, with no PFN array for the whole region. `base` is the
/// region's first guest page and map flags; what is mapped is recorded in `runs`, and on an
/// error everything mapped so far is unmapped again.
fn map_pinned(
    runs: &mut KVec<Run>,
    pinned: &Pinned,
    hv: &Hv,
    pt: PartitionId,
    base: (u64, u32),
    large: bool,
) -> Result {
    let n = pinned.len();
    let mut run = KVVec::with_capacity(RUN_MAX, GFP_KERNEL)?;
    let (mut run_start, mut run_large) = (0, false);
    let mut flush = |run: &mut KVVec<u64>, start: usize, large_run: bool| -> Result {
        let size = if large_run {
            PageSize::Large
        } else {
            PageSize::Small
        };
        let r = Run {
            first: start as u64,
            pages: run.len() as u64 * size.small_pages(),
            size,
        };
        let mapped = map_run(runs, hv, pt, base, r, run);
        run.clear();
        if mapped.is_err() {
            let _ = unmap_runs(runs, hv, pt, base.0, OnKill::Finish);
        }
        mapped
    };
    let mut i = 0;
    while i < n {
        if i != 0 {
            if let Err(e) = OnKill::Stop.step() {
                let _ = unmap_runs(runs, hv, pt, base.0, OnKill::Finish);
                return Err(e);
            }
        }
        let g = base.0 + i as u64;
        let w = ((PAGES_PER_LARGE_PAGE - g % PAGES_PER_LARGE_PAGE) as usize).min(n - i);
        let huge = if large && g % PAGES_PER_LARGE_PAGE == 0 {
            pinned.huge_at(i)
        } else {
            None
        };
        if let Some(head) = huge {
            if !run.is_empty() && (!run_large || run.len() == RUN_MAX) {
                flush(&mut run, run_start, run_large)?;
            }
            if run.is_empty() {
                (run_start, run_large) = (i, true);
            }
            // Cannot fail: the run has room (flushed when full).
            let _ = run.push_within_capacity(head);
        } else {
            if run_large && !run.is_empty() {
                flush(&mut run, run_start, run_large)?;
            }
            // 4K pages fill runs exactly: whole hypercalls of 509. Their PFNs go straight
            // into the run.
            let mut k = 0;
            while k < w {
                if run.is_empty() {
                    (run_start, run_large) = (i + k, false);
                }
                let take = (w - k).min(RUN_MAX - run.len());
                // Allocates nothing: the run has room for `take` more.
                if let Err(e) = pinned.pfns_into(i + k..i + k + take, &mut run) {
                    let _ = unmap_runs(runs, hv, pt, base.0, OnKill::Finish);
                    return Err(e);
                }
                k += take;
                if run.len() == RUN_MAX {
                    flush(&mut run, run_start, run_large)?;
                }
            }
        }
        i += w;
    }
    if !run.is_empty() {
        flush(&mut run, run_start, run_large)?;
    }
    Ok(())
}

/// Maps `run` of a region at guest page `base.0` with flags `base.1`
/// from `pfns` (heads of 2M pages for a 2M run), and records it in `runs`; on failure nothing
/// of it stays mapped.
fn map_run(
    runs: &mut KVec<Run>,
    hv: &Hv,
    pt: PartitionId,
    base: (u64, u32),
    run: Run,
    pfns: &[u64],
) -> Result {
    runs.reserve(1, GFP_KERNEL_ACCOUNT)?;
    let flags = match run.size {
        PageSize::Large => base.1 | map_flags::LARGE_PAGE,
        PageSize::Small => base.1,
    };
    hv.map_gpa_pages(pt, base.0 + run.first, flags, pfns)?;
    // Cannot fail: room was reserved above.
    runs.push(run, GFP_KERNEL_ACCOUNT)?;
    Ok(())
}

/// Unmaps the recorded `runs` of a region at guest page `base`, last first. On failure (or a
/// kill, as `kill` says) the runs not unmapped stay recorded.
fn unmap_runs(runs: &mut KVec<Run>, hv: &Hv, pt: PartitionId, base: u64, kill: OnKill) -> Result {
    while let Some(&run) = runs.last() {
        hv.unmap_gpa_pages(pt, base + run.first, run.units(), run.size)?;
        runs.pop();
        if !runs.is_empty() {
            kill.step()?;
        }
    }
    Ok(())
}
