// SPDX-License-Identifier: GPL-2.0

//! Tearing a partition down: state pages, finalize, guest memory, deposits, delete, each step
//! retried, and whatever the hypervisor may still map left pinned rather than freed.

use kernel::prelude::*;

use super::{
    vps::unmap_vp_pages,
    Inner, //
};
use crate::{
    abi::hv::{
        PartitionId,
        VpIndex, //
    },
    glue,
    hvcall::Hv, //
};

/// Tries a teardown step up to three times: a transient failure must not leave the partition
/// (and its memory) behind in the hypervisor. Upstream tries once.
fn teardown_step(id: PartitionId, what: &str, mut op: impl FnMut() -> Result) {
    for attempt in 1..=3 {
        match op() {
            Ok(()) => return,
            Err(e) => pr_err!(
                "partition {id}: {what} (attempt {attempt} of 3): error {}\n",
                e.to_errno()
            ),
        }
    }
}

/// Tears partition `id` down: state pages, finalize, guest memory, deposits, delete.
pub(super) fn teardown(hv: &Hv, id: PartitionId, inner: &mut Inner) {
    for (idx, vp) in inner.vps.iter().enumerate() {
        if let Some(pages) = vp {
            unmap_vp_pages(hv, id, VpIndex(idx as u32), pages);
        }
    }
    // From here host changes to movable memory are the finalize's to take back: a chunk the
    // notifier cannot take back from a partition being finalized is no cause for alarm yet.
    for r in inner.regions.iter() {
        r.begin_finalize();
    }
    let mut finalized = false;
    teardown_step(id, "finalize", || {
        hv.finalize_partition(id)?;
        finalized = true;
        Ok(())
    });
    if finalized {
        // Finalize unmapped every GPA: the pages can be unpinned.
        forget_regions(inner);
    } else {
        for r in inner.regions.iter() {
            r.finalize_failed();
        }
    }
    teardown_step(id, "withdrawing its memory", || {
        hv.withdraw_all(id).map(|_| ())
    });
    let mut deleted = false;
    teardown_step(id, "delete", || {
        hv.delete_partition(id)?;
        deleted = true;
        Ok(())
    });
    if deleted {
        // Whatever finalize left mapped went with the partition.
        forget_regions(inner);
    } else {
        // The hypervisor may still map them: leave them pinned (or watched) for good.
        for r in inner.regions.drain_all() {
            r.leak();
        }
    }
}

/// Frees the regions of a partition the hypervisor maps nothing of any more.
fn forget_regions(inner: &mut Inner) {
    for r in inner.regions.iter_mut() {
        r.forget_mappings();
    }
    // One at a time: unpinning a region may take long.
    while let Some(r) = inner.regions.pop() {
        drop(r);
        glue::cond_resched();
    }
}
