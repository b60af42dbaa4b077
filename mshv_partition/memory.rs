// SPDX-License-Identifier: GPL-2.0

//! `MSHV_SET_GUEST_MEMORY` (map and unmap a region), the partition's table of regions, and the
//! faults on movable memory the run loop hands over.

use kernel::prelude::*;

use super::{
    region::{
        Region,
        Target as RegionTarget, //
    },
    Inner,
    Partition, //
};
use crate::{
    abi::hv::message::AccessType,
    abi::uapi::{
        self as uapi,
        limits::MAX_REGIONS,
        UserMemRegion, //
    },
    glue::{
        self,
        OnKill, //
    },
};

impl Partition {
    /// `MSHV_SET_GUEST_MEMORY`: maps or unmaps a region.
    pub(super) fn set_guest_memory(&self, req: &UserMemRegion) -> Result {
        if req.flags & !uapi::mem::FLAGS_MASK != 0 || req.rsvd != [0; 7] {
            return Err(EINVAL);
        }
        if req.flags & uapi::mem::UNMAP != 0 {
            // The size and alignment are checked; a region past the GPA space is not found.
            Region::check_alignment(req)?;
            return self.unmap(req);
        }
        let npages = Region::check_shape(req)?;
        // As upstream: no VMA at the address is `EINVAL`, before the overlap (`EEXIST`).
        let span = glue::vma_span(
            usize::try_from(req.userspace_addr)?,
            usize::try_from(req.size)?,
        )?;
        let mut inner = glue::lock_killable(&self.inner)?;
        if inner.overlaps(req.guest_pfn, npages) {
            return Err(EEXIST);
        }
        if inner.regions.len() >= MAX_REGIONS as usize {
            kernel::pr_info_once!(
                "a partition has {} memory regions, its limit (MSHV_CAP_NR_MEM_REGIONS): ENOSPC\n",
                MAX_REGIONS
            );
            return Err(ENOSPC);
        }
        inner.regions.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let target = RegionTarget {
            hv: &self.hv,
            pt: self.id,
            large: self.super_pages,
        };
        let region = Region::create(req, &span, &target)?;
        // Sorted by guest page. Cannot fail: room was reserved above.
        let at = inner
            .regions
            .partition_point(|r| r.guest_pfn < req.guest_pfn);
        inner
            .regions
            .insert_within_capacity(at, region)
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// Resolves the guest's fault on `gfn` (a GPA intercept for an access of type `access`) in
    /// the kernel, if it is movable memory's to resolve; `false` sends it to userspace.
    /// `EINTR` when a signal came first (the guest retries the access on the next run).
    pub(crate) fn handle_gpa_fault(&self, gfn: u64, access: AccessType) -> Result<bool> {
        let target = {
            let inner = glue::lock_killable(&self.inner)?;
            match inner.region_of(gfn) {
                Some(i) => inner.regions[i].fault_target(access),
                None => Err(EFAULT),
            }
        };
        let Ok(m) = target else {
            return Ok(false);
        };
        // Without the partition's lock: the lookup may wait for I/O, and other VPs fault too.
        // A region unmapped meanwhile refuses the fault.
        match m.fault(gfn) {
            Ok(()) => Ok(true),
            Err(e) if e == EINTR => Err(EINTR),
            Err(_) => Ok(false),
        }
    }

    /// Unmaps the region `req` names exactly.
    fn unmap(&self, req: &UserMemRegion) -> Result {
        let mut inner = glue::lock_killable(&self.inner)?;
        let i = inner.region_of(req.guest_pfn).ok_or(ENOENT)?;
        let r = &mut inner.regions[i];
        if r.uaddr != req.userspace_addr
            || r.npages * uapi::MSHV_HV_PAGE_SIZE as u64 != req.size
            || r.guest_pfn != req.guest_pfn
        {
            return Err(EINVAL);
        }
        r.unmap(&self.hv, self.id, OnKill::Stop)?;
        // The hypervisor no longer maps the pages: unpin them (or stop watching them).
        drop(inner.regions.remove(i)?);
        Ok(())
    }
}

impl Inner {
    /// The index of the region that holds guest page `gfn`: a binary search, the regions being
    /// sorted by their first page and never overlapping.
    pub(super) fn region_of(&self, gfn: u64) -> Option<usize> {
        let i = self.regions.partition_point(|r| r.guest_pfn <= gfn);
        i.checked_sub(1).filter(|&i| self.regions[i].contains(gfn))
    }

    /// Whether some region overlaps guest pages `[gfn, gfn + n)`: only the last region that
    /// starts below the range's end can.
    pub(super) fn overlaps(&self, gfn: u64, n: u64) -> bool {
        let i = self
            .regions
            .partition_point(|r| r.guest_pfn < gfn.saturating_add(n));
        i.checked_sub(1)
            .is_some_and(|i| self.regions[i].overlaps(gfn, n))
    }
}
