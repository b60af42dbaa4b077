// SPDX-License-Identifier: GPL-2.0

//! A simulated Microsoft Hypervisor, below the hypercall ABI. Only in the `MSHV_SIM=1` build.
//!
//! It receives what the hypervisor receives (the control word and the physical addresses of the
//! input and output pages, or the register input of a fast call) and returns the 64-bit result.
//! Everything above the leaf runs the same code in both builds, so the simulator is strict where
//! Hyper-V is strict (the TLFS is the spec):
//!
//! - malformed input: unknown call code, reserved control bits, a rep call issued as a simple
//!   call or the reverse, a variable header where none belongs, input that does not fit its
//!   page, misaligned pages, nonzero reserved fields: the status Hyper-V returns;
//! - partitions go created → initialized → finalized → deleted; a call in the wrong state
//!   answers `INVALID_PARTITION_STATE`, an unknown ID `INVALID_PARTITION_ID`, an unknown VP
//!   `INVALID_VP_INDEX`;
//! - memory is accounted: objects cost pages of the pool that deposits fill (the root's pool for
//!   partitions, the partition's for everything inside it); a dry pool answers
//!   `INSUFFICIENT_MEMORY`; withdraw returns free pages and `NO_RESOURCES` when none are left;
//!   a partition can only be deleted once finalized and withdrawn to empty;
//! - the GPA map holds 4K and 2M entries with accessed and dirty bits;
//! - rep calls can be made to complete partially (seedable, deterministic);
//! - tests can make the n-th call, or the n-th call of one code, fail with a chosen status; each
//!   code's calls are counted.
//!
//! Choices where the TLFS is silent are documented at each rule and in `Documentation/mshv.rst`.

use kernel::{
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    time::{
        Instant,
        Monotonic, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use crate::{
    abi::hv::{
        status,
        Control,
        HvResult,
        HV_PAGE_SIZE,
        HV_PARTITION_ID_SELF, //
    },
    glue,
};

mod cpu;
pub(crate) mod debugfs;
mod gpa;
mod handlers;
pub(crate) mod host;
mod objects;
mod synic;

pub(crate) use objects::{
    Partition,
    Pool,
    State,
    Vp,
    TIMERS_STATE_SIZE, //
};

/// Pages a partition object costs the root.
pub(crate) const PARTITION_PAGES: usize = 1;
/// Pages initializing a partition costs it.
pub(crate) const INIT_PAGES: usize = 16;
/// Pages a VP costs its partition.
pub(crate) const VP_PAGES: usize = 2;
/// The simulated hypervisor's VP limit per partition.
pub(crate) const MAX_VPS: u32 = 2048;
/// Call codes counted (every code the driver knows is below this).
const COUNTED_CODES: usize = 0x140;

/// A fault armed by a test: from the `nth` matching call on, `times` calls fail with `status`.
#[derive(Clone, Copy, Debug)]
struct Fault {
    code: Option<u16>,
    nth: u32,
    times: u32,
    status: u16,
}

/// The simulator's state.
pub(crate) struct SimState {
    /// Partitions by ID - 1; deleted ones leave `None` (IDs are never reused).
    partitions: KVec<Option<KBox<Partition>>>,
    /// The root's own pool (`HV_PARTITION_ID_SELF`).
    root: Pool,
    calls: [u64; COUNTED_CODES],
    /// Nanoseconds spent in calls of each code (the simulated hypervisor's own work, which a
    /// benchmark of the driver subtracts).
    nanos: [u64; COUNTED_CODES],
    faults: KVec<Fault>,
    /// Partial-rep generator state; 0 when reps always complete.
    rng: u64,
    /// The (partition ID, guest page) the debugfs `gpa` file reports on.
    query: (u64, u64),
    /// A hostile hypervisor's lies, armed by a test: the next withdraw returns this PFN as its
    /// first page (the pool keeps its own), the next state page mapped is this PFN.
    forged: Forged,
    /// The host this simulator is (root or L1VH, which scheduler).
    host: host::Host,
    /// Messages for the parent the calls made, posted to the SynIC when the call returns.
    outbox: KVec<Signal>,
    /// A VP became runnable under the hypervisor's scheduler: the runner is to run.
    wake_runner: bool,
}

/// A message for the parent partition.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Signal {
    /// Root scheduler: VP `vp` of partition `pt` is ready to be dispatched again.
    Ready { pt: u64, vp: u32 },
    /// Hypervisor scheduler: VP `vp` of partition `pt` stopped on an intercept, whose message
    /// is in its intercept message page.
    Intercept { pt: u64, vp: u32 },
}

/// PFNs the simulator hands back instead of its own, once each (debugfs `forge`): what a
/// hostile or broken hypervisor would do, for the driver's checks to refuse.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Forged {
    pub(crate) withdraw: Option<u64>,
    pub(crate) state_page: Option<u64>,
}

/// The simulated hypervisor.
#[pin_data(PinnedDrop)]
pub(crate) struct HvSim {
    #[pin]
    st: SpinLock<SimState>,
    /// The parent's SynIC; its lock nests inside `st`'s, never around it.
    #[pin]
    synic: synic::Synic,
    /// Runs the VPs the hypervisor's scheduler has resumed (made by [`HvSim::start`]).
    #[pin]
    runner: SpinLock<Option<glue::synic::Work>>,
}

/// What a test learns about a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartitionInfo {
    pub(crate) state: State,
    /// Pages deposited and not withdrawn (state pages handed out included).
    pub(crate) deposited: usize,
    /// Pages charged to objects.
    pub(crate) used: usize,
    pub(crate) vps: usize,
    pub(crate) mapped_pages: u64,
}

impl HvSim {
    /// A simulated hypervisor with no partitions and an empty root pool, as the host the
    /// module parameters describe.
    pub(crate) fn new() -> Result<impl PinInit<Self>> {
        let host = host::Host::from_params();
        let synic = synic::Synic::new(host.is_root())?;
        Ok(pin_init!(Self {
            st <- new_spinlock!(SimState {
                partitions: KVec::new(),
                root: Pool::default(),
                calls: [0; COUNTED_CODES],
                nanos: [0; COUNTED_CODES],
                faults: KVec::new(),
                rng: 0,
                query: (0, 0),
                forged: Forged {
                    withdraw: None,
                    state_page: None,
                },
                host,
                outbox: KVec::new(),
                wake_runner: false,
            }, "mshv_sim"),
            synic <- synic,
            runner <- new_spinlock!(None, "mshv_sim_runner"),
        }))
    }

    /// Makes the VP runner, once the simulator is in its place.
    pub(crate) fn start(self: Pin<&Self>) -> Result {
        let me = core::ptr::from_ref(&*self).cast::<core::ffi::c_void>();
        // SAFETY: The simulator is pinned and drops the runner (waiting for it) first.
        let w = unsafe { glue::synic::Work::new(run_vps, me)? };
        *self.runner.lock() = Some(w);
        Ok(())
    }

    /// Reads SynIC MSR `msr` of `cpu`.
    pub(crate) fn rdmsr(&self, cpu: u32, msr: u32) -> u64 {
        self.synic.rdmsr(cpu, msr)
    }

    /// Writes SynIC MSR `msr` of `cpu`.
    pub(crate) fn wrmsr(&self, cpu: u32, msr: u32, value: u64) {
        self.synic.wrmsr(cpu, msr, value)
    }

    /// Hooks the parent's SynIC handler (`None` unhooks it).
    pub(crate) fn set_isr(&self, isr: Option<unsafe extern "C" fn()>) {
        self.synic.set_isr(isr)
    }

    /// Posts `m` to SINT0 of this CPU, whatever it says (debugfs `synic`).
    pub(crate) fn post_forged(&self, m: &crate::abi::hv::message::Message) {
        let cpu = glue::synic::this_cpu();
        self.synic
            .post(cpu, crate::abi::hv::synic::sint::INTERCEPTION, m);
    }

    /// SynIC messages delivered, and dropped for a full queue.
    pub(crate) fn synic_counts(&self) -> (u64, u64) {
        self.synic.counts()
    }

    /// Posts the messages the last call left in the outbox, to this CPU (where the parent's
    /// call ran), and wakes the runner if a VP became runnable.
    fn post_signals(&self, st: &mut SimState) {
        if core::mem::take(&mut st.wake_runner) {
            if let Some(w) = &*self.runner.lock() {
                w.queue();
            }
        }
        if st.outbox.is_empty() {
            return;
        }
        let cpu = glue::synic::this_cpu();
        for signal in st.outbox.drain_all() {
            match signal {
                Signal::Ready { pt, vp } => self.synic.signal_vp(cpu, pt, vp),
                Signal::Intercept { pt, vp } => self.synic.intercept(cpu, pt, vp),
            }
        }
    }

    /// The runner: one time slice of each VP the hypervisor's scheduler has resumed, then again
    /// while any is still runnable.
    fn run_resumed(&self) {
        let again = {
            let mut st = self.st.lock();
            let again = handlers::run_resumed(&mut st);
            self.post_signals(&mut st);
            again
        };
        if again {
            glue::cond_resched();
            if let Some(w) = &*self.runner.lock() {
                w.queue();
            }
        }
    }

    /// CPUID `leaf` of the simulated host's CPU.
    pub(crate) fn cpuid(&self, leaf: u32) -> core::arch::x86_64::CpuidResult {
        let host = self.st.lock().host;
        host.cpuid(leaf)
    }

    /// Handles a hypercall with memory input.
    ///
    /// # Safety
    ///
    /// `input_pa` and `output_pa` must be the physical addresses of pages the caller owns for
    /// the duration of the call, as for [`crate::hvcall::leaf::Leaf::call`].
    pub(crate) unsafe fn hypercall(&self, control: u64, input_pa: u64, output_pa: u64) -> u64 {
        let c = Control::from_raw(control);
        if c.is_fast() {
            return self.hypercall_fast(control, input_pa, output_pa);
        }
        let (Some(input), Some(output)) = (page_of(input_pa), page_of(output_pa)) else {
            return HvResult::new(status::INVALID_ALIGNMENT, c.rep_start()).raw();
        };
        if input == output {
            return HvResult::new(status::INVALID_PARAMETER, c.rep_start()).raw();
        }
        let offset = (input_pa % HV_PAGE_SIZE as u64) as usize;
        let out_offset = (output_pa % HV_PAGE_SIZE as u64) as usize;
        // SAFETY: The caller owns both pages for the call (safety requirements), they are
        // distinct, and the slices stay inside them.
        let (input, output) = unsafe {
            (
                core::slice::from_raw_parts(input.add(offset), HV_PAGE_SIZE - offset),
                core::slice::from_raw_parts_mut(output.add(out_offset), HV_PAGE_SIZE - out_offset),
            )
        };
        let t = Instant::<Monotonic>::now();
        let mut st = self.st.lock();
        let r = st.dispatch(c, input, Some(output));
        self.post_signals(&mut st);
        st.add_time(c.code(), t);
        r.raw()
    }

    /// Handles a fast hypercall: the input is RDX and R8.
    pub(crate) fn hypercall_fast(&self, control: u64, rdx: u64, r8: u64) -> u64 {
        let mut input = [0u8; 16];
        input[..8].copy_from_slice(&rdx.to_le_bytes());
        input[8..].copy_from_slice(&r8.to_le_bytes());
        let c = Control::from_raw(control);
        let t = Instant::<Monotonic>::now();
        let mut st = self.st.lock();
        let r = st.dispatch(c, &input, None);
        self.post_signals(&mut st);
        st.add_time(c.code(), t);
        r.raw()
    }

    /// Makes the `nth` (1-based) next call of `code` (of any code for `None`) and the
    /// `times - 1` matching calls after it fail with `status`.
    pub(crate) fn inject_fault(
        &self,
        code: Option<u16>,
        nth: u32,
        times: u32,
        status: u16,
    ) -> Result {
        let f = Fault {
            code,
            nth: nth.max(1),
            times: times.max(1),
            status,
        };
        self.st.lock().faults.push(f, GFP_ATOMIC)?;
        Ok(())
    }

    /// Disarms every fault; returns how many had not fired.
    pub(crate) fn clear_faults(&self) -> usize {
        let mut st = self.st.lock();
        let n = st.faults.len();
        st.faults.clear();
        n
    }

    /// Arms (or, with `None`s, disarms) the PFNs the next withdraw and state page map return.
    pub(crate) fn forge(&self, forged: Forged) {
        self.st.lock().forged = forged;
    }

    /// Makes rep calls complete partially, as the hypervisor may, drawing the split from a
    /// generator seeded with `seed`; 0 turns it off.
    pub(crate) fn set_partial_reps(&self, seed: u64) {
        self.st.lock().rng = seed;
    }

    /// How many calls of `code` were made.
    pub(crate) fn calls(&self, code: u16) -> u64 {
        self.st
            .lock()
            .calls
            .get(usize::from(code))
            .copied()
            .unwrap_or(0)
    }

    /// Nanoseconds spent in calls of `code`.
    pub(crate) fn nanos(&self, code: u16) -> u64 {
        self.st
            .lock()
            .nanos
            .get(usize::from(code))
            .copied()
            .unwrap_or(0)
    }

    /// Pages in the root's pool: (deposited, used).
    pub(crate) fn root_pool(&self) -> (usize, usize) {
        let st = self.st.lock();
        (st.root.pfns.len(), st.root.used)
    }

    /// Partitions that exist (not deleted).
    pub(crate) fn partitions(&self) -> usize {
        self.st.lock().partitions.iter().flatten().count()
    }

    /// What there is to know about partition `id`.
    pub(crate) fn partition(&self, id: u64) -> Option<PartitionInfo> {
        let mut st = self.st.lock();
        let p = st.partition(id).ok()?;
        let state_pages = p
            .vps
            .iter()
            .flatten()
            .map(|v| v.state_pages.iter().flatten().count())
            .sum::<usize>();
        Some(PartitionInfo {
            state: p.state,
            deposited: p.pool.pfns.len() + state_pages,
            used: p.pool.used,
            vps: p.vps.iter().flatten().count(),
            mapped_pages: p.gpa.mapped(),
        })
    }

    /// A guest access to `gfn` of partition `id`: sets the accessed (and, for a write, dirty)
    /// bit. Returns false when the page is not mapped with that access (a GPA intercept).
    pub(crate) fn touch(&self, id: u64, gfn: u64, write: bool) -> bool {
        let mut st = self.st.lock();
        match st.partition(id) {
            Ok(p) => p.gpa.touch(gfn, write),
            Err(_) => false,
        }
    }

    /// The mapping of `gfn` in partition `id`: (PFN, HV_MAP_GPA flags).
    pub(crate) fn lookup(&self, id: u64, gfn: u64) -> Option<(u64, u32)> {
        let mut st = self.st.lock();
        st.partition(id).ok()?.gpa.lookup(gfn)
    }

    /// Sets the (partition ID, guest page) [`HvSim::query`] reports on.
    pub(crate) fn set_query(&self, id: u64, gfn: u64) {
        self.st.lock().query = (id, gfn);
    }

    /// The mapping of the page set by [`HvSim::set_query`]: (PFN, HV_MAP_GPA flags).
    pub(crate) fn query(&self) -> Option<(u64, u32)> {
        let (id, gfn) = self.st.lock().query;
        self.lookup(id, gfn)
    }

    /// The IDs of the partitions that exist.
    pub(crate) fn partition_ids(&self) -> Result<KVec<u64>> {
        let st = self.st.lock();
        let mut ids = KVec::new();
        for (i, _) in st
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_some())
        {
            ids.push(i as u64 + 1, GFP_ATOMIC)?;
        }
        Ok(ids)
    }

    /// The value register `name` of VP `vp` holds.
    pub(crate) fn register(&self, id: u64, vp: u32, name: u32) -> Option<u128> {
        let mut st = self.st.lock();
        let v = st.partition(id).ok()?.vp(vp).ok()?;
        let r = v
            .regs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .unwrap_or_default();
        Some(u128::from(r.low) | (u128::from(r.high) << 64))
    }

    /// Every asserted, not yet taken interrupt: (partition ID, VP index, vector).
    pub(crate) fn all_pending(&self) -> Result<KVec<(u64, u32, u32)>> {
        let st = self.st.lock();
        let mut all = KVec::new();
        for (i, p) in st.partitions.iter().enumerate() {
            let Some(p) = p else { continue };
            for (idx, vp) in p.vps.iter().enumerate() {
                for v in vp.iter().flat_map(|vp| vp.pending.iter()) {
                    all.push((i as u64 + 1, idx as u32, *v), GFP_ATOMIC)?;
                }
            }
        }
        Ok(all)
    }

    /// Takes the oldest interrupt the VP has pending, as the guest's EOI ends it; returns its
    /// vector if it was level-triggered.
    pub(super) fn eoi(vp: &mut Vp) -> Option<u32> {
        if vp.pending.is_empty() {
            return None;
        }
        let vector = vp.pending.remove(0).ok()?;
        let i = vp.level.iter().position(|&v| v == vector)?;
        vp.level.remove(i).ok()
    }

    /// Interrupt vectors asserted to VP `vp` and not yet taken.
    pub(crate) fn pending_interrupts(&self, id: u64, vp: u32) -> usize {
        let mut st = self.st.lock();
        st.partition(id)
            .ok()
            .and_then(|p| p.vp(vp).ok())
            .map_or(0, |v| v.pending.len())
    }
}

/// The runner work item's function.
///
/// # Safety
///
/// `ctx` is the [`HvSim`] that made the work item, which drops it before it goes away.
unsafe extern "C" fn run_vps(ctx: *const core::ffi::c_void) {
    // SAFETY: The caller's guarantee.
    let sim = unsafe { &*ctx.cast::<HvSim>() };
    sim.run_resumed();
}

#[pinned_drop]
impl PinnedDrop for HvSim {
    fn drop(self: Pin<&mut Self>) {
        // The runner first: it uses everything else.
        let runner = self.runner.lock().take();
        drop(runner);
        /// Frees pages the simulator still holds; returns how many.
        fn free(pfns: &[u64]) -> usize {
            for &pfn in pfns {
                // SAFETY: Deposited pages are the driver's pages given away (`give_page`); the
                // simulator, their owner now, is going away.
                unsafe { glue::free_given_page(pfn) };
            }
            pfns.len()
        }
        let st = self.st.lock();
        // The root's own pool stays with the hypervisor, as on Hyper-V: not a leak.
        free(&st.root.pfns);
        let mut held = 0;
        let mut live = 0;
        for p in st.partitions.iter().flatten() {
            live += 1;
            held += free(&p.pool.pfns);
            for v in p.vps.iter().flatten() {
                for &pfn in v.state_pages.iter().flatten() {
                    held += free(&[pfn]);
                }
            }
        }
        if held != 0 || live != 0 {
            // A driver that tears down in order leaves nothing behind; the test bed counts this
            // line as a failure.
            pr_err!("simulator: {live} partitions never deleted, {held} pages never withdrawn\n");
        }
    }
}

/// Reads a `T` from `b` at `off`, if it fits.
fn rd<T: FromBytes>(b: &[u8], off: usize) -> Option<T> {
    T::from_bytes_copy(b.get(off..off + core::mem::size_of::<T>())?)
}

/// Writes `v` into `b` at `off`; the caller has checked that it fits.
fn wr<T: AsBytes>(b: &mut [u8], off: usize, v: &T) {
    let bytes = AsBytes::as_bytes(v);
    b[off..off + bytes.len()].copy_from_slice(bytes);
}

/// The direct-map address of the page containing `pa`, if `pa` is 8-byte aligned RAM.
fn page_of(pa: u64) -> Option<*mut u8> {
    if pa % 8 != 0 {
        return None;
    }
    let page = glue::phys_to_virt(pa & !(HV_PAGE_SIZE as u64 - 1))?;
    Some(page.as_ptr())
}

impl SimState {
    /// Looks a partition up.
    fn partition(&mut self, id: u64) -> Result<&mut Partition, u16> {
        let idx = id.checked_sub(1).ok_or(status::INVALID_PARTITION_ID)?;
        self.partitions
            .get_mut(usize::try_from(idx).map_err(|_| status::INVALID_PARTITION_ID)?)
            .and_then(|p| p.as_deref_mut())
            .ok_or(status::INVALID_PARTITION_ID)
    }

    /// The pool `id` names: the root's for `HV_PARTITION_ID_SELF`.
    fn pool(&mut self, id: u64) -> Result<&mut Pool, u16> {
        if id == HV_PARTITION_ID_SELF {
            return Ok(&mut self.root);
        }
        Ok(&mut self.partition(id)?.pool)
    }

    /// Fires an armed fault for `code`, if one is due.
    fn take_fault(&mut self, code: u16) -> Option<u16> {
        let mut fired = None;
        let mut i = 0;
        while i < self.faults.len() {
            let f = &mut self.faults[i];
            if f.code.is_none_or(|c| c == code) {
                if f.nth > 1 {
                    f.nth -= 1;
                } else if fired.is_none() {
                    fired = Some(f.status);
                    f.times -= 1;
                    if f.times == 0 {
                        let _ = self.faults.remove(i);
                        continue;
                    }
                }
            }
            i += 1;
        }
        fired
    }

    /// How many of `remaining` reps to complete in this call: all, unless partial completion
    /// is on, then at least one (xorshift64 keeps it deterministic for a seed).
    fn rep_quota(&mut self, remaining: usize) -> usize {
        if self.rng == 0 || remaining <= 1 {
            return remaining;
        }
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        1 + (x % remaining as u64) as usize
    }

    /// Adds the time since `t` to the calls of `code`.
    fn add_time(&mut self, code: u16, t: Instant<Monotonic>) {
        if let Some(n) = self.nanos.get_mut(usize::from(code)) {
            *n += u64::try_from(t.elapsed().as_nanos()).unwrap_or(0);
        }
    }

    /// Validates the control word and the input shape of `c`, then runs the call.
    fn dispatch(&mut self, c: Control, input: &[u8], output: Option<&mut [u8]>) -> HvResult {
        let code = c.code();
        if let Some(n) = self.calls.get_mut(usize::from(code)) {
            *n += 1;
        }
        let start = c.rep_start();
        let fail = |s| HvResult::new(s, start);
        if c.has_reserved_bits() {
            return fail(status::INVALID_HYPERCALL_INPUT);
        }
        if let Some(s) = self.take_fault(code) {
            return fail(s);
        }
        let Some(spec) = handlers::spec(code) else {
            return fail(status::INVALID_HYPERCALL_CODE);
        };
        let count = c.rep_count();
        let shape_ok = (spec.rep == (count != 0))
            && (if count == 0 {
                start == 0
            } else {
                start < count
            })
            && (spec.varhead || c.varhead_bytes() == 0)
            && (!c.is_fast() || spec.fast);
        let in_len = spec.head + c.varhead_bytes() + count * spec.elem_in;
        let out_len = spec.out + count * spec.elem_out;
        if !shape_ok || in_len > input.len() {
            return fail(status::INVALID_HYPERCALL_INPUT);
        }
        let mut none: [u8; 0] = [];
        let output = match output {
            Some(o) if out_len <= o.len() => o,
            None if out_len == 0 => &mut none[..],
            _ => return fail(status::INVALID_HYPERCALL_INPUT),
        };
        // Handlers see the whole page: some calls (VP state) carry data past what the control
        // word declares.
        match (spec.run)(self, c, input, output) {
            Ok(done) => HvResult::new(status::SUCCESS, done),
            Err((s, done)) => HvResult::new(s, done),
        }
    }
}
