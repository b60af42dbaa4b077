// SPDX-License-Identifier: GPL-2.0

//! A virtual processor: its fd, and running it.
//!
//! `MSHV_RUN_VP` dispatches the VP (`HvCallDispatchVp`, the root scheduler's way) until the
//! hypervisor reports an intercept. A fault on movable memory, a write an ioeventfd matches and
//! the EOI of a resampled interrupt are handled here and the VP runs on; any other message is
//! copied (256 bytes, from the VP's intercept message page) to userspace. A pending signal ends
//! the loop with `EINTR` before the next dispatch, whatever the guest does; no message is ever
//! lost (a message whose copy to userspace fails stays pending for the next call), and a RIP the
//! loop moved in the register page (a write an ioeventfd completed) is handed to the hypervisor
//! by hypercall first, since only a dispatch would take it from the page.
//!
//! `MSHV_GET_VP_STATE` and `MSHV_SET_VP_STATE` are [`state`]'s; [`x86`] decodes the MMIO stores.

use kernel::{
    mm::virt::VmaNew,
    new_mutex,
    page::BorrowedPage,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
    uaccess::{
        UserSlice,
        UserSliceWriter, //
    },
};

use crate::{
    abi::hv::{
        dispatch,
        message::MessagePage,
        regpage::RegisterPage,
        vp_state_page, //
        VpIndex,
    },
    abi::uapi,
    glue::{
        self,
        fd::{
            self,
            read_arg,
            FileOps, //
        },
    },
    mshv_partition::{
        passthru::{
            self,
            Target, //
        },
        Partition,
        VpPages, //
    },
};

mod intercept;
mod state;
mod x86;

use state::Direction;

/// Where a VP is between `MSHV_RUN_VP` calls.
struct RunState {
    /// The last dispatch ended in an intercept: the next must clear the intercept suspend.
    clear_suspend: bool,
    /// A message was taken from the intercept page but not yet copied to userspace.
    pending: bool,
}

/// A VP.
///
/// # Invariants
///
/// `msg_page` accesses the VP's intercept message page, `reg_page` (if any) its register page,
/// and `pages` holds the PFNs of its state pages; the hypervisor keeps them mapped until the
/// partition is torn down (after the last VP reference is gone). Both pages are accessed only
/// under the run mutex, which also covers every dispatch of the VP.
#[pin_data]
pub(crate) struct Vp {
    partition: Arc<Partition>,
    index: VpIndex,
    pages: VpPages,
    msg_page: MessagePage,
    reg_page: Option<RegisterPage>,
    #[pin]
    run: Mutex<RunState>,
}

impl Vp {
    /// A VP whose state pages are `pages` (the intercept message page at least).
    pub(crate) fn new(
        partition: Arc<Partition>,
        index: VpIndex,
        pages: VpPages,
    ) -> Result<Arc<Self>> {
        let msg = pages.0[usize::from(vp_state_page::INTERCEPT_MESSAGE)].ok_or(EIO)?;
        let msg_page = glue::pfn_address(msg).ok_or(EIO)?;
        // SAFETY: `HvCallMapVpStatePage` just mapped the page, and it stays mapped until the
        // partition is torn down, after the VP is gone; the hypervisor writes it only while the
        // VP is dispatched, under the run mutex, as every access through the accessor is.
        let msg_page = unsafe { MessagePage::new(msg_page) };
        let reg_page = pages.0[usize::from(vp_state_page::REGISTERS)]
            .and_then(glue::pfn_address)
            // SAFETY: As above.
            .map(|p| unsafe { RegisterPage::new(p) });
        // INVARIANT: The accessors are of the pages just mapped, used under the run mutex.
        Arc::pin_init(
            pin_init!(Vp {
                partition,
                index,
                pages,
                msg_page,
                reg_page,
                run <- new_mutex!(RunState {
                    clear_suspend: false,
                    pending: false,
                }, "mshv_vp_run"),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// The VP fd's ioctls: each argument is read here, once, and handed to its handler with
    /// where its output goes.
    fn vp_ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::MSHV_RUN_VP => {
                let out = UserSlice::new(UserPtr::from_addr(arg), uapi::MSHV_RUN_VP_BUF_SZ);
                this.run(out.writer()).map(|()| 0)
            }
            uapi::MSHV_GET_VP_STATE | uapi::MSHV_SET_VP_STATE => {
                let dir = if cmd == uapi::MSHV_SET_VP_STATE {
                    Direction::Set
                } else {
                    Direction::Get
                };
                // `buf_sz` (at offset 4) goes back: the size the state needs.
                let size = UserSlice::new(UserPtr::from_addr(arg).wrapping_byte_add(4), 4);
                this.state(&read_arg(arg)?, dir, size.writer()).map(|()| 0)
            }
            uapi::MSHV_ROOT_HVCALL => {
                // As every VP ioctl upstream: not while the VP runs.
                let _run = glue::lock_killable(&this.run)?;
                let pt = &this.partition;
                passthru::root_hvcall(&pt.hv, Target::Vp(pt.id), arg)
            }
            _ => Err(ENOTTY),
        }
    }

    /// `MSHV_RUN_VP`.
    fn run(&self, mut writer: UserSliceWriter) -> Result {
        let mut st = glue::lock_killable(&self.run)?;
        if !st.pending {
            if let Err(e) = self.dispatch_to_intercept(&mut st) {
                // A RIP moved in the register page (past a write an ioeventfd completed),
                // which only a dispatch would take: the VMM may read or set RIP by hypercall
                // next, so the hypervisor must have it first. If that fails it stays dirty in
                // the page, for the next dispatch.
                if let Err(f) = self.flush_ip() {
                    // Once: a VMM whose dispatches keep failing must not fill the log.
                    kernel::pr_warn_once!(
                        "VP {}: RIP stays in the register page: error {}\n",
                        self.index,
                        f.to_errno()
                    );
                }
                return Err(e);
            }
        }
        writer.write(&self.msg_page.read())?;
        st.pending = false;
        Ok(())
    }
}

impl Vp {
    /// Dispatches the VP until the hypervisor reports an intercept the kernel does not handle,
    /// which is then pending in the message page. `EINTR` at a signal, looked at before every
    /// dispatch: a guest that loops on writes the kernel completes never leaves this otherwise.
    fn dispatch_to_intercept(&self, st: &mut RunState) -> Result {
        let pt = &self.partition;
        loop {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            // Let others run between dispatches: a time slice may have ended, or the guest may
            // be in a loop of intercepts handled here.
            glue::cond_resched();
            let flags = if st.clear_suspend {
                dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND
            } else {
                0
            };
            let (state, event) = pt.hv.dispatch_vp(pt.id, self.index, flags)?;
            st.clear_suspend = false;
            if state != dispatch::STATE_READY || event != dispatch::EVENT_INTERCEPT {
                // The time slice ended without an intercept: go on.
                continue;
            }
            st.clear_suspend = true;
            if self.handle_intercept()? {
                continue;
            }
            st.pending = true;
            return Ok(());
        }
    }

    /// `mmap` of the VP fd: the state pages, one per page offset (`MSHV_VP_MMAP_OFFSET_*`), each
    /// page of the mapping the page of its own offset (upstream maps the first one everywhere).
    fn map_pages(&self, vma: &VmaNew, pgoff: usize) -> Result {
        let npages = (vma.end() - vma.start()) >> 12;
        let last = pgoff.checked_add(npages).ok_or(EINVAL)?;
        if last > self.pages.0.len() {
            return Err(EINVAL);
        }
        // A page the VP does not have (the GHCB of a non-isolated partition) is ENODEV, which
        // VMMs read as "not supported".
        let mut pfns = [0u64; 3];
        for (i, pfn) in pfns.iter_mut().enumerate().take(npages) {
            *pfn = self.pages.0[pgoff + i].ok_or(ENODEV)?;
        }
        // The mapping covers exactly the pages that exist; it may not grow.
        vma.set_dontexpand();
        let mixed = vma.set_mixedmap();
        for (i, &pfn) in pfns.iter().enumerate().take(npages) {
            let page = glue::pfn_to_page(pfn).ok_or(EIO)?;
            // SAFETY: The state page stays mapped, and its `struct page` valid, until the
            // partition is torn down; `vm_insert_page` takes its own reference for the mapping.
            let page = unsafe { BorrowedPage::from_raw(page) };
            mixed.vm_insert_page(vma.start() + (i << 12), &page)?;
        }
        Ok(())
    }
}

impl fd::FdObject for Vp {
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        Self::vp_ioctl(this, cmd, arg)
    }

    fn mmap(this: ArcBorrow<'_, Self>, vma: &VmaNew, pgoff: usize) -> Result {
        this.map_pages(vma, pgoff)
    }
}

/// The VP fd's operations.
pub(crate) static VP_FOPS: FileOps = fd::fops::<Vp>(true);
