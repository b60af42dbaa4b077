// SPDX-License-Identifier: GPL-2.0

//! `MSHV_CREATE_VP`: a VP in the hypervisor, its state pages mapped, and its fd.

use kernel::{
    prelude::*,
    sync::ArcBorrow, //
};

use super::Partition;
use crate::{
    abi::hv::{
        vp_state_page,
        PartitionId,
        VpIndex, //
    },
    abi::uapi::{
        limits::MAX_VPS,
        CreateVp, //
    },
    glue::{
        self,
        fd, //
    },
    hvcall::Hv,
    mshv_vp::Vp,
};

/// The PFNs of a VP's state pages, by `MSHV_VP_MMAP_OFFSET_*` (the GHCB never exists here: no
/// partition is isolated).
#[derive(Clone, Copy)]
pub(crate) struct VpPages(pub(crate) [Option<u64>; 3]);

/// The state pages the driver maps for every VP.
const VP_PAGES: [u16; 2] = [vp_state_page::REGISTERS, vp_state_page::INTERCEPT_MESSAGE];

impl Partition {
    /// `MSHV_CREATE_VP`: creates a VP and returns its fd.
    pub(super) fn create_vp(this: ArcBorrow<'_, Self>, args: &CreateVp) -> Result<isize> {
        if args.vp_index >= MAX_VPS {
            return Err(EINVAL);
        }
        let idx = args.vp_index as usize;
        let mut inner = glue::lock_killable(&this.inner)?;
        if inner.vps.get(idx).is_some_and(|v| v.is_some()) {
            return Err(EEXIST);
        }
        while inner.vps.len() <= idx {
            inner.vps.push(None, GFP_KERNEL_ACCOUNT)?;
        }
        let index = VpIndex(args.vp_index);
        // No check that the partition is initialized: the hypervisor refuses, as upstream.
        this.hv.create_vp(this.id, index)?;
        let mut pages = VpPages([None; 3]);
        let made = VP_PAGES
            .iter()
            .try_for_each(|&t| {
                let pfn = this.hv.map_vp_state_page(this.id, index, t)?;
                pages.0[usize::from(t)] = Some(pfn);
                Ok(())
            })
            .and_then(|()| {
                let vp = Vp::new(this.into(), index, pages)?;
                fd::install(c"mshv_vp", &crate::mshv_vp::VP_FOPS, vp)
            });
        match made {
            Ok(fd) => {
                // Published after the fd exists: nothing can fail any more.
                inner.vps[idx] = Some(pages);
                Ok(fd as isize)
            }
            Err(e) => {
                // The hypervisor keeps a VP until it is deleted; undo what was made.
                unmap_vp_pages(&this.hv, this.id, index, &pages);
                let _ = this.hv.delete_vp(this.id, index);
                Err(e)
            }
        }
    }
}

/// Unmaps the state pages of VP `vp` that are mapped.
pub(super) fn unmap_vp_pages(hv: &Hv, id: PartitionId, vp: VpIndex, pages: &VpPages) {
    for (t, _) in pages.0.iter().enumerate().filter(|(_, p)| p.is_some()) {
        if let Err(e) = hv.unmap_vp_state_page(id, vp, t as u16) {
            pr_err!(
                "partition {id}: unmapping VP {vp}'s state page {t}: error {}\n",
                e.to_errno()
            );
        }
    }
}
