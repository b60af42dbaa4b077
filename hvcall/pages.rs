// SPDX-License-Identifier: GPL-2.0

//! The per-CPU hypercall input and output pages, how a call holds them (interrupts or
//! preemption off), and how a call and its rep restarts are issued through them.

use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicUsize,
        Ordering, //
    },
};

use kernel::{
    cpu::CpuId,
    page::Page,
    prelude::*,
    transmute::AsBytes, //
};

use super::{
    Hv,
    HvError,
    HvResult, //
};
use crate::{
    abi::hv::{
        status,
        Control,
        HV_PAGE_SIZE, //
    },
    glue::{
        self,
        IrqSave, //
    },
    hvcall::leaf::Leaf,
};

/// One input and one output page.
///
/// # Invariants
///
/// `input` and `output` are the direct-map addresses of `_pages[0]` and `_pages[1]`, and `*_pa`
/// their physical addresses. The input page is zero from byte `input_used` on.
pub(super) struct PagePair {
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
    pub(super) fn new() -> Result<Self> {
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
pub(super) struct CpuPages {
    pub(super) irq_off: PagePair,
    pub(super) dispatch: PagePair,
}

/// How a CPU's pages are held: which pair, under which guard.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Hold {
    /// Interrupts off: every hypercall but `HvCallDispatchVp`.
    IrqOff,
    /// Preemption off: `HvCallDispatchVp`.
    Dispatch,
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
pub(super) fn put<T: AsBytes + ?Sized>(buf: &mut [u8], off: usize, v: &T) {
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
    pub(super) fn issue(
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
pub(super) fn issue_reps(
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
    /// Runs `f` with this CPU's pages of kind `hold`, under their guard.
    pub(super) fn with_pages<R>(&self, hold: Hold, f: impl FnOnce(&mut PageIo<'_>) -> R) -> R {
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
}
