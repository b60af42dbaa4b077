// SPDX-License-Identifier: GPL-2.0

//! The Rust half of `glue/synic.c`: the CPU hotplug state, memremap of the hypervisor's pages,
//! and (production) the SynIC MSRs and the callback vector's handler hook, or (simulator) the
//! irq_work that delivers the simulator's messages.

use core::ptr::NonNull;

use kernel::{
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    prelude::*,
};

mod raw {
    use kernel::ffi::{
        c_int,
        c_uint,
        c_void, //
    };

    extern "C" {
        pub(super) fn mshv_rs_cpuhp_setup(
            online: unsafe extern "C" fn(c_uint) -> c_int,
            offline: unsafe extern "C" fn(c_uint) -> c_int,
        ) -> c_int;
        pub(super) fn mshv_rs_cpuhp_remove(state: c_int);
        pub(super) fn mshv_rs_memremap_wb(pa: u64) -> *mut c_void;
        pub(super) fn mshv_rs_memunmap(addr: *mut c_void);
        pub(super) fn mshv_rs_this_cpu() -> c_uint;
        pub(super) fn mshv_rs_synchronize_rcu();
        #[cfg(not(mshv_sim))]
        pub(super) fn mshv_rs_rdmsr(msr: u32) -> u64;
        #[cfg(not(mshv_sim))]
        pub(super) fn mshv_rs_wrmsr(msr: u32, value: u64);
        #[cfg(not(mshv_sim))]
        pub(super) fn mshv_rs_set_isr(isr: Option<unsafe extern "C" fn()>);
        #[cfg(not(mshv_sim))]
        pub(super) fn mshv_rs_vmbus_exists() -> bool;
        #[cfg(not(mshv_sim))]
        pub(super) fn mshv_rs_recommend_aeoi() -> bool;
        #[cfg(not(mshv_sim))]
        pub(super) fn mshv_rs_callback_vector() -> u8;
        pub(super) fn mshv_rs_isr_hard();
        pub(super) fn mshv_rs_isr_init(f: unsafe extern "C" fn());
        pub(super) fn mshv_rs_isr_flush_this_cpu();
        pub(super) fn mshv_rs_isr_sync();
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_irq_work_new(
            f: unsafe extern "C" fn(*const c_void),
            ctx: *const c_void,
            hard: bool,
        ) -> *mut c_void;
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_irq_work_queue_on(w: *mut c_void, cpu: c_uint);
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_work_new(
            f: unsafe extern "C" fn(*const c_void),
            ctx: *const c_void,
        ) -> *mut c_void;
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_work_queue(w: *mut c_void);
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_work_free(w: *mut c_void);
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_irq_work_quiesce(w: *mut c_void);
        #[cfg(mshv_sim)]
        pub(super) fn mshv_rs_irq_work_free(w: *mut c_void);
    }
}

/// A callback of the CPU hotplug state: runs on the CPU coming online or going offline.
pub(crate) type CpuCallback = unsafe extern "C" fn(c_uint) -> c_int;

/// A registered CPU hotplug state (`CPUHP_AP_ONLINE_DYN`): `online` has run on every online CPU,
/// and runs on each CPU that comes online until this is dropped, which runs `offline` on every
/// online CPU.
///
/// # Invariants
///
/// `state` is the dynamic state `cpuhp_setup_state()` returned.
pub(crate) struct CpuHotplug {
    state: c_int,
}

impl CpuHotplug {
    /// Registers the state; `online` has run on every online CPU when this returns.
    pub(crate) fn new(online: CpuCallback, offline: CpuCallback) -> Result<Self> {
        // SAFETY: The callbacks are functions of this module, which removes the state (in
        // `drop`) before it goes away.
        let state = unsafe { raw::mshv_rs_cpuhp_setup(online, offline) };
        if state < 0 {
            return Err(Error::from_errno(state));
        }
        // INVARIANT: The state just set up.
        Ok(Self { state })
    }
}

impl Drop for CpuHotplug {
    fn drop(&mut self) {
        // SAFETY: The state was set up by `new` (type invariant) and is removed once.
        unsafe { raw::mshv_rs_cpuhp_remove(self.state) };
    }
}

/// A memremap of one page (write-back) of the hypervisor's (or the kernel's own) memory.
///
/// # Invariants
///
/// `addr` is what `memremap()` returned for the page, unmapped on drop.
pub(crate) struct Remap {
    addr: NonNull<u8>,
}

// SAFETY: A mapping is an address; it can be unmapped from any CPU.
unsafe impl Send for Remap {}
// SAFETY: As above.
unsafe impl Sync for Remap {}

impl Remap {
    /// Maps the page at physical address `pa`.
    pub(crate) fn new(pa: u64) -> Option<Self> {
        // SAFETY: `memremap()` checks what `pa` is and maps it, or returns NULL.
        let addr = NonNull::new(unsafe { raw::mshv_rs_memremap_wb(pa) }.cast::<u8>())?;
        // INVARIANT: Just mapped.
        Some(Self { addr })
    }

    /// The kernel address of the page.
    pub(crate) fn addr(&self) -> NonNull<u8> {
        self.addr
    }
}

impl Drop for Remap {
    fn drop(&mut self) {
        // SAFETY: `addr` came from `memremap()` (type invariant) and is unmapped once.
        unsafe { raw::mshv_rs_memunmap(self.addr.as_ptr().cast::<c_void>()) };
    }
}

/// The CPU this runs on (the caller keeps it from migrating, or it is only a hint).
pub(crate) fn this_cpu() -> u32 {
    // SAFETY: Always allowed.
    unsafe { raw::mshv_rs_this_cpu() }
}

/// Waits for every RCU read-side section, hard-IRQ handlers included, that began before.
pub(crate) fn synchronize_rcu() {
    // SAFETY: Called from process context.
    unsafe { raw::mshv_rs_synchronize_rcu() }
}

/// Makes `handler` what the vector's hard-IRQ part ([`hard_isr`]) hands each interrupt to: it
/// runs on the same CPU right after, in softirq context (a BH work item), where the wake-ups'
/// locks (`spinlock_t`) may be taken, which they may not in hard-IRQ context.
pub(crate) fn isr_init(handler: unsafe extern "C" fn()) {
    // SAFETY: `handler` is a function of this module, which waits for its last run
    // (`isr_sync`) before it goes away.
    unsafe { raw::mshv_rs_isr_init(handler) }
}

/// The function to hook into the vector: it queues this CPU's handler run.
pub(crate) fn hard_isr() -> unsafe extern "C" fn() {
    raw::mshv_rs_isr_hard
}

/// Waits for this CPU's queued handler run (the caller is bound to the CPU: its hotplug
/// callback).
pub(crate) fn isr_flush_this_cpu() {
    // SAFETY: Process context.
    unsafe { raw::mshv_rs_isr_flush_this_cpu() }
}

/// Waits until no handler run is queued or running, on any CPU.
pub(crate) fn isr_sync() {
    // SAFETY: Process context.
    unsafe { raw::mshv_rs_isr_sync() }
}

/// Reads a SynIC MSR of this CPU.
#[cfg(not(mshv_sim))]
pub(crate) fn rdmsr(msr: u32) -> u64 {
    // SAFETY: The SynIC MSRs exist on a Microsoft Hypervisor parent partition, where this
    // build loads.
    unsafe { raw::mshv_rs_rdmsr(msr) }
}

/// Writes a SynIC MSR of this CPU.
#[cfg(not(mshv_sim))]
pub(crate) fn wrmsr(msr: u32, value: u64) {
    // SAFETY: As in `rdmsr`; the values written are the SynIC's own fields.
    unsafe { raw::mshv_rs_wrmsr(msr, value) }
}

/// Hooks `isr` into the hypervisor callback vector (before VMBus's handler), or unhooks it.
#[cfg(not(mshv_sim))]
pub(crate) fn set_isr(isr: Option<unsafe extern "C" fn()>) {
    // SAFETY: The handler is a function of this module, unhooked before it goes away.
    unsafe { raw::mshv_rs_set_isr(isr) }
}

/// Whether VMBus is there, and owns SIMP, SIEFP and SCONTROL.
#[cfg(not(mshv_sim))]
pub(crate) fn vmbus_exists() -> bool {
    // SAFETY: A plain query.
    unsafe { raw::mshv_rs_vmbus_exists() }
}

/// Whether the hypervisor recommends auto-EOI for SINTs.
#[cfg(not(mshv_sim))]
pub(crate) fn recommend_aeoi() -> bool {
    // SAFETY: A plain query.
    unsafe { raw::mshv_rs_recommend_aeoi() }
}

/// `HYPERVISOR_CALLBACK_VECTOR`, the vector SINTs are delivered on.
#[cfg(not(mshv_sim))]
pub(crate) fn callback_vector() -> u8 {
    // SAFETY: A constant.
    unsafe { raw::mshv_rs_callback_vector() }
}

/// An irq_work that runs `f(ctx)` on the CPU it is queued on, in hard-IRQ context if made
/// `hard`. Freed by [`IrqWork::free_all`], which waits for each's last run.
///
/// # Invariants
///
/// `w` is a live `struct mshv_rs_irq_work`.
#[cfg(mshv_sim)]
pub(crate) struct IrqWork {
    w: NonNull<c_void>,
}

// SAFETY: irq_work is queued and synced from any CPU.
#[cfg(mshv_sim)]
unsafe impl Send for IrqWork {}
// SAFETY: As above.
#[cfg(mshv_sim)]
unsafe impl Sync for IrqWork {}

#[cfg(mshv_sim)]
impl IrqWork {
    /// An irq_work calling `f(ctx)`.
    ///
    /// # Safety
    ///
    /// `ctx` must stay valid for `f` until the irq_work is dropped.
    pub(crate) unsafe fn new(
        f: unsafe extern "C" fn(*const c_void),
        ctx: *const c_void,
        hard: bool,
    ) -> Result<Self> {
        // SAFETY: The caller keeps `ctx` valid; `f` is a function of this module.
        let w = NonNull::new(unsafe { raw::mshv_rs_irq_work_new(f, ctx, hard) }).ok_or(ENOMEM)?;
        // INVARIANT: Just allocated.
        Ok(Self { w })
    }

    /// Queues the work on `cpu` (an online CPU; else it runs when that CPU comes back).
    pub(crate) fn queue_on(&self, cpu: u32) {
        // SAFETY: The work is live (type invariant); queueing a queued work does nothing.
        unsafe { raw::mshv_rs_irq_work_queue_on(self.w.as_ptr(), cpu) }
    }
}

#[cfg(mshv_sim)]
impl IrqWork {
    /// Frees the works of `lists` once none can run any more; nothing queues them any more.
    pub(crate) fn free_all(lists: &mut [&mut KVec<IrqWork>]) {
        if lists.iter().all(|l| l.is_empty()) {
            return;
        }
        for w in lists.iter().flat_map(|l| l.iter()) {
            // SAFETY: The work is live (type invariant).
            unsafe { raw::mshv_rs_irq_work_quiesce(w.w.as_ptr()) };
        }
        // One grace period for all: an IPI function that was running is done after it.
        synchronize_rcu();
        for list in lists.iter_mut() {
            for w in list.drain_all() {
                // SAFETY: The work is live and quiesced, and freed once: `w` is consumed.
                unsafe { raw::mshv_rs_irq_work_free(w.w.as_ptr()) };
                core::mem::forget(w);
            }
        }
    }
}

#[cfg(mshv_sim)]
impl Drop for IrqWork {
    fn drop(&mut self) {
        // Only `free_all` may free a work; one dropped otherwise is left allocated rather than
        // freed while an IPI may still queue it.
        pr_err!("simulator: an irq_work was never freed by free_all\n");
    }
}

/// A work item on the system's unbound workqueue that runs `f(ctx)`; it may queue itself again.
///
/// # Invariants
///
/// `w` is a live `struct mshv_rs_work`, cancelled (waiting for it) and freed on drop.
#[cfg(mshv_sim)]
pub(crate) struct Work {
    w: NonNull<c_void>,
}

// SAFETY: Work items are queued and cancelled from any CPU.
#[cfg(mshv_sim)]
unsafe impl Send for Work {}
// SAFETY: As above.
#[cfg(mshv_sim)]
unsafe impl Sync for Work {}

#[cfg(mshv_sim)]
impl Work {
    /// A work item calling `f(ctx)`.
    ///
    /// # Safety
    ///
    /// `ctx` must stay valid for `f` until the work item is dropped.
    pub(crate) unsafe fn new(
        f: unsafe extern "C" fn(*const c_void),
        ctx: *const c_void,
    ) -> Result<Self> {
        // SAFETY: The caller keeps `ctx` valid; `f` is a function of this module.
        let w = NonNull::new(unsafe { raw::mshv_rs_work_new(f, ctx) }).ok_or(ENOMEM)?;
        // INVARIANT: Just allocated.
        Ok(Self { w })
    }

    /// Queues the work item (nothing if it is queued already).
    pub(crate) fn queue(&self) {
        // SAFETY: The work item is live (type invariant).
        unsafe { raw::mshv_rs_work_queue(self.w.as_ptr()) }
    }
}

#[cfg(mshv_sim)]
impl Drop for Work {
    fn drop(&mut self) {
        // SAFETY: The work item is live (type invariant); this waits for it and frees it once.
        unsafe { raw::mshv_rs_work_free(self.w.as_ptr()) }
    }
}
