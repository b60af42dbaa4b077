// SPDX-License-Identifier: GPL-2.0

//! Taking movable memory back from the guest: the MMU notifier's invalidation callback, and
//! revoking a chunk (to no access, or unmapped when that fails) without allocating.

use kernel::{
    ffi::{
        c_ulong,
        c_void, //
    },
    prelude::*,
};

use super::{
    Chunk,
    Movable,
    ZEROS, //
};
use crate::{
    abi::{
        hv::map_flags,
        uapi::MSHV_HV_PAGE_SIZE, //
    },
    glue::notifier,
};

impl Movable {
    /// The MMU notifier: the process's memory at `[start, end)` is about to change. Takes the
    /// chunks it backs back from the guest. Without `blockable`, gives up (`false`) rather
    /// than wait for the lock.
    pub(super) fn invalidate(
        &self,
        mn: *mut c_void,
        start: u64,
        end: u64,
        blockable: bool,
        seq: c_ulong,
    ) -> bool {
        let mut map = if blockable {
            self.map.lock()
        } else {
            match self.map.try_lock() {
                Some(g) => g,
                None => return false,
            }
        };
        // SAFETY: The C side passes its registered notifier; the lock orders this with the
        // fault path's `read_retry`.
        unsafe { notifier::set_seq(mn, seq) };
        let size = self.npages * MSHV_HV_PAGE_SIZE as u64;
        let (start, end) = (start.max(self.uaddr), end.min(self.uaddr + size));
        if map.gone || start >= end {
            return true;
        }
        let page = MSHV_HV_PAGE_SIZE as u64;
        let first = self.guest_pfn + (start - self.uaddr) / page;
        let last = self.guest_pfn + (end - self.uaddr).div_ceil(page) - 1;
        let (c0, _, _) = self.chunk(first);
        let (c1, _, _) = self.chunk(last);
        for c in c0..=c1 {
            let state = map.chunks[c];
            if !state.accessible() {
                continue;
            }
            match self.revoke(c, state) {
                Ok(revoked) => map.chunks[c] = revoked,
                // The partition is being finalized, which takes every page back: the teardown
                // reports it if the finalize fails after all.
                Err(_) if map.finalizing => map.unrevoked = true,
                Err(e) => {
                    let (lo, hi) = self.chunk_at(c);
                    pr_err!(
                        "partition {:#x}: guest pages {lo:#x}..{hi:#x} could not be taken back (error {}); the guest may reach memory the host reuses\n",
                        self.pt,
                        e.to_errno()
                    );
                }
            }
        }
        true
    }

    /// Takes chunk `c` back from the guest: to no access, or unmapped if that fails (the
    /// guest's next touch faults either way). Returns the chunk's new state, or the unmap's
    /// error if both fail (the chunk keeps its state, so the next invalidation tries again).
    /// Never allocates.
    fn revoke(&self, c: usize, state: Chunk) -> Result<Chunk> {
        let (lo, hi) = self.chunk_at(c);
        let large = state.large();
        let (flags, n, revoked) = if large {
            (
                map_flags::NO_ACCESS | map_flags::LARGE_PAGE,
                1,
                Chunk::LargeNoAccess,
            )
        } else {
            (map_flags::NO_ACCESS, (hi - lo) as usize, Chunk::NoAccess)
        };
        let hv = &self.hv;
        if hv
            .map_gpa_pages_nodeposit(self.pt, lo, flags, &ZEROS[..n])
            .is_ok()
        {
            return Ok(revoked);
        }
        // At most one chunk (512 pages, one batch): the unmap does not yield, as an invalidation
        // that may not block requires.
        hv.unmap_gpa_pages(self.pt, lo, n as u64, state.page_size())?;
        Ok(Chunk::Unmapped)
    }
}

/// Called by a movable region's MMU notifier before the process's memory at `[start, end)`
/// changes.
///
/// # Safety
///
/// `owner` is the [`Movable`] the notifier `mn` was registered for, and `mn` is not yet
/// removed.
#[no_mangle]
pub(crate) unsafe extern "C" fn mshv_rs_region_invalidate(
    owner: *const c_void,
    mn: *mut c_void,
    start: c_ulong,
    end: c_ulong,
    blockable: bool,
    seq: c_ulong,
) -> bool {
    // SAFETY: By the safety requirements `owner` is a live `Movable`: `MovableMem` removes the
    // notifier (which waits for this callback) before freeing it.
    let m = unsafe { &*owner.cast::<Movable>() };
    m.invalidate(mn, start as u64, end as u64, blockable, seq)
}
