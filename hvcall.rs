// SPDX-License-Identifier: GPL-2.0

//! The hypercall layer: the only way the driver talks to the hypervisor.
//!
//! Everything here is safe Rust above one `unsafe` edge, the leaf ([`crate::hvcall::leaf`]):
//!
//! - [`Control`] encodes the control word (call code, fast bit, variable-header size, rep count
//!   and start) and [`HvResult`] decodes the result (status, reps completed);
//! - each CPU has an input and an output page, used only with interrupts off ([`IrqSave`]);
//!   a call finds the input page zero past its own input, and gets back from the output page
//!   only bytes it set or cleared before the call or the hypervisor wrote during it; the guard
//!   restores interrupts on every path;
//! - rep hypercalls are re-issued from reps-completed until done or stopped by a status;
//! - a shortage of hypervisor memory is answered by depositing pages and retrying, a bounded
//!   number of times ([`MAX_DEPOSIT_ROUNDS`]), with a clear error when the bound is hit;
//! - statuses map to errno as upstream's `hv_result_to_errno()` does.
//!
//! The typed calls live in [`calls`].

use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicUsize,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    page::Page,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use crate::{
    abi::hv::{
        code,
        status,
        Control,
        HvError,
        HvResult,
        HV_PAGE_SIZE,
        HV_PARTITION_ID_SELF, //
    },
    glue::{
        self,
        Charge,
        IrqSave, //
    },
    hvcall::leaf::Leaf,
};

pub(crate) mod calls;
pub(crate) mod leaf;
mod ledger;
// The simulator's own suite drives it through this layer, so it lives here.
#[cfg(all(mshv_sim, CONFIG_KUNIT = "y"))]
mod sim_tests;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;

use ledger::Ledger;

impl HvError {
    /// The errno for this status.
    pub(crate) fn to_errno(self) -> Error {
        status_to_errno(self.0)
    }
}

impl From<HvError> for Error {
    fn from(e: HvError) -> Self {
        e.to_errno()
    }
}

/// Maps a hypervisor status to an errno, as upstream's `hv_result_to_errno()` does.
pub(crate) fn status_to_errno(s: u16) -> Error {
    use status::*;
    match s {
        INVALID_HYPERCALL_CODE
        | INVALID_HYPERCALL_INPUT
        | INVALID_PARAMETER
        | UNKNOWN_PROPERTY
        | PROPERTY_VALUE_OUT_OF_RANGE
        | INVALID_PARTITION_ID
        | INVALID_VP_INDEX
        | INVALID_PORT_ID
        | INVALID_CONNECTION_ID
        | INVALID_LP_INDEX
        | INVALID_REGISTER_VALUE => EINVAL,
        ACCESS_DENIED | OPERATION_DENIED => EACCES,
        INSUFFICIENT_MEMORY
        | INSUFFICIENT_ROOT_MEMORY
        | INSUFFICIENT_CONTIGUOUS_MEMORY
        | INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY => ENOMEM,
        PROCESSOR_FEATURE_NOT_SUPPORTED => EOPNOTSUPP,
        _ => EIO,
    }
}

/// How many times one hypercall may be retried after depositing memory. Each round deposits
/// twice the previous amount, so the bound is reached only when the hypervisor keeps asking
/// after about a thousand pages (4 MiB) for one call.
pub(crate) const MAX_DEPOSIT_ROUNDS: u32 = 10;

/// The most pages one `HvCallDepositMemory` carries: a page of PFNs after the partition ID.
pub(crate) const DEPOSIT_MAX_PAGES: usize = (HV_PAGE_SIZE - 8) / 8;

/// What a shortage status asks for: which pool, how many pages, contiguous or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shortage {
    /// The partition whose pool to deposit to.
    pub(crate) partition_id: u64,
    /// Pages for the first round (doubled on each further round).
    pub(crate) pages: usize,
    /// Whether the pages must come in physically contiguous blocks of 8.
    pub(crate) contiguous: bool,
}

impl Shortage {
    /// What `status` asks for, for a call whose own memory comes from `partition_id`'s pool;
    /// `None` when the status is not a shortage.
    pub(crate) fn of(status: u16, partition_id: u64) -> Option<Self> {
        let (partition_id, pages, contiguous) = match status {
            status::INSUFFICIENT_MEMORY => (partition_id, 1, false),
            status::INSUFFICIENT_CONTIGUOUS_MEMORY => (partition_id, 8, true),
            status::INSUFFICIENT_ROOT_MEMORY => (HV_PARTITION_ID_SELF, 1, false),
            status::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY => (HV_PARTITION_ID_SELF, 8, true),
            _ => return None,
        };
        Some(Self {
            partition_id,
            pages,
            contiguous,
        })
    }

    /// The pages to deposit in round `round` (0-based).
    pub(crate) fn pages_in_round(self, round: u32) -> usize {
        self.pages
            .checked_shl(round)
            .unwrap_or(DEPOSIT_MAX_PAGES)
            .min(DEPOSIT_MAX_PAGES)
    }
}

/// One input and one output page.
///
/// # Invariants
///
/// `input` and `output` are the direct-map addresses of `_pages[0]` and `_pages[1]`, and `*_pa`
/// their physical addresses. The input page is zero from byte `input_used` on.
struct PagePair {
    input: NonNull<u8>,
    output: NonNull<u8>,
    input_pa: u64,
    output_pa: u64,
    /// Bytes of the input page the last call wrote (only its own CPU touches it, with the pair
    /// held).
    input_used: AtomicUsize,
    _pages: [Page; 2],
}

impl PagePair {
    fn new() -> Result<Self> {
        let pages = [glue::alloc_zeroed_page()?, glue::alloc_zeroed_page()?];
        let input = glue::page_address(&pages[0]);
        let output = glue::page_address(&pages[1]);
        // INVARIANT: The addresses are those of the two pages just allocated, both zeroed.
        Ok(Self {
            input,
            output,
            input_pa: glue::virt_to_phys(input.as_ptr()),
            output_pa: glue::virt_to_phys(output.as_ptr()),
            input_used: AtomicUsize::new(0),
            _pages: pages,
        })
    }
}

/// One CPU's hypercall pages: a pair used with interrupts off, and a pair for
/// `HvCallDispatchVp` used with preemption off (a dispatch can last long; interrupts must
/// stay on, as upstream's root scheduler has it).
///
/// # Invariants
///
/// The pairs are only accessed through [`Hv::with_pages`] on their own CPU: the first with
/// interrupts off, the second with preemption off, and never by interrupt handlers.
struct CpuPages {
    irq_off: PagePair,
    dispatch: PagePair,
}

/// How a CPU's pages are held: which pair, under which guard.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Interrupts off: every hypercall but `HvCallDispatchVp`.
    IrqOff,
    /// Preemption off: `HvCallDispatchVp`.
    Dispatch,
}

/// The driver's handle on the hypervisor: per-CPU hypercall pages and the leaf.
///
/// # Invariants
///
/// `cpus` has one entry per possible CPU id (`nr_cpu_ids`).
pub(crate) struct Hv {
    cpus: KVec<CpuPages>,
    leaf: Leaf,
    /// The pages deposited, by pool: what the hypervisor hands back is checked against it.
    ledger: Pin<KBox<Ledger>>,
}

// SAFETY: The raw page pointers in `cpus` are only dereferenced by their own CPU under the
// guard of `with_pages`, so sharing and sending `Hv` between threads cannot race on them.
unsafe impl Send for Hv {}
// SAFETY: See above.
unsafe impl Sync for Hv {}

/// A CPU's input and output pages, lent under the guard that protects them.
///
/// # Invariants
///
/// The pages are exclusively this object's for its lifetime (see [`CpuPages`]). References to
/// them are only made for the span of one method, never across a hypercall, during which the
/// hypervisor writes the output page.
pub(crate) struct PageIo<'a> {
    pages: &'a PagePair,
    leaf: &'a Leaf,
}

/// Copies `v` into `buf` at `off`; the caller has checked that it fits.
fn put<T: AsBytes + ?Sized>(buf: &mut [u8], off: usize, v: &T) {
    let b = AsBytes::as_bytes(v);
    buf[off..off + b.len()].copy_from_slice(b);
}

impl PageIo<'_> {
    /// The input page.
    fn input(&mut self) -> &mut [u8; HV_PAGE_SIZE] {
        // SAFETY: By the type invariant the page is ours, and the reference lives no longer
        // than this borrow of `self`, which no hypercall overlaps.
        unsafe { &mut *self.pages.input.as_ptr().cast() }
    }

    /// The output page.
    fn output(&mut self) -> &mut [u8; HV_PAGE_SIZE] {
        // SAFETY: As for `input`.
        unsafe { &mut *self.pages.output.as_ptr().cast() }
    }

    /// Issues a hypercall whose input is `parts` laid end to end; output bytes come back into
    /// `out`. With `from`, bytes `from..out.len()` are cleared before the call and come back
    /// (a re-issued rep call's `out[..from]` holds the reps done before); without, the page
    /// starts as all of `out` and all of it comes back (for outputs of any layout). Either
    /// way nothing an earlier call left in the page comes back.
    fn issue(
        &mut self,
        c: Control,
        parts: &[&[u8]],
        out: &mut [u8],
        from: Option<usize>,
    ) -> HvResult {
        let mut len = 0;
        for p in parts {
            put(&mut self.input()[..], len, *p);
            len += p.len();
        }
        // Past this input the page must be zero: clear what a longer call left there. Calls of
        // one length in a row (a map's batches) clear nothing.
        let used = self.pages.input_used.load(Ordering::Relaxed);
        if used > len {
            self.input()[len..used].fill(0);
        }
        // INVARIANT: The page is zero from `len` on.
        self.pages.input_used.store(len, Ordering::Relaxed);
        let n = out.len();
        let from = match from {
            Some(from) => {
                let from = from.min(n);
                self.output()[from..n].fill(0);
                from
            }
            None => {
                self.output()[..n].copy_from_slice(out);
                0
            }
        };
        // SAFETY: The pages are ours for the life of `self` (type invariant) and no reference
        // to them is alive across the call.
        let r = unsafe {
            self.leaf
                .call(c.raw(), self.pages.input_pa, self.pages.output_pa)
        };
        out[from..].copy_from_slice(&self.output()[from..n]);
        HvResult::from_raw(r)
    }
}

/// Issues `base` for reps `start..count` (a simple call when `count` is 0), re-issuing from
/// reps-completed while the hypervisor returns early with success. `out` is the output
/// bytes, kept across the re-issues; `per_rep` when they are `count` elements of one size.
/// Returns the reps completed and how the last issue ended.
#[expect(clippy::too_many_arguments)]
fn issue_reps(
    io: &mut PageIo<'_>,
    code: u16,
    base: Control,
    parts: &[&[u8]],
    out: &mut [u8],
    count: usize,
    start: usize,
    per_rep: bool,
) -> (usize, Result<(), HvError>) {
    let mut done = start;
    loop {
        let Some(c) = base.rep(count, done) else {
            break (done, Err(HvError(status::INVALID_HYPERCALL_INPUT)));
        };
        // The output of reps `..done` came back with the earlier issues: only the rest is
        // cleared and copied (output of another layout goes whole both ways).
        let from = per_rep.then(|| out.len().checked_div(count).unwrap_or(0) * done);
        let r = io.issue(c, parts, out, from);
        if count == 0 {
            break (0, r.ok());
        }
        let completed = r.reps_completed();
        // The result is the hypervisor's word: never trust it past what was asked, and never
        // loop on a success that completed nothing.
        let stuck = r.ok().is_ok() && completed == done && done < count;
        if completed < done || completed > count || stuck {
            pr_err!("hypercall {code:#x}: {completed} reps completed of {done}..{count}\n");
            break (done, Err(HvError(status::INVALID_HYPERCALL_INPUT)));
        }
        done = completed;
        match r.ok() {
            Ok(()) if done < count => glue::touch_nmi_watchdog(),
            res => break (done, res),
        }
    }
}

impl Hv {
    /// Allocates the per-CPU pages and makes the leaf.
    pub(crate) fn new() -> Result<Self> {
        let n = nr_cpu_ids() as usize;
        let mut cpus = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            let pages = CpuPages {
                irq_off: PagePair::new()?,
                dispatch: PagePair::new()?,
            };
            cpus.push(pages, GFP_KERNEL)?;
        }
        // INVARIANT: One entry per CPU id.
        Ok(Self {
            cpus,
            leaf: Leaf::new()?,
            ledger: KBox::pin_init(Ledger::new(), GFP_KERNEL)?,
        })
    }

    /// The leaf below this handle (the simulator build reaches the simulator through it).
    #[cfg(mshv_sim)]
    pub(crate) fn leaf(&self) -> &Leaf {
        &self.leaf
    }

    /// Runs `f` with this CPU's pages of kind `hold`, under their guard.
    fn with_pages<R>(&self, hold: Hold, f: impl FnOnce(&mut PageIo<'_>) -> R) -> R {
        let _irq;
        let _preempt;
        let cpu = if hold == Hold::IrqOff {
            _irq = IrqSave::new();
            &self.cpus[CpuId::current().as_u32() as usize].irq_off
        } else {
            _preempt = glue::PreemptGuard::new();
            &self.cpus[CpuId::current().as_u32() as usize].dispatch
        };
        // INVARIANT: With interrupts off (or, for the dispatch pages, which no interrupt handler
        // uses, preemption off) nothing else on this CPU uses the pages until the guard drops,
        // and no other CPU touches them. `with_pages` does not nest: `f` gets a `PageIo`,
        // which cannot reach `self`.
        let mut io = PageIo {
            pages: cpu,
            leaf: &self.leaf,
        };
        f(&mut io)
    }

    /// A simple hypercall with memory input and no output.
    pub(crate) fn call<I: AsBytes>(&self, code: u16, input: &I) -> Result<(), HvError> {
        self.with_pages(Hold::IrqOff, |io| {
            io.issue(
                Control::new(code),
                &[AsBytes::as_bytes(input)],
                &mut [],
                Some(0),
            )
        })
        .ok()
    }

    /// A simple hypercall with memory input and output.
    pub(crate) fn call_out<I: AsBytes, O: FromBytes>(
        &self,
        code: u16,
        input: &I,
    ) -> Result<O, HvError> {
        self.call_out_on(Hold::IrqOff, code, input)
    }

    /// `HvCallDispatchVp`: as [`Hv::call_out`], with preemption off instead of interrupts (a
    /// dispatch runs the guest).
    pub(crate) fn call_dispatch<I: AsBytes, O: FromBytes>(
        &self,
        code: u16,
        input: &I,
    ) -> Result<O, HvError> {
        self.call_out_on(Hold::Dispatch, code, input)
    }

    fn call_out_on<I: AsBytes, O: FromBytes>(
        &self,
        hold: Hold,
        code: u16,
        input: &I,
    ) -> Result<O, HvError> {
        const { assert!(core::mem::size_of::<O>() <= 64) };
        let mut buf = [0u8; 64];
        let out = &mut buf[..core::mem::size_of::<O>()];
        self.with_pages(hold, |io| {
            io.issue(
                Control::new(code),
                &[AsBytes::as_bytes(input)],
                out,
                Some(0),
            )
        })
        .ok()?;
        // PANIC: `out` has the size of `O`.
        Ok(O::from_bytes_copy(out).expect("output has the size of O"))
    }

    /// A fast hypercall with 8 bytes of register input.
    pub(crate) fn fast8(&self, code: u16, a: u64) -> Result<(), HvError> {
        self.fast16(code, a, 0)
    }

    /// A fast hypercall with 16 bytes of register input.
    pub(crate) fn fast16(&self, code: u16, a: u64, b: u64) -> Result<(), HvError> {
        HvResult::from_raw(self.leaf.call_fast(Control::new(code).raw(), a, b)).ok()
    }

    /// A rep hypercall: `head`, then `varhead`, then one `input` element per rep; one `output`
    /// element per rep comes back. Runs `reps` (`start..count`), re-issuing the call from
    /// reps-completed while the hypervisor returns early; returns the reps completed and how
    /// the last issue ended. With `count` 0 it is a simple call (its variable header included).
    ///
    /// `count` must be `input.len()` or `output.len()` where either is non-empty.
    pub(crate) fn rep<H, E, O>(
        &self,
        code: u16,
        head: &H,
        varhead: &[u64],
        input: &[E],
        output: &mut [O],
        reps: core::ops::Range<usize>,
    ) -> (usize, Result<(), HvError>)
    where
        H: AsBytes,
        E: AsBytes,
        O: FromBytes + AsBytes,
    {
        let (start, count) = (reps.start, reps.end);
        let in_len = AsBytes::as_bytes(head).len()
            + AsBytes::as_bytes(varhead).len()
            + AsBytes::as_bytes(input).len();
        let out = AsBytes::as_bytes_mut(output);
        let fits = in_len <= HV_PAGE_SIZE
            && out.len() <= HV_PAGE_SIZE
            && (input.is_empty() || input.len() == count)
            && (out.is_empty() || out.len() % count.max(1) == 0 && out.len() / count.max(1) > 0);
        let base = match Control::new(code).varhead(AsBytes::as_bytes(varhead).len()) {
            Some(b) if fits && b.rep(count, start).is_some() => b,
            // A driver bug, answered as the hypervisor would answer such input.
            _ => return (start, Err(HvError(status::INVALID_HYPERCALL_INPUT))),
        };
        let parts = [
            AsBytes::as_bytes(head),
            AsBytes::as_bytes(varhead),
            AsBytes::as_bytes(input),
        ];
        self.with_pages(Hold::IrqOff, |io| {
            // `fits` checked that the output is `count` elements (or none).
            issue_reps(io, code, base, &parts, out, count, start, true)
        })
    }

    /// A hypercall from userspace (`MSHV_ROOT_HVCALL`): `input` as it is, `reps` reps (0 for a
    /// simple call) from `start`; `output` receives the output page's first bytes (and is what
    /// the output page starts as, so the output of reps completed earlier is kept, whatever
    /// its layout). Returns the reps completed and how the last issue ended.
    pub(crate) fn passthrough(
        &self,
        code: u16,
        input: &[u8],
        reps: usize,
        start: usize,
        output: &mut [u8],
    ) -> (usize, Result<(), HvError>) {
        let base = Control::new(code);
        if input.len() > HV_PAGE_SIZE
            || output.len() > HV_PAGE_SIZE
            || base.rep(reps, start).is_none()
        {
            return (start, Err(HvError(status::INVALID_HYPERCALL_INPUT)));
        }
        self.with_pages(Hold::IrqOff, |io| {
            issue_reps(io, code, base, &[input], output, reps, start, false)
        })
    }

    /// Deposits `n` (at most [`DEPOSIT_MAX_PAGES`]) new pages into `partition_id`'s pool; with
    /// `contiguous`, in physically contiguous blocks of 8. The pages are zeroed, recorded in the
    /// ledger, and charged to the caller's memory cgroup, but for the root's own pool: what it
    /// holds serves every partition and is never withdrawn.
    pub(crate) fn deposit(&self, partition_id: u64, n: usize, contiguous: bool) -> Result {
        let n = n.min(DEPOSIT_MAX_PAGES);
        // Contiguous pages come in whole blocks of 8.
        let n = if contiguous { (n / 8).max(1) * 8 } else { n };
        let charge = if partition_id == HV_PARTITION_ID_SELF {
            Charge::Shared
        } else {
            Charge::Caller
        };
        // Room for every PFN and its ledger entry first, so nothing can fail once pages are
        // allocated.
        let mut pfns = KVec::with_capacity(n, GFP_KERNEL_ACCOUNT)?;
        let mut room = Ledger::reserve(n, charge.flags())?;
        while pfns.len() < n {
            let allocated = if contiguous {
                glue::alloc_block_of_8(charge).map(|block| {
                    for pfn in block {
                        let _ = pfns.push_within_capacity(pfn);
                    }
                })
            } else {
                Page::alloc_page(charge.flags() | __GFP_ZERO)
                    .map(|p| {
                        let _ = pfns.push_within_capacity(glue::give_page(p));
                    })
                    .map_err(Error::from)
            };
            if let Err(e) = allocated {
                for &pfn in &pfns {
                    // SAFETY: These pages were allocated above and not deposited.
                    unsafe { glue::free_given_page(pfn) };
                }
                return Err(e);
            }
        }
        // Recorded first: a page the hypervisor hands out (as a state page, to a VP of another
        // thread) or back the moment it took it is the ledger's already.
        self.ledger.record(partition_id, &pfns, &mut room);
        let head = crate::abi::hv::PartitionIdIn { partition_id };
        let count = pfns.len();
        let (done, result) =
            self.rep::<_, _, u64>(code::DEPOSIT_MEMORY, &head, &[], &pfns, &mut [], 0..count);
        // The hypervisor owns what it took; the rest is ours to free.
        for &pfn in &pfns[done.min(count)..] {
            if self.ledger.take(partition_id, pfn) {
                // SAFETY: These pages were allocated above and not taken by the hypervisor.
                unsafe { glue::free_given_page(pfn) };
            }
        }
        result.map_err(|e| {
            pr_err!(
                "depositing {n} pages to partition {partition_id:#x} failed: status {:#x}\n",
                e.0
            );
            e.to_errno()
        })
    }

    /// Whether `pfn` may be a state page of partition `pt`'s VPs: a page deposited to its pool
    /// or to the root's. Anything else the hypervisor names is not the driver's to touch.
    pub(crate) fn is_deposited(&self, pt: u64, pfn: u64) -> bool {
        self.ledger.holds(pfn, pt, HV_PARTITION_ID_SELF)
    }

    /// Pages the ledger records as deposited (the simulator's tests compare it with its
    /// pools).
    #[cfg(mshv_sim)]
    pub(crate) fn deposited_pages(&self) -> usize {
        self.ledger.count()
    }

    /// Runs `op` and, while the hypervisor answers with a memory shortage, deposits and runs it
    /// again: at most [`MAX_DEPOSIT_ROUNDS`] times. `partition_id` names the pool the call
    /// draws from (`HV_PARTITION_ID_SELF` for the root's own).
    pub(crate) fn with_deposits<T>(
        &self,
        partition_id: u64,
        what: &str,
        op: impl FnMut(&Self) -> Result<T, HvError>,
    ) -> Result<T> {
        self.with_deposits_from(partition_id, what, 0, op)
    }

    /// As [`Hv::with_deposits`], depositing at least `first` pages in the first round: for calls
    /// known to need many (mapping guest memory: upstream deposits 256 pages).
    pub(crate) fn with_deposits_from<T>(
        &self,
        partition_id: u64,
        what: &str,
        first: usize,
        mut op: impl FnMut(&Self) -> Result<T, HvError>,
    ) -> Result<T> {
        for round in 0..=MAX_DEPOSIT_ROUNDS {
            let e = match op(self) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let Some(short) = Shortage::of(e.status(), partition_id) else {
                return Err(e.to_errno());
            };
            if round == MAX_DEPOSIT_ROUNDS {
                break;
            }
            let pages = Shortage {
                pages: short.pages.max(first),
                ..short
            }
            .pages_in_round(round);
            self.deposit(short.partition_id, pages, short.contiguous)?;
        }
        pr_err!(
            "{what}: the hypervisor is still short of memory after {MAX_DEPOSIT_ROUNDS} deposits; giving up\n"
        );
        Err(ENOMEM)
    }

    /// Withdraws every free page of `partition_id`'s pool and frees it; returns how many were
    /// freed (pages the ledger does not know are left alone).
    pub(crate) fn withdraw_all(&self, partition_id: u64) -> Result<usize> {
        const BATCH: usize = HV_PAGE_SIZE / 8;
        let head = crate::abi::hv::MemoryPoolIn {
            partition_id,
            proximity_domain_info: 0,
        };
        let mut pfns = KVec::from_elem(0u64, BATCH, GFP_KERNEL)?;
        let mut total = 0;
        loop {
            let (done, result) =
                self.rep::<_, u64, _>(code::WITHDRAW_MEMORY, &head, &[], &[], &mut pfns, 0..BATCH);
            for &pfn in &pfns[..done] {
                // Only a page deposited to this pool is freed: the hypervisor's word is not
                // enough.
                if !self.ledger.take(partition_id, pfn) {
                    pr_err!(
                        "withdraw: the hypervisor returned PFN {pfn:#x}, which this driver never deposited to partition {partition_id:#x}; left alone\n"
                    );
                    continue;
                }
                // SAFETY: The ledger recorded the page as allocated by this driver and given to
                // this pool, and took it out: it is ours again, once.
                unsafe { glue::free_given_page(pfn) };
                total += 1;
            }
            glue::cond_resched();
            match result {
                // An empty pool ends the withdrawal.
                Err(HvError(status::NO_RESOURCES)) => return Ok(total),
                Err(e) => return Err(e.to_errno()),
                Ok(()) if done < BATCH => return Ok(total),
                Ok(()) => {}
            }
        }
    }
}
