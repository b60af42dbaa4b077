// SPDX-License-Identifier: GPL-2.0

//! Movable guest memory: a region whose pages stay the process's to move or free.
//!
//! The region is mapped into the partition with no access. The guest's first touch of a page
//! raises a GPA intercept, which `MSHV_RUN_VP` resolves here without leaving the kernel: the
//! 2M-aligned chunk around the page is looked up in the process's page tables (without pinning)
//! and mapped, with one 2M page when the memory is a 2M folio. An MMU interval notifier on the
//! userspace range hears of every host-side change (munmap, `MADV_DONTNEED`, copy-on-write after
//! fork, migration) and takes the affected chunks back to no access before the pages can go.
//!
//! Locking: the chunk map's mutex is taken by the notifier, which memory reclaim may call, so
//! nothing allocates while holding it (the hypervisor's memory is deposited outside it, and
//! page lookups happen before it is taken, checked afterwards against the notifier's sequence).
//! The interval notifier's glue is `glue/region.c` and `glue/notifier.rs`; its invalidation
//! callback is [`revoke`]'s.

use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex,
        UniqueArc, //
    },
};

use crate::{
    abi::hv::{
        map_flags,
        PageSize,
        PartitionId,
        PAGES_PER_LARGE_PAGE, //
    },
    abi::uapi::MSHV_HV_PAGE_SIZE,
    glue::{
        notifier::{
            put_pages,
            Notifier, //
        },
        OnKill,
    },
    hvcall::{
        calls::{
            MapError,
            MAP_GPA_DEPOSIT, //
        },
        Hv,
        Shortage, //
    },
};

mod revoke;

/// How the hypervisor maps one 2M chunk of the region.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// With 4K no-access pages: the guest's touch faults it in.
    NoAccess,
    /// With one no-access 2M page (a revoked [`Chunk::Large`]).
    LargeNoAccess,
    /// Not at all (a revocation fell back to unmapping): the guest's touch faults it in.
    Unmapped,
    /// With 4K pages, some of them accessible.
    Small,
    /// With one accessible 2M page.
    Large,
}

impl Chunk {
    /// Whether the guest may reach host memory through the chunk.
    fn accessible(self) -> bool {
        matches!(self, Chunk::Small | Chunk::Large)
    }

    /// Whether the hypervisor maps the chunk with one 2M page.
    fn large(self) -> bool {
        matches!(self, Chunk::Large | Chunk::LargeNoAccess)
    }

    /// The size of the pages the hypervisor maps the chunk with.
    fn page_size(self) -> PageSize {
        if self.large() {
            PageSize::Large
        } else {
            PageSize::Small
        }
    }
}

/// What the chunk mutex protects.
struct ChunkMap {
    chunks: KVVec<Chunk>,
    /// The hypervisor maps none of the region any more (it was unmapped, or its partition
    /// finalized): there is nothing to fault in or take back.
    gone: bool,
    /// The partition is being finalized: a chunk that cannot be taken back meanwhile is left
    /// to the finalize, which takes them all.
    finalizing: bool,
    /// A chunk could not be taken back while `finalizing`.
    unrevoked: bool,
}

/// A movable region's state, shared with its MMU notifier.
#[pin_data]
pub(crate) struct Movable {
    hv: Arc<Hv>,
    /// The hypervisor's ID of the partition.
    pt: PartitionId,
    guest_pfn: u64,
    npages: u64,
    uaddr: u64,
    /// `HV_MAP_GPA_*` flags of accessible pages.
    map_flags: u32,
    /// 2M pages may be used (`MSHV_PT_BIT_GPA_SUPER_PAGES`).
    large: bool,
    #[pin]
    map: Mutex<ChunkMap>,
}

/// Zero PFNs: the list of a no-access mapping; a whole number of map hypercalls (509 PFNs
/// each), and more than the 512 pages of a chunk.
static ZEROS: [u64; 8 * 509] = [0; 8 * 509];

/// Chunks unmapped with one call: 128 MiB, a few hypercalls of 4K pages, one of 2M pages.
const UNMAP_RUN: usize = 64;

/// Deposits one fault may make before the intercept goes to userspace.
const FAULT_DEPOSITS: u32 = 10;

/// A movable region's memory: its state, and the notifier that keeps it coherent.
pub(crate) struct MovableMem {
    // Declared first, dropped first: the notifier is removed (waiting for a callback in
    // progress) before the state its callbacks use is freed.
    mn: Notifier,
    state: Pin<KBox<Movable>>,
}

impl MovableMem {
    /// Maps `npages` guest pages from `guest_pfn` no-access into partition `pt` and watches the
    /// caller's memory at `uaddr` that backs them. `None` when the memory cannot be watched
    /// (nothing stays mapped): the caller pins it instead.
    pub(crate) fn new(
        hv: &Arc<Hv>,
        pt: PartitionId,
        guest_pfn: u64,
        npages: u64,
        uaddr: u64,
        map_flags: u32,
        large: bool,
    ) -> Result<Option<Arc<Self>>> {
        // Allocated first: once the region is mapped nothing may fail but the hypervisor.
        let slot = UniqueArc::<Self>::new_uninit(GFP_KERNEL_ACCOUNT)?;
        let base = guest_pfn & !(PAGES_PER_LARGE_PAGE - 1);
        let nchunks = (guest_pfn + npages - base).div_ceil(PAGES_PER_LARGE_PAGE);
        let chunks = KVVec::from_elem(
            Chunk::Unmapped,
            usize::try_from(nchunks)?,
            GFP_KERNEL_ACCOUNT | __GFP_NOWARN,
        )?;
        let state = KBox::pin_init(
            pin_init!(Movable {
                hv: hv.clone(),
                pt,
                guest_pfn,
                npages,
                uaddr,
                map_flags,
                large,
                map <- new_mutex!(
                    ChunkMap {
                        chunks,
                        gone: false,
                        finalizing: false,
                        unrevoked: false,
                    },
                    "mshv_movable"
                ),
            }),
            GFP_KERNEL_ACCOUNT,
        )?;
        if let Err(e) = state.map_no_access() {
            let _ = state.unmap(OnKill::Finish);
            return Err(e);
        }
        let owner: *const Movable = &*state;
        let length = npages * MSHV_HV_PAGE_SIZE as u64;
        // SAFETY: `owner` is pinned and outlives the notifier (`MovableMem` drops the notifier
        // first), and `mshv_rs_region_invalidate` takes it for a `Movable`.
        let registered = unsafe { Notifier::register(owner.cast(), uaddr, length) };
        let notifier = match registered {
            Ok(n) => n,
            // A signal (registering the first notifier of a process takes every lock of its
            // mm, killably) or no memory: the caller's to retry, not a reason to pin the region
            // instead, as upstream does.
            Err(e) if e == EINTR || e == ENOMEM => {
                // No-access entries hold no host page: one left behind costs nothing but the
                // hypervisor's table.
                if let Err(u) = state.unmap(OnKill::Finish) {
                    pr_err!(
                        "guest pages {guest_pfn:#x}+{npages:#x}: no-access entries left mapped (error {})\n",
                        u.to_errno()
                    );
                }
                return Err(e);
            }
            Err(e) => {
                pr_info!(
                    "guest pages {guest_pfn:#x}+{npages:#x}: no MMU notifier (error {}); pinning them\n",
                    e.to_errno()
                );
                state.unmap(OnKill::Finish)?;
                return Ok(None);
            }
        };
        Ok(Some(
            slot.write(Self {
                mn: notifier,
                state,
            })
            .into(),
        ))
    }

    /// Resolves the guest's fault on `gfn` (in the region): maps the chunk around it.
    pub(crate) fn fault(&self, gfn: u64) -> Result {
        self.state.fault(&self.mn, gfn)
    }

    /// Unmaps the whole region from the hypervisor; on failure (or a kill, as `kill` says) what
    /// is left stays mapped and watched.
    pub(crate) fn unmap(&self, kill: OnKill) -> Result {
        self.state.unmap(kill)
    }

    /// The hypervisor maps none of the region any more (its partition was finalized or
    /// deleted): nothing is left to take back.
    pub(crate) fn forget_mappings(&self) {
        self.state.map.lock().gone = true;
    }

    /// The partition is about to be finalized: host changes meanwhile are left to it.
    pub(crate) fn begin_finalize(&self) {
        self.state.map.lock().finalizing = true;
    }

    /// The finalize failed: host changes are the notifier's to take back again, and what it
    /// could not take back meanwhile is reported.
    pub(crate) fn finalize_failed(&self) {
        let mut map = self.state.map.lock();
        map.finalizing = false;
        if core::mem::take(&mut map.unrevoked) {
            pr_err!(
                "partition {:#x}: guest pages from {:#x} could not be taken back during a failed finalize; the guest may reach memory the host reuses\n",
                self.state.pt,
                self.state.guest_pfn
            );
        }
    }

    /// Whether the hypervisor may still map some of the region.
    pub(crate) fn is_mapped(&self) -> bool {
        !self.state.map.lock().gone
    }
}

impl Movable {
    /// The chunk index of `gfn` and the region's pages in that chunk.
    fn chunk(&self, gfn: u64) -> (usize, u64, u64) {
        let base = self.guest_pfn & !(PAGES_PER_LARGE_PAGE - 1);
        let c = (gfn - base) / PAGES_PER_LARGE_PAGE;
        let lo = (base + c * PAGES_PER_LARGE_PAGE).max(self.guest_pfn);
        let hi = (base + (c + 1) * PAGES_PER_LARGE_PAGE).min(self.guest_pfn + self.npages);
        (c as usize, lo, hi)
    }

    /// The region's pages in chunk `c`.
    fn chunk_at(&self, c: usize) -> (u64, u64) {
        let base = self.guest_pfn & !(PAGES_PER_LARGE_PAGE - 1);
        let (_, lo, hi) = self.chunk(base + c as u64 * PAGES_PER_LARGE_PAGE);
        (lo, hi)
    }

    /// Whether chunk `c` is a whole 2M page of guest memory that may be mapped as one.
    fn whole_large(&self, c: usize) -> bool {
        let (lo, hi) = self.chunk_at(c);
        self.large && lo % PAGES_PER_LARGE_PAGE == 0 && hi - lo == PAGES_PER_LARGE_PAGE
    }

    /// Maps the region no-access (whole 2M chunks as 2M pages where the partition allows),
    /// runs of alike chunks together. No lock is held: the hypervisor may be given memory as it
    /// asks. What is mapped is recorded as it is, for [`Movable::unmap`] to undo.
    fn map_no_access(&self) -> Result {
        let n = self.map.lock().chunks.len();
        let mut c = 0;
        while c < n {
            let large = self.whole_large(c);
            let mut end = c + 1;
            while end < n && self.whole_large(end) == large {
                end += 1;
            }
            let (lo, _) = self.chunk_at(c);
            let (_, hi) = self.chunk_at(end - 1);
            let (flags, count, state) = if large {
                (
                    map_flags::NO_ACCESS | map_flags::LARGE_PAGE,
                    (end - c) as u64,
                    Chunk::LargeNoAccess,
                )
            } else {
                (map_flags::NO_ACCESS, hi - lo, Chunk::NoAccess)
            };
            let step = if large { PAGES_PER_LARGE_PAGE } else { 1 };
            let mut done = 0;
            while done < count {
                // A region may be many GiB: the task stays killable (the caller unmaps what
                // was mapped).
                if c != 0 || done != 0 {
                    OnKill::Stop.step()?;
                }
                let k = (count - done).min(ZEROS.len() as u64);
                self.hv
                    .map_gpa_pages(self.pt, lo + done * step, flags, &ZEROS[..k as usize])?;
                done += k;
                // Every chunk the call reached may be mapped now.
                let (last, _, _) = self.chunk(lo + done * step - 1);
                self.map.lock().chunks[c..=last.min(end - 1)].fill(state);
            }
            c = end;
        }
        Ok(())
    }

    fn fault(&self, mn: &Notifier, gfn: u64) -> Result {
        let writable = self.map_flags & map_flags::WRITABLE != 0;
        let cap = PAGES_PER_LARGE_PAGE as usize;
        let mut pages = KVec::with_capacity(cap, GFP_KERNEL)?;
        let mut pfns = KVec::with_capacity(cap, GFP_KERNEL)?;
        // The whole chunk first; the one page alone if part of the chunk has no memory.
        let mut one_page = false;
        let mut deposits = 0;
        // A lookup raced by an invalidation is tried again, for as long as it takes (as KVM
        // does) or until a signal.
        loop {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            let (c, lo, hi) = self.chunk(gfn);
            let (lo, hi) = if one_page { (gfn, gfn + 1) } else { (lo, hi) };
            let seq = mn.read_begin();
            let start = self.uaddr + (lo - self.guest_pfn) * MSHV_HV_PAGE_SIZE as u64;
            let got = match mn.get_pages(start, (hi - lo) as usize, writable, &mut pages) {
                Ok(got) => got,
                // The chunk's first page has no memory: try the faulting page alone.
                Err(_) if !one_page => 0,
                Err(e) => return Err(e),
            };
            if (gfn - lo) as usize >= got {
                put_pages(&mut pages);
                if one_page {
                    return Err(EFAULT);
                }
                one_page = true;
                continue;
            }
            pfns.clear();
            for &p in pages.iter() {
                // SAFETY: `p` is a page `get_pages` took a reference on.
                let pfn = unsafe { crate::glue::raw_page_pfn(p) };
                // Cannot fail: both vectors have the same capacity.
                let _ = pfns.push_within_capacity(pfn);
            }
            let large = self.large
                && !one_page
                && lo % PAGES_PER_LARGE_PAGE == 0
                && got == cap
                && pfns[0] % PAGES_PER_LARGE_PAGE == 0
                && pfns.iter().enumerate().all(|(k, &p)| p == pfns[0] + k as u64)
                // SAFETY: `pages[0]` is a page `get_pages` took a reference on.
                && unsafe { crate::glue::folio_order(pages[0]) } >= 9;
            let r = {
                let mut map = self.map.lock();
                if map.gone {
                    Err(MapError::Failed(EFAULT))
                } else if mn.read_retry(seq) {
                    // The memory changed since it was looked up: look again.
                    Err(MapError::Failed(EAGAIN))
                } else {
                    let (flags, list) = if large {
                        (self.map_flags | map_flags::LARGE_PAGE, &pfns[..1])
                    } else {
                        (self.map_flags, &pfns[..])
                    };
                    let r = self.hv.map_gpa_pages_nodeposit(self.pt, lo, flags, list);
                    map.chunks[c] = match (&r, large) {
                        (Ok(()), true) => Chunk::Large,
                        // Mapped, or failed with what was mapped undone as far as the
                        // hypervisor let it: either way the notifier must take it back.
                        _ => Chunk::Small,
                    };
                    r
                }
            };
            // The mapping is kept coherent by the notifier from here on, not by references.
            put_pages(&mut pages);
            match r {
                Ok(()) => return Ok(()),
                Err(MapError::Failed(e)) if e == EAGAIN => continue,
                Err(MapError::Short(_)) if deposits == FAULT_DEPOSITS => return Err(ENOMEM),
                Err(MapError::Short(s)) => {
                    // Outside the lock: depositing allocates.
                    let s = Shortage {
                        pages: s.pages.max(MAP_GPA_DEPOSIT),
                        ..s
                    };
                    self.hv
                        .deposit(s.partition_id, s.pages_in_round(deposits), s.contiguous)?;
                    deposits += 1;
                }
                Err(MapError::Failed(e)) => return Err(e),
            }
        }
    }

    fn unmap(&self, kill: OnKill) -> Result {
        let mut map = self.map.lock();
        if map.gone {
            return Ok(());
        }
        // Runs of alike chunks (2M or 4K), at most `UNMAP_RUN` at a time (a kill is heard
        // between them); unmapped ones are skipped.
        let n = map.chunks.len();
        let mut c = 0;
        while c < n {
            let state = map.chunks[c];
            if state == Chunk::Unmapped {
                c += 1;
                continue;
            }
            let mut end = c + 1;
            while end < n
                && end - c < UNMAP_RUN
                && map.chunks[end] != Chunk::Unmapped
                && map.chunks[end].large() == state.large()
            {
                end += 1;
            }
            let (lo, _) = self.chunk_at(c);
            let (_, hi) = self.chunk_at(end - 1);
            let count = if state.large() {
                (end - c) as u64
            } else {
                hi - lo
            };
            self.hv
                .unmap_gpa_pages(self.pt, lo, count, state.page_size())?;
            map.chunks[c..end].fill(Chunk::Unmapped);
            c = end;
            if c < n {
                kill.step()?;
            }
        }
        map.gone = true;
        Ok(())
    }
}
