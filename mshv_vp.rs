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
        reg,
        regpage::RegisterPage,
        vp_state_page, //
        HvRegisterAssoc,
        HvRegisterValue,
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
    mshv_host::Scheduler,
    mshv_partition::{
        passthru::{
            self,
            Target, //
        },
        Partition,
        VpPages, //
    },
    mshv_synic::{
        Kick,
        Kickable,
        INTERCEPTED,
        SIGNALLED, //
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
    /// The hypervisor has the VP blocked: wait for its kick before dispatching it again.
    blocked: bool,
}

/// A VP.
///
/// # Invariants
///
/// `msg_page` accesses the VP's intercept message page, `reg_page` (if any) its register page,
/// and `pages` holds the PFNs of its state pages; the hypervisor keeps them mapped until the
/// partition is torn down (after the last VP reference is gone). Both pages are accessed only
/// under the run mutex, which also covers every dispatch of the VP and, under the hypervisor's
/// scheduler, every time it runs (from its resume to the kick of its intercept, after which it
/// is suspended).
#[pin_data]
pub(crate) struct Vp {
    partition: Arc<Partition>,
    index: VpIndex,
    pages: VpPages,
    msg_page: MessagePage,
    reg_page: Option<RegisterPage>,
    /// Given by the SynIC handler when the hypervisor signals the VP.
    kick: Arc<Kick>,
    /// The handler knows the VP for as long as this lives.
    _kickable: Kickable,
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
        let kick = Kick::new()?;
        let kickable = Kickable::new(partition.id, index, kick.clone())?;
        // INVARIANT: The accessors are of the pages just mapped, used under the run mutex.
        Arc::pin_init(
            pin_init!(Vp {
                partition,
                index,
                pages,
                msg_page,
                reg_page,
                kick,
                _kickable: kickable,
                run <- new_mutex!(RunState {
                    clear_suspend: false,
                    pending: false,
                    blocked: false,
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
            let ran = match self.partition.hv.host().scheduler {
                Scheduler::Root => self.dispatch_to_intercept(&mut st),
                _ => self.resume_to_intercept(&mut st),
            };
            if let Err(e) = ran {
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
    ///
    /// A VP the hypervisor reports blocked (a guest in `hlt`) is not dispatched again until the
    /// hypervisor signals it (its kick) or the register page lists an interrupt to inject; one
    /// blocked on its explicit suspend (every VP starts so) has the suspend cleared first, as
    /// upstream does. The wait is interruptible, and a VP left blocked by `EINTR` waits again at
    /// the next call.
    fn dispatch_to_intercept(&self, st: &mut RunState) -> Result {
        let pt = &self.partition;
        if st.blocked {
            self.wait_for_kick()?;
            st.blocked = false;
        }
        loop {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            // Let others run between dispatches: a time slice may have ended, or the guest may
            // be in a loop of intercepts handled here.
            glue::cond_resched();
            let mut flags = 0;
            if st.clear_suspend {
                flags |= dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND;
            }
            if self.interrupt_listed() {
                flags |= dispatch::FLAG_SCAN_INTERRUPT_INJECTION;
            }
            let (state, event) = pt.hv.dispatch_vp(pt.id, self.index, flags)?;
            st.clear_suspend = false;
            match (state, event) {
                (dispatch::STATE_BLOCKED, dispatch::EVENT_SUSPEND) => {
                    self.clear_explicit_suspend()?;
                    st.blocked = true;
                    self.wait_for_kick()?;
                    st.blocked = false;
                }
                (dispatch::STATE_BLOCKED, _) => {
                    st.blocked = true;
                    self.wait_for_kick()?;
                    st.blocked = false;
                }
                (_, dispatch::EVENT_INTERCEPT) => {
                    st.clear_suspend = true;
                    if self.handle_intercept()? {
                        continue;
                    }
                    st.pending = true;
                    return Ok(());
                }
                // The time slice ended without an intercept: go on.
                _ => {}
            }
        }
    }

    /// Under the hypervisor's scheduler: resumes the VP and waits for the hypervisor to report
    /// an intercept (an opaque intercept message on SINT0, which kicks the VP), until one the
    /// kernel does not handle, which is then pending in the message page. At a signal the VP is
    /// suspended; if an intercept arrived meanwhile (the intercept suspend is set) its message is
    /// in flight and is waited for, so `EINTR` never loses one (upstream's way; unlike upstream
    /// the wait ends at a fatal signal).
    fn resume_to_intercept(&self, st: &mut RunState) -> Result {
        let pt = &self.partition;
        loop {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            // Intercept suspend first, then explicit suspend, in one call: the hypervisor clears
            // them in order, and the other order could clear an intercept suspend that arrived
            // after the explicit one was released.
            let resume = [
                HvRegisterAssoc {
                    name: reg::INTERCEPT_SUSPEND,
                    ..Default::default()
                },
                HvRegisterAssoc {
                    name: reg::EXPLICIT_SUSPEND,
                    ..Default::default()
                },
            ];
            pt.hv.set_vp_registers(pt.id, self.index, &resume)?;
            if self.kick.wait(INTERCEPTED, || false).is_err() {
                if !self.suspend_for_signal()? {
                    return Err(EINTR);
                }
                self.kick.wait_in_flight(INTERCEPTED)?;
            }
            if self.handle_intercept()? {
                continue;
            }
            st.pending = true;
            return Ok(());
        }
    }

    /// Suspends the VP explicitly (a signal interrupted the wait for its intercept); says
    /// whether an intercept's message is in flight (the intercept suspend is set).
    fn suspend_for_signal(&self) -> Result<bool> {
        let pt = &self.partition;
        let suspend = [HvRegisterAssoc {
            name: reg::EXPLICIT_SUSPEND,
            value: HvRegisterValue { low: 1, high: 0 },
            ..Default::default()
        }];
        pt.hv.set_vp_registers(pt.id, self.index, &suspend)?;
        let mut is = [HvRegisterValue::default()];
        pt.hv
            .get_vp_registers(pt.id, self.index, &[reg::INTERCEPT_SUSPEND], &mut is)?;
        Ok(is[0].low & 1 != 0)
    }

    /// Waits until the hypervisor signals the VP or an interrupt is listed for it.
    fn wait_for_kick(&self) -> Result {
        self.kick.wait(SIGNALLED, || self.interrupt_listed())
    }

    /// Whether the register page lists interrupt vectors to inject.
    fn interrupt_listed(&self) -> bool {
        self.reg_page
            .as_ref()
            .is_some_and(|p| p.interrupt_vectors() != 0)
    }

    /// Clears the VP's explicit suspend (`HV_REGISTER_EXPLICIT_SUSPEND`): the driver never sets
    /// it, so a VP found suspended is one that has not run yet.
    fn clear_explicit_suspend(&self) -> Result {
        let pt = &self.partition;
        let regs = [HvRegisterAssoc {
            name: reg::EXPLICIT_SUSPEND,
            ..Default::default()
        }];
        pt.hv.set_vp_registers(pt.id, self.index, &regs)
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
