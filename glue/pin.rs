// SPDX-License-Identifier: GPL-2.0

//! Pinned user pages (`pin_user_pages_fast`, `unpin_user_pages`): guest memory pinned for the
//! hypervisor to map, and VP state buffers pinned for one call.

use kernel::{
    bindings,
    prelude::*, //
};

use super::OnKill;
use crate::abi::{
    hv::PAGES_PER_LARGE_PAGE,
    uapi::MSHV_HV_PAGE_SIZE, //
};

/// Pages pinned per `pin_user_pages_fast` call (256 MiB), bounding each step's work.
const PIN_BATCH: usize = 65536;

/// What the pinned pages are for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read only.
    Read,
    /// Written too (`FOLL_WRITE`).
    Write,
}

/// How long a pin lasts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Term {
    /// For the span of one call (VP state buffers, as upstream).
    Call,
    /// For good (guest memory): `FOLL_LONGTERM`, which migrates the pages out of movable zones
    /// first.
    Long,
}

/// Pinned user pages.
///
/// # Invariants
///
/// Every pointer in `pages` is a page pinned by `pin_user_pages_fast`, unpinned once, on drop.
pub(crate) struct Pinned {
    pages: KVVec<*mut bindings::page>,
}

// SAFETY: The pointers are references to pinned pages, usable from any thread.
unsafe impl Send for Pinned {}
// SAFETY: As above; they are only read.
unsafe impl Sync for Pinned {}

impl Pinned {
    /// Pins `npages` pages of the caller's memory from `uaddr`, for `access`, for `term`.
    pub(crate) fn new(uaddr: u64, npages: usize, access: Access, term: Term) -> Result<Self> {
        // A huge request fails with ENOMEM rather than kvmalloc's warning about its size.
        let mut pages = KVVec::with_capacity(npages, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
        let mut gup = match access {
            Access::Read => 0,
            Access::Write => bindings::FOLL_WRITE,
        };
        if term == Term::Long {
            gup |= bindings::FOLL_LONGTERM;
        }
        while pages.len() < npages {
            if !pages.is_empty() {
                if let Err(e) = OnKill::Stop.step() {
                    // INVARIANT: Only the pages pinned so far are in `pages`; drop unpins them.
                    drop(Self { pages });
                    return Err(e);
                }
            }
            let want = (npages - pages.len()).min(PIN_BATCH);
            let start = uaddr + (pages.len() * MSHV_HV_PAGE_SIZE) as u64;
            let spare = pages.spare_capacity_mut();
            // SAFETY: `spare` has room for `want` pointers; `pin_user_pages_fast` writes at most
            // that many and returns how many it wrote.
            let got = unsafe {
                bindings::pin_user_pages_fast(
                    start as usize,
                    want as i32,
                    gup,
                    spare.as_mut_ptr().cast(),
                )
            };
            if got <= 0 {
                // INVARIANT: Only the pages pinned so far are in `pages`; drop unpins them.
                drop(Self { pages });
                return Err(if got < 0 {
                    Error::from_errno(got)
                } else {
                    EFAULT
                });
            }
            // SAFETY: `pin_user_pages_fast` initialized the first `got` (<= `want`) entries.
            unsafe { pages.inc_len(got as usize) };
        }
        // INVARIANT: Every entry was pinned above.
        Ok(Self { pages })
    }

    /// The PFNs of the pages.
    pub(crate) fn pfns(&self) -> Result<KVVec<u64>> {
        let mut pfns = KVVec::with_capacity(self.pages.len(), GFP_KERNEL | __GFP_NOWARN)?;
        self.pfns_into(0..self.pages.len(), &mut pfns)?;
        Ok(pfns)
    }

    /// Appends the PFNs of pages `range` to `pfns`, which has room for them.
    pub(crate) fn pfns_into(
        &self,
        range: core::ops::Range<usize>,
        pfns: &mut KVVec<u64>,
    ) -> Result {
        let pages = self.pages.get(range).ok_or(EINVAL)?;
        // SAFETY: By the type invariant every entry is a pinned page (`struct page` and
        // `c_void` pointers are alike).
        let pages = unsafe { core::slice::from_raw_parts(pages.as_ptr().cast(), pages.len()) };
        // SAFETY: As above.
        unsafe { super::raw_pages_pfns(pages, pfns) }
    }

    /// Pages pinned.
    pub(crate) fn len(&self) -> usize {
        self.pages.len()
    }
}

impl Pinned {
    /// The head PFN of pages `i..i + 512` if they are one 2M-aligned piece of a folio of 2M or
    /// more, in order. Pointers are compared, not PFNs: a 2M-aligned page of a folio of order 9
    /// or more starts 512 pages of it, whose `struct page`s are contiguous in the memory map (a
    /// 2M block never crosses a memory section), so `pages[i] + k` is the page of PFN
    /// `head + k`.
    pub(crate) fn huge_at(&self, i: usize) -> Option<u64> {
        let run = self.pages.get(i..i + PAGES_PER_LARGE_PAGE as usize)?;
        let head = run[0];
        // SAFETY: By the type invariant `head` is a pinned page.
        let (order, pfn) = unsafe {
            (
                super::folio_order(head.cast()),
                super::raw_page_pfn(head.cast()),
            )
        };
        // No early exit: the compiler may unroll it.
        let in_order = run.iter().enumerate().fold(0, |diff, (k, &p)| {
            diff | (p as usize ^ head.wrapping_add(k) as usize)
        }) == 0;
        (order >= 9 && pfn % PAGES_PER_LARGE_PAGE == 0 && in_order).then_some(pfn)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // A batch at a time, letting others run between: a region may be many GiB.
        for batch in self.pages.chunks_mut(PIN_BATCH) {
            // SAFETY: By the type invariant every entry is a pinned page, unpinned only here.
            unsafe { bindings::unpin_user_pages(batch.as_mut_ptr(), batch.len()) };
            super::cond_resched();
        }
    }
}
