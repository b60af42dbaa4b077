// SPDX-License-Identifier: GPL-2.0

//! `MSHV_IRQFD` and what irqfds do for the partition: assign and deassign, inject the MSI a
//! signalled irqfd's GSI is routed to, and signal the resamplefds of a level-triggered
//! interrupt's EOI. The eventfd side is C-API glue ([`crate::glue::irqfd`]); its two callbacks
//! into the partition are here.

use core::sync::atomic::Ordering;

use kernel::{
    ffi::c_void,
    prelude::*, //
};

use super::Partition;
use crate::{
    abi::hv::{
        interrupt,
        VpIndex, //
    },
    abi::uapi::{
        self as uapi,
        limits::MAX_IRQFDS, //
    },
    glue::{
        self,
        irqfd::{
            EventfdCtx,
            Irqfd, //
        },
    },
};

impl Partition {
    /// `MSHV_IRQFD`: assigns or deassigns an irqfd.
    pub(super) fn irqfd(&self, a: &uapi::UserIrqfd) -> Result {
        if a.flags & !uapi::irqfd::FLAGS_MASK != 0 {
            return Err(EINVAL);
        }
        if a.flags & uapi::irqfd::DEASSIGN != 0 {
            // As upstream: every irqfd of this eventfd and GSI goes; none is not an error.
            let ctx = EventfdCtx::get(a.fd)?;
            let mut inner = glue::lock_killable(&self.inner)?;
            // Dropping an irqfd waits for an injection in flight (which does not take this
            // lock): once this returns, the eventfd raises nothing.
            inner.irqfds.retain(|i| !(ctx.is_of(i) && i.gsi() == a.gsi));
            return Ok(());
        }
        // Upstream's order: the eventfd, then the resamplefd, then whether the eventfd is in
        // use, then whether the GSI is level-triggered.
        let owner: *const Self = self;
        // SAFETY: The partition drops its irqfds first thing in its `PinnedDrop`, and the
        // callbacks below take the owner for a `Partition`.
        let mut irqfd = unsafe { Irqfd::new(a.fd, owner.cast(), a.gsi)? };
        if a.flags & uapi::irqfd::RESAMPLE != 0 {
            irqfd.set_resample(EventfdCtx::get(a.resamplefd)?);
        }
        let mut inner = glue::lock_killable(&self.inner)?;
        // Irqfds whose eventfd is closed can never fire again: free them now (looked for only
        // when one hung up).
        // Acquire: the irqfd's own hung-up flag, set before the partition's, is seen.
        if self.irqfd_hangup.swap(false, Ordering::AcqRel) {
            inner.irqfds.retain(|i| !i.hung_up());
        }
        if inner.irqfds.iter().any(|i| i.ctx() == irqfd.ctx()) {
            return Err(EBUSY);
        }
        // As upstream: resampling is for a level-triggered interrupt, routed as one now.
        if irqfd.resamplefd().is_some() {
            let route = self.routing.lock().as_ref().and_then(|r| r.lookup(a.gsi));
            if !route.is_some_and(|msi| msi.level) {
                return Err(EINVAL);
            }
        }
        if inner.irqfds.len() >= MAX_IRQFDS as usize {
            kernel::pr_info_once!(
                "a partition has {} irqfds, its limit (MSHV_CAP_NR_IRQFDS): ENOSPC\n",
                MAX_IRQFDS
            );
            return Err(ENOSPC);
        }
        inner.irqfds.reserve(1, GFP_KERNEL_ACCOUNT)?;
        irqfd.arm();
        // Sorted by GSI, for the EOI's lookup. Cannot fail: the space was reserved.
        let at = inner.irqfds.partition_point(|i| i.gsi() <= a.gsi);
        inner
            .irqfds
            .insert_within_capacity(at, irqfd)
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// VP `vp` ended level-triggered interrupt `vector`: signals the resamplefd of every irqfd
    /// whose GSI is routed to it (level-triggered, to that VP unless the destination is
    /// logical). Whether there was one. Looked up by vector and GSI: the cost does not grow with
    /// the irqfds and routes that have nothing to do with the vector.
    pub(crate) fn notify_eoi(&self, vp: VpIndex, vector: u32) -> Result<bool> {
        let routing = self.routing.lock().clone();
        let Some(routing) = routing else {
            return Ok(false);
        };
        let inner = glue::lock_killable(&self.inner)?;
        let mut any = false;
        for (gsi, msi) in routing.level_routes(vector) {
            if !(msi.logical || msi.apic_id == vp.0) {
                continue;
            }
            let first = inner.irqfds.partition_point(|i| i.gsi() < gsi);
            for i in inner.irqfds[first..].iter().take_while(|i| i.gsi() == gsi) {
                if let Some(fd) = i.resamplefd() {
                    fd.signal();
                    any = true;
                }
            }
        }
        Ok(any)
    }

    /// An irqfd's eventfd hung up: the next assign frees such irqfds. Atomic context.
    pub(crate) fn irqfd_hung_up(&self) {
        // Release: after the irqfd's own flag, which the next assign looks at.
        self.irqfd_hangup.store(true, Ordering::Release);
    }

    /// Asserts the interrupt `gsi` is routed to, if any; called when an irqfd is signalled.
    pub(crate) fn inject(&self, gsi: u32) {
        let Some(msi) = self.routing.lock().as_ref().and_then(|r| r.lookup(gsi)) else {
            return;
        };
        let mut flags = 0;
        if msi.level {
            flags |= interrupt::LEVEL_TRIGGERED;
        }
        if msi.logical {
            flags |= interrupt::LOGICAL_DEST;
        }
        let r = self.hv.assert_virtual_interrupt(
            self.id,
            msi.delivery,
            flags,
            msi.apic_id.into(),
            msi.vector,
        );
        if let Err(e) = r {
            pr_debug!("partition {}: gsi {gsi}: assert failed: {e:?}\n", self.id);
        }
    }
}

/// Called by the injection work item of an irqfd whose eventfd was signalled.
///
/// # Safety
///
/// `owner` is the [`Partition`] an [`Irqfd`] was created for, and that irqfd is not yet freed.
#[no_mangle]
pub(crate) unsafe extern "C" fn mshv_rs_irqfd_inject(owner: *const c_void, gsi: u32) {
    // SAFETY: The caller passes a live irqfd's owner; a partition frees its irqfds (which waits
    // for this work item) before it is freed itself. During the partition's `PinnedDrop`, which
    // frees them first, this shared reference coexists with the drop's `Pin<&mut>`; neither
    // writes the fields read here (`hv`, `id`, `routing`).
    let pt = unsafe { &*owner.cast::<Partition>() };
    pt.inject(gsi);
}

/// Called by the wake callback of an irqfd whose eventfd's last file was closed, in atomic
/// context.
///
/// # Safety
///
/// As [`mshv_rs_irqfd_inject`].
#[no_mangle]
pub(crate) unsafe extern "C" fn mshv_rs_irqfd_hangup(owner: *const c_void) {
    // SAFETY: As in `mshv_rs_irqfd_inject`: the irqfd, whose owner this is, is not yet freed
    // (freeing it removes the wait entry first, under the lock this callback runs in).
    let pt = unsafe { &*owner.cast::<Partition>() };
    pt.irqfd_hung_up();
}
