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
    uaccess::UserSlice,
};

use crate::{
    abi::hv::{
        dispatch,
        message::{
            execution_state,
            AccessType,
            Decoded,
            InterceptHeader,
            IoPortIntercept,
            MemoryIntercept,
            Message,
            MessagePage, //
        },
        property,
        reg,
        regpage::{
            class,
            RegisterPage, //
        },
        vp_state as hv_vp_state,
        vp_state_page,
        HvRegisterAssoc,
        HvRegisterValue, //
    },
    abi::uapi::{
        self as uapi,
        GetSetVpState, //
    },
    glue,
    glue::fd::{
        self,
        FileOps, //
    },
    mshv_partition::passthru::{
        self,
        Target, //
    },
    mshv_partition::region::Pinned,
    mshv_partition::{
        Partition,
        VpPages, //
    },
};

mod x86;

/// Bytes of `struct hv_synthetic_timers_state`.
const TIMERS_STATE_SIZE: usize = crate::abi::hv::SYNTHETIC_TIMERS_STATE_SIZE;

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
    index: u32,
    pages: VpPages,
    msg_page: MessagePage,
    reg_page: Option<RegisterPage>,
    #[pin]
    run: Mutex<RunState>,
}

impl Vp {
    /// A VP whose state pages are `pages` (the intercept message page at least).
    pub(crate) fn new(partition: Arc<Partition>, index: u32, pages: VpPages) -> Result<Arc<Self>> {
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

    /// The VP fd's ioctls.
    fn vp_ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::MSHV_RUN_VP => this.run(arg).map(|()| 0),
            uapi::MSHV_GET_VP_STATE => this.state(arg, false).map(|()| 0),
            uapi::MSHV_SET_VP_STATE => this.state(arg, true).map(|()| 0),
            uapi::MSHV_ROOT_HVCALL => {
                // As every VP ioctl upstream: not while the VP runs.
                let _run = glue::lock_killable(&this.run)?;
                let pt = &this.partition;
                passthru::root_hvcall(&pt.hv, Target::Vp(pt.id), arg)
            }
            _ => Err(ENOTTY),
        }
    }

    /// `MSHV_GET_VP_STATE` and, with `set`, `MSHV_SET_VP_STATE`.
    fn state(&self, arg: usize, set: bool) -> Result {
        // As every VP ioctl upstream: not while the VP runs.
        let _run = glue::lock_killable(&self.run)?;
        let ptr = UserPtr::from_addr(arg);
        let args: GetSetVpState = UserSlice::new(ptr, size_of::<GetSetVpState>())
            .reader()
            .read()?;
        let page = uapi::MSHV_HV_PAGE_SIZE;
        let (buf_sz, buf) = (args.buf_sz as usize, args.buf_ptr as usize);
        if args.state_type >= uapi::vp_state::COUNT
            || args.rsvd != [0; 3]
            || buf_sz == 0
            || buf_sz % page != 0
            || buf % page != 0
        {
            return Err(EINVAL);
        }
        if !glue::access_ok(buf, buf_sz) {
            return Err(EFAULT);
        }
        let pt = &self.partition;
        let (hv_type, xsave_states, size) = match args.state_type {
            uapi::vp_state::LAPIC => (hv_vp_state::LAPIC, 0, page),
            uapi::vp_state::XSAVE => {
                let states = pt
                    .hv
                    .get_partition_property(pt.id, property::XSAVE_STATES)?;
                let size = pt
                    .hv
                    .get_partition_property(pt.id, property::MAX_XSAVE_DATA_SIZE)?;
                // The legacy x87 and SSE states are always asked for, as upstream does.
                (
                    hv_vp_state::XSAVE,
                    states | 0x3,
                    usize::try_from(size).map_err(|_| EIO)?,
                )
            }
            uapi::vp_state::SIMP => (hv_vp_state::SIM_PAGE, 0, page),
            uapi::vp_state::SIEFP => (hv_vp_state::SIEF_PAGE, 0, page),
            _ => (hv_vp_state::SYNTHETIC_TIMERS, 0, TIMERS_STATE_SIZE),
        };
        // The size the state needs goes back first, so a caller with too small a buffer learns
        // what to allocate.
        let size_u32 = u32::try_from(size).map_err(|_| EIO)?;
        UserSlice::new(ptr.wrapping_byte_add(4), 4)
            .writer()
            .write(&size_u32)?;
        if size > buf_sz {
            return Err(EINVAL);
        }
        if hv_type & hv_vp_state::TYPE_PFN != 0 {
            let npages = buf_sz / page;
            // The PFN list is the variable header: a page of it after the 40-byte header.
            // Upstream pins the whole buffer before it finds it too long, so a buffer it could
            // not pin is `EFAULT` first; here the VMAs are looked at instead of pinning it.
            if npages > (page - 40) / 8 {
                let span = glue::vma_span(buf, buf_sz);
                return Err(match span {
                    Ok(s) if s.covered && s.writable => EINVAL,
                    Err(e) if e == EINTR => EINTR,
                    _ => EFAULT,
                });
            }
            let pinned = Pinned::new(buf as u64, npages, true, false)?;
            let pfns = pinned.pfns()?;
            return if set {
                pt.hv
                    .set_vp_state(pt.id, self.index, hv_type, xsave_states, &pfns)
            } else {
                pt.hv
                    .get_vp_state(pt.id, self.index, hv_type, xsave_states, &pfns)
            };
        }
        let mut data = [0u8; TIMERS_STATE_SIZE];
        let user = UserSlice::new(UserPtr::from_addr(buf), TIMERS_STATE_SIZE);
        if set {
            user.reader().read_slice(&mut data)?;
            pt.hv.set_vp_state_bytes(pt.id, self.index, hv_type, &data)
        } else {
            pt.hv
                .get_vp_state_bytes(pt.id, self.index, hv_type, &mut data)?;
            user.writer().write_slice(&data)
        }
    }

    /// `MSHV_RUN_VP`.
    fn run(&self, arg: usize) -> Result {
        let mut writer = UserSlice::new(UserPtr::from_addr(arg), uapi::MSHV_RUN_VP_BUF_SZ).writer();
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
            if self.handle_intercept(&self.msg_page.read())? {
                continue;
            }
            st.pending = true;
            return Ok(());
        }
    }

    /// Handles the intercept `m` in the kernel where it can: the EOI of a level-triggered
    /// interrupt an irqfd resamples (its resamplefd is signalled), a fault on movable memory
    /// (faulted in, the guest none the wiser; one that keeps coming back ends, like any loop
    /// here, with a signal) and a write an ioeventfd matches (RIP moves in the register page).
    /// Whether it did: if not, the message is userspace's.
    fn handle_intercept(&self, m: &Message) -> Result<bool> {
        let pt = &self.partition;
        match m.decode() {
            Decoded::ApicEoi(eoi) => pt.notify_eoi(self.index, eoi.interrupt_vector),
            Decoded::Memory { m, .. } => {
                let gfn = m.guest_physical_address >> 12;
                if let Some(access) = m.header.access() {
                    if pt.handle_gpa_fault(gfn, access)? {
                        return Ok(true);
                    }
                }
                self.mmio_write(&m)
            }
            Decoded::IoPort(io) => self.port_write(&io),
            Decoded::Other => Ok(false),
        }
    }

    /// Whether the write of intercept `h` may be completed here. A VP single-stepping
    /// (RFLAGS.TF), with debug registers active, or in an interrupt shadow must take the
    /// instruction's side effects (a #DB trap, the shadow's end) from an emulator: userspace.
    fn completable_write(h: &InterceptHeader) -> bool {
        const RFLAGS_TF: u64 = 1 << 8;
        h.access() == Some(AccessType::Write)
            && h.rflags & RFLAGS_TF == 0
            && h.execution_state
                & (execution_state::DEBUG_ACTIVE | execution_state::INTERRUPT_SHADOW)
                == 0
    }

    /// Signals the ioeventfd that the port write `io` matches, and moves the VP past the
    /// instruction; whether it did.
    fn port_write(&self, io: &IoPortIntercept) -> Result<bool> {
        // String and rep operations are not single writes.
        if !Self::completable_write(&io.header)
            || io.access_info & (IoPortIntercept::STRING_OP | IoPortIntercept::REP) != 0
        {
            return Ok(false);
        }
        let size = u32::from(io.access_info & IoPortIntercept::SIZE_MASK);
        let len = io.header.instruction_length();
        let done = || self.skip(io.header.rip, len);
        self.partition
            .ioeventfd_write(true, io.port_number.into(), size, || Ok(io.rax), done)
    }

    /// Signals the ioeventfd that the MMIO store `m` matches, and moves the VP past the
    /// instruction; whether it did. The store's length, size and source come from its
    /// instruction bytes.
    fn mmio_write(&self, m: &MemoryIntercept) -> Result<bool> {
        if !Self::completable_write(&m.header) {
            return Ok(false);
        }
        let mode = x86::Mode::of(m.header.execution_state, m.header.cs_segment.attributes);
        let Some(store) = x86::decode_store(m.instruction(), mode) else {
            return Ok(false);
        };
        // A write that crosses a page may be partly RAM: the VMM's to split.
        let (gva, gpa) = (m.guest_virtual_address, m.guest_physical_address);
        let size = u64::from(store.size);
        if (m.memory_access_info & MemoryIntercept::GVA_VALID != 0 && (gva & 0xfff) + size > 0x1000)
            || (gpa & 0xfff) + size > 0x1000
        {
            return Ok(false);
        }
        let value = || match store.src {
            x86::Source::Imm(v) => Ok(v),
            x86::Source::Gpr { n, high_byte } => {
                let v = self.gpr(n)?;
                Ok(if high_byte { v >> 8 } else { v })
            }
        };
        let done = || self.skip(m.header.rip, store.len);
        self.partition
            .ioeventfd_write(false, gpa, store.size.into(), value, done)
    }

    /// The VP's register page, while the hypervisor keeps it valid (between dispatches).
    fn valid_reg_page(&self) -> Option<&RegisterPage> {
        self.reg_page.as_ref().filter(|p| p.is_valid())
    }

    /// General-purpose register `n` (0 RAX ... 15 R15): from the register page when it is
    /// valid, else by hypercall.
    fn gpr(&self, n: u8) -> Result<u64> {
        if let Some(page) = self.valid_reg_page() {
            return Ok(page.gpr(usize::from(n)));
        }
        let pt = &self.partition;
        let mut v = [HvRegisterValue::default()];
        pt.hv
            .get_vp_registers(pt.id, self.index, &[reg::RAX + u32::from(n & 15)], &mut v)?;
        Ok(v[0].low)
    }

    /// Hands a RIP that is dirty in the register page (moved by [`Vp::skip`], or by the VMM) to
    /// the hypervisor by `HvCallSetVpRegisters`, and takes its dirty bit back: the hypervisor has
    /// it, and a later dispatch must not take the page's copy over a RIP the VMM sets meanwhile.
    fn flush_ip(&self) -> Result {
        let Some(page) = self.valid_reg_page() else {
            return Ok(());
        };
        if page.dirty() & class::IP == 0 {
            return Ok(());
        }
        let pt = &self.partition;
        let regs = [HvRegisterAssoc {
            name: reg::RIP,
            value: HvRegisterValue {
                low: page.rip(),
                high: 0,
            },
            ..Default::default()
        }];
        pt.hv.set_vp_registers(pt.id, self.index, &regs)?;
        page.clear_dirty(class::IP);
        Ok(())
    }

    /// Moves the VP past the `len`-byte instruction at `rip`, as the VMM would after emulating
    /// it: through the register page (the next dispatch takes a dirty RIP), or by hypercall
    /// when the page is not valid.
    fn skip(&self, rip: u64, len: u8) -> Result {
        let pt = &self.partition;
        let rip = rip.wrapping_add(u64::from(len));
        if let Some(page) = self.valid_reg_page() {
            page.set_rip(rip);
            page.mark_dirty(class::IP);
            return Ok(());
        }
        let regs = [HvRegisterAssoc {
            name: reg::RIP,
            value: HvRegisterValue { low: rip, high: 0 },
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
