// SPDX-License-Identifier: GPL-2.0

//! The SynIC: the per-CPU setup of the synthetic interrupt controller, and the interrupt handler
//! of the messages the hypervisor sends the parent there.
//!
//! On every online CPU (a CPU hotplug state, so CPUs going offline and coming back stay right):
//! the message page (SIMP) and the event flags page (SIEFP), mapped here and enabled unless
//! VMBus owns them; the event ring page (SIRBP: the hypervisor's on the root, allocated here on
//! L1VH); SINT0 for intercepts and scheduler messages and SINT5 for doorbells, on the hypervisor
//! callback vector. The driver owns SINT0, SINT5 and the ring page and nothing else; when a CPU
//! goes offline, or the module unloads, each MSR it wrote is put back as it found it.
//!
//! The hypervisor callback vector (`hv_setup_mshv_handler()`, as upstream; in the simulator
//! build the simulator's hard-IRQ irq_work) calls a hard-IRQ part that only queues this CPU's
//! BH work item: the wake-ups take `spinlock_t` locks (wait queues), which hard-IRQ context may
//! not take (lockdep's raw-lock nesting check; PREEMPT_RT; upstream wakes VPs from the vector
//! itself). [`isr`] then runs on the same CPU in softirq context, right after the interrupt (as
//! VMBus's message tasklet does), and reads SINT0's slot
//! of this CPU's message page, which the hypervisor does not reuse until it is freed: a
//! scheduler message (a VP set or
//! (partition, VP) pairs) or an opaque intercept kicks the VPs it names. Everything in a message
//! is untrusted input: partitions and VPs are looked up in the registry below, under its lock,
//! indices are bounds-checked, and a message naming nothing known is dropped. The slot is then
//! freed, with EOM when another message waits behind it.
//!
//! [`Kick`] is a VP's wake-up: `MSHV_RUN_VP` waits on it while the hypervisor has the VP blocked
//! (a halted guest) or suspended, instead of dispatching it again at once.

use core::ffi::{
    c_int,
    c_uint, //
};

use kernel::{
    cpu::nr_cpu_ids,
    new_condvar, new_spinlock_irq,
    page::Page,
    prelude::*,
    sync::{
        atomic::{
            ordering,
            Atomic, //
        },
        Arc,
        CondVar,
        SpinLockIrq, //
    },
};

use crate::{
    abi::{
        hv::{
            msg,
            synic::{
                self,
                msr,
                sint,
                OpaqueIntercept,
                SynicMessagePage,
                VpSignalBitset,
                VpSignalPair, //
            },
            PartitionId,
            VpIndex, //
        },
        uapi::limits::MAX_VPS,
    },
    glue::{
        self,
        platform::Parent,
        synic::{
            CpuHotplug,
            Remap, //
        },
    },
    hvcall::Hv,
};

/// Why the hypervisor woke a VP: a root-scheduler signal (dispatch it again).
pub(crate) const SIGNALLED: u8 = 1 << 0;
/// Why the hypervisor woke a VP: an intercept, whose message is in its intercept message page
/// (the hypervisor's scheduler).
pub(crate) const INTERCEPTED: u8 = 1 << 1;

/// A VP's wake-ups: given when the hypervisor signals the VP or reports its intercept, waited
/// for by its `MSHV_RUN_VP`. Each kind is taken only by a wait for it, so a scheduler signal
/// (even a forged one) never passes for an intercept.
#[pin_data]
pub(crate) struct Kick {
    #[pin]
    kicked: SpinLockIrq<u8>,
    #[pin]
    wait: CondVar,
}

impl Kick {
    /// A kick not yet given.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Kick {
                kicked <- new_spinlock_irq!(0, "mshv_vp_kick"),
                wait <- new_condvar!("mshv_vp_kick"),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// Gives a wake-up of kind `why`; any context, hard IRQ included.
    pub(crate) fn kick(&self, why: u8) {
        *self.kicked.lock() |= why;
        self.wait.notify_all();
    }

    /// Waits for a wake-up of kind `why` that the hypervisor has committed to give (a message
    /// in flight), with a signal pending, and takes it. Only a fatal signal ends the wait
    /// (`EINTR`: the message is lost with the process), so a hypervisor that never sends it
    /// cannot keep a killed task in the kernel; until then the task yields the CPU between
    /// looks, as the message normally arrives within microseconds.
    pub(crate) fn wait_in_flight(&self, why: u8) -> Result {
        loop {
            {
                let mut kicked = self.kicked.lock();
                if *kicked & why != 0 {
                    *kicked &= !why;
                    return Ok(());
                }
            }
            if glue::fatal_signal_pending() {
                return Err(EINTR);
            }
            glue::cond_resched();
        }
    }

    /// Waits for a wake-up of kind `why`, or until `ready()`, and takes the wake-up. `EINTR` at
    /// a signal; one given meanwhile stays for the next wait.
    pub(crate) fn wait(&self, why: u8, ready: impl Fn() -> bool) -> Result {
        let mut kicked = self.kicked.lock();
        while *kicked & why == 0 && !ready() {
            if self.wait.wait_interruptible(&mut kicked) {
                return Err(EINTR);
            }
        }
        *kicked &= !why;
        Ok(())
    }
}

/// What a CPU's SynIC setup holds, and what it found there.
struct Cpu {
    simp: Remap,
    /// Mapped for as long as the CPU's setup lasts (nothing reads event flags yet).
    _siefp: Remap,
    /// The event ring page: the hypervisor's (mapped) on the root, this driver's on L1VH.
    _ring: Ring,
    /// The driver enabled SIMP, SIEFP and SCONTROL (VMBus does not own them): it disables them.
    own_pages: bool,
    /// SIRBP, SINT0 and SINT5 as they were before the driver wrote them.
    found: [u64; 3],
}

/// The event ring page of a CPU.
enum Ring {
    /// Provided by the hypervisor (the root).
    Mapped { _map: Remap },
    /// Allocated here (L1VH): given to the hypervisor through SIRBP, zeroed first.
    Owned { page: Page },
}

/// A VP the handler may kick.
struct Entry {
    pt: u64,
    vp: u32,
    kick: Arc<Kick>,
}

/// What the handler reaches: the hypercall layer (for EOM), each CPU's pages, the VPs.
struct Shared {
    hv: Option<Arc<Hv>>,
    cpus: KVec<Option<Cpu>>,
    /// Sorted by (partition, VP).
    kicks: KVec<Entry>,
}

kernel::sync::global_lock! {
    // SAFETY: Initialized by `Synic::new` before anything else uses it, and used only while
    // `READY` says so.
    unsafe(uninit) static SHARED: SpinLockIrq<Shared> = Shared {
        hv: None,
        cpus: KVec::new(),
        kicks: KVec::new(),
    };
}

/// [`SHARED`] is initialized (module init made the [`Synic`]). KUnit suites, which run before
/// module init, see it false.
static READY: Atomic<bool> = Atomic::new(false);

/// The SynIC set up on every online CPU, and the handler hooked, for as long as this lives.
pub(crate) struct Synic {
    hv: Arc<Hv>,
    hotplug: Option<CpuHotplug>,
}

impl Synic {
    /// Sets the SynIC up on every online CPU (and on each that comes online) and hooks the
    /// handler.
    pub(crate) fn new(hv: &Arc<Hv>) -> Result<Self> {
        let mut cpus = KVec::with_capacity(nr_cpu_ids() as usize, GFP_KERNEL)?;
        for _ in 0..nr_cpu_ids() {
            cpus.push(None, GFP_KERNEL)?;
        }
        // SAFETY: Module init runs once per load, before anything uses `SHARED`.
        unsafe { SHARED.init() };
        {
            let mut s = SHARED.lock();
            s.hv = Some(hv.clone());
            s.cpus = cpus;
        }
        READY.store(true, ordering::Release);
        let mut synic = Synic {
            hv: hv.clone(),
            hotplug: None,
        };
        // On failure `drop` undoes what was done.
        synic.hotplug = Some(CpuHotplug::new(online, offline).inspect_err(|e| {
            pr_err!("SynIC setup failed (error {})\n", e.to_errno());
        })?);
        glue::synic::isr_init(mshv_rs_isr);
        hv.synic_leaf().set_isr(Some(glue::synic::hard_isr()));
        Ok(synic)
    }
}

impl Drop for Synic {
    fn drop(&mut self) {
        self.hv.synic_leaf().set_isr(None);
        // A vector handler running now is a hard-IRQ section, which this waits for; then for the
        // handler runs it queued.
        glue::synic::synchronize_rcu();
        glue::synic::isr_sync();
        // Runs `offline` on every online CPU.
        drop(self.hotplug.take());
        READY.store(false, ordering::Release);
        // The statics outlive the module's allocator use: everything in them is freed here.
        let (hv, kicks, cpus) = {
            let mut s = SHARED.lock();
            (
                s.hv.take(),
                core::mem::take(&mut s.kicks),
                core::mem::take(&mut s.cpus),
            )
        };
        if !kicks.is_empty() {
            pr_warn!("{} VPs still registered at unload\n", kicks.len());
        }
        drop((hv, kicks, cpus));
    }
}

/// The hypercall layer, when the SynIC is set up.
fn shared_hv() -> Option<Arc<Hv>> {
    if !READY.load(ordering::Acquire) {
        return None;
    }
    SHARED.lock().hv.clone()
}

/// Whether VMBus owns SIMP, SIEFP and SCONTROL.
fn vmbus_active() -> bool {
    #[cfg(not(mshv_sim))]
    {
        glue::synic::vmbus_exists()
    }
    #[cfg(mshv_sim)]
    {
        false
    }
}

/// The vector SINTs are delivered on, and whether with auto-EOI.
fn sint_base() -> u64 {
    #[cfg(not(mshv_sim))]
    {
        let aeoi = if glue::synic::recommend_aeoi() {
            sint::AUTO_EOI
        } else {
            0
        };
        u64::from(glue::synic::callback_vector()) | aeoi
    }
    #[cfg(mshv_sim)]
    {
        // The simulator delivers through irq_work; a vector in the valid range (16-255) it
        // checks like Hyper-V would.
        0xf3
    }
}

/// CPU hotplug: the SynIC of the CPU coming online.
extern "C" fn online(cpu: c_uint) -> c_int {
    match cpu_online(cpu) {
        Ok(()) => 0,
        Err(e) => {
            pr_err!("CPU {cpu}: SynIC setup failed (error {})\n", e.to_errno());
            e.to_errno()
        }
    }
}

/// CPU hotplug: the SynIC of the CPU going offline, put back as it was found.
extern "C" fn offline(cpu: c_uint) -> c_int {
    cpu_offline(cpu);
    0
}

/// Sets up the SynIC of `cpu`, the CPU this runs on.
fn cpu_online(cpu: u32) -> Result {
    let hv = shared_hv().ok_or(ENODEV)?;
    let leaf = hv.synic_leaf();
    let own_pages = !vmbus_active();
    let simp = leaf.rdmsr(msr::SIMP);
    let siefp = leaf.rdmsr(msr::SIEFP);
    let mapped = Remap::new(simp & msr::PAGE_MASK)
        .and_then(|m| Some((m, Remap::new(siefp & msr::PAGE_MASK)?)));
    let Some((simp_map, siefp_map)) = mapped else {
        return Err(EFAULT);
    };
    let sirbp = leaf.rdmsr(msr::SIRBP);
    let ring = match hv.host().parent {
        Parent::Root => Ring::Mapped {
            _map: Remap::new(sirbp & msr::PAGE_MASK).ok_or(EFAULT)?,
        },
        Parent::L1vh => Ring::Owned {
            page: glue::alloc_zeroed_page()?,
        },
    };
    let ring_gpa = match &ring {
        Ring::Mapped { .. } => sirbp & msr::PAGE_MASK,
        Ring::Owned { page } => glue::page_pfn(page) << 12,
    };
    let found = [
        sirbp,
        leaf.rdmsr(msr::SINT0 + sint::INTERCEPTION as u32),
        leaf.rdmsr(msr::SINT0 + sint::DOORBELL as u32),
    ];
    // Published before anything is enabled: the handler may run as soon as SINT0 is unmasked.
    {
        let mut s = SHARED.lock();
        let slot = s.cpus.get_mut(cpu as usize).ok_or(EINVAL)?;
        *slot = Some(Cpu {
            simp: simp_map,
            _siefp: siefp_map,
            _ring: ring,
            own_pages,
            found,
        });
    }
    if own_pages {
        leaf.wrmsr(msr::SIMP, simp | msr::ENABLE);
        leaf.wrmsr(msr::SIEFP, siefp | msr::ENABLE);
    }
    leaf.wrmsr(msr::SIRBP, ring_gpa | msr::ENABLE);
    let base = sint_base();
    leaf.wrmsr(msr::SINT0 + sint::INTERCEPTION as u32, base);
    leaf.wrmsr(
        msr::SINT0 + sint::DOORBELL as u32,
        base | sint::AS_INTERCEPT,
    );
    if own_pages {
        let scontrol = leaf.rdmsr(msr::SCONTROL);
        leaf.wrmsr(msr::SCONTROL, scontrol | msr::ENABLE);
    }
    Ok(())
}

/// Undoes [`cpu_online`] on `cpu`, the CPU this runs on.
fn cpu_offline(cpu: u32) {
    let Some(hv) = shared_hv() else {
        return;
    };
    let leaf = hv.synic_leaf();
    let Some(c) = SHARED
        .lock()
        .cpus
        .get(cpu as usize)
        .and_then(|c| c.as_ref().map(|c| (c.found, c.own_pages)))
    else {
        return;
    };
    let (found, own_pages) = c;
    leaf.wrmsr(msr::SINT0 + sint::INTERCEPTION as u32, found[1]);
    leaf.wrmsr(msr::SINT0 + sint::DOORBELL as u32, found[2]);
    leaf.wrmsr(msr::SIRBP, found[0]);
    if own_pages {
        let scontrol = leaf.rdmsr(msr::SCONTROL);
        leaf.wrmsr(msr::SCONTROL, scontrol & !msr::ENABLE);
        let siefp = leaf.rdmsr(msr::SIEFP);
        leaf.wrmsr(msr::SIEFP, siefp & !msr::ENABLE);
        let simp = leaf.rdmsr(msr::SIMP);
        leaf.wrmsr(msr::SIMP, simp & !msr::ENABLE);
    }
    // A message the vector took before the SINTs were put back is handled first.
    glue::synic::isr_flush_this_cpu();
    // Unmapped (and the ring page freed) here, out of the lock.
    let taken = SHARED
        .lock()
        .cpus
        .get_mut(cpu as usize)
        .and_then(Option::take);
    drop(taken);
}

/// The handler knows a VP (can kick it) for as long as this lives.
///
/// # Invariants
///
/// The registry holds an entry for (`pt`, `vp`) unless the SynIC was not set up when this was
/// made (KUnit suites, which run before module init).
pub(crate) struct Kickable {
    pt: u64,
    vp: u32,
}

impl Kickable {
    /// Lets the handler kick VP `vp` of partition `pt` with `kick`.
    pub(crate) fn new(pt: PartitionId, vp: VpIndex, kick: Arc<Kick>) -> Result<Self> {
        let (pt, vp) = (pt.0, vp.0);
        if READY.load(ordering::Acquire) {
            let mut s = SHARED.lock();
            let at = match s.kicks.binary_search_by(|e| (e.pt, e.vp).cmp(&(pt, vp))) {
                Ok(_) => return Err(EEXIST),
                Err(at) => at,
            };
            s.kicks.push(Entry { pt, vp, kick }, GFP_ATOMIC)?;
            s.kicks[at..].rotate_right(1);
        }
        // INVARIANT: Registered above, or the SynIC is not set up.
        Ok(Self { pt, vp })
    }
}

impl Drop for Kickable {
    fn drop(&mut self) {
        if !READY.load(ordering::Acquire) {
            return;
        }
        let key = (self.pt, self.vp);
        let removed = {
            let mut s = SHARED.lock();
            match s.kicks.binary_search_by(|e| (e.pt, e.vp).cmp(&key)) {
                Ok(i) => s.kicks.remove(i).ok(),
                Err(_) => None,
            }
        };
        // The kick's last reference may go here, out of the lock.
        drop(removed);
    }
}

impl Shared {
    /// Wakes VP `vp` of partition `pt` for `why`, if it is known; says whether it was.
    fn kick(&self, pt: u64, vp: u32, why: u8) -> bool {
        if vp >= MAX_VPS {
            return false;
        }
        match self.kicks.binary_search_by(|e| (e.pt, e.vp).cmp(&(pt, vp))) {
            Ok(i) => {
                self.kicks[i].kick.kick(why);
                true
            }
            Err(_) => false,
        }
    }

    /// A scheduler VP-set message: kicks each VP it names that is known.
    fn kick_bitset(&self, m: &VpSignalBitset) {
        if m.format != synic::GENERIC_SET_SPARSE_4K || m.vp_count == 0 {
            return;
        }
        // The banks present follow in the order of their bits in the mask; no more fit the
        // message than `BITSET_BANKS`.
        let mut present = 0;
        for bank in 0..64u32 {
            if m.valid_bank_mask & (1 << bank) == 0 {
                continue;
            }
            let Some(&bits) = m.banks.get(present) else {
                return;
            };
            present += 1;
            for bit in 0..64u32 {
                if bits & (1 << bit) != 0 {
                    self.kick(m.partition_id, bank * 64 + bit, SIGNALLED);
                }
            }
        }
    }

    /// A scheduler pair message: kicks each (partition, VP) it names that is known.
    fn kick_pairs(&self, m: &VpSignalPair) {
        let n = usize::from(m.vp_count).min(synic::PAIRS);
        for (pt, vp) in m.partition_ids[..n].iter().zip(&m.vp_indexes[..n]) {
            self.kick(*pt, *vp, SIGNALLED);
        }
    }
}

/// The SynIC interrupt handler: runs on the CPU the vector interrupted, in softirq context,
/// right after the vector's hard-IRQ part queued it (`glue/synic.c`).
extern "C" fn mshv_rs_isr() {
    isr();
}

/// Handles the message in SINT0's slot of this CPU, if any.
fn isr() {
    if !READY.load(ordering::Acquire) {
        return;
    }
    let cpu = glue::synic::this_cpu();
    let s = SHARED.lock();
    let Some(c) = s.cpus.get(cpu as usize).and_then(Option::as_ref) else {
        return;
    };
    // SAFETY: The message page stays mapped while the CPU's entry exists, which it does while
    // the lock is held.
    let page = unsafe { SynicMessagePage::new(c.simp.addr()) };
    let slot = sint::INTERCEPTION;
    let t = page.message_type(slot);
    match t {
        msg::NONE => return,
        msg::SCHEDULER_VP_SIGNAL_BITSET => {
            if let Some(m) = page.payload::<VpSignalBitset>(slot) {
                s.kick_bitset(&m);
            }
        }
        msg::SCHEDULER_VP_SIGNAL_PAIR => {
            if let Some(m) = page.payload::<VpSignalPair>(slot) {
                s.kick_pairs(&m);
            }
        }
        msg::OPAQUE_INTERCEPT => {
            if let Some(m) = page.payload::<OpaqueIntercept>(slot) {
                s.kick(page.read(slot).header.sender, m.vp_index, INTERCEPTED);
            }
        }
        // The slot is the driver's (SINT0): a message it does not know is dropped, not left
        // to block the slot.
        _ => kernel::pr_warn_once!("dropped a SynIC message of unknown type {t:#x}\n"),
    }
    if page.release(slot) {
        if let Some(hv) = &s.hv {
            hv.synic_leaf().wrmsr(msr::EOM, 0);
        }
    }
}
