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
//!   number of times ([`deposit::MAX_DEPOSIT_ROUNDS`]), with a clear error when the bound is hit;
//! - statuses map to errno as upstream's `hv_result_to_errno()` does.
//!
//! The typed calls live in [`calls`].

use kernel::{
    cpu::nr_cpu_ids,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use crate::{
    abi::hv::{
        status,
        Control,
        HvError,
        HvResult,
        HV_PAGE_SIZE,
        HV_PARTITION_ID_SELF, //
    },
    hvcall::leaf::Leaf,
    mshv_host::Host,
};

pub(crate) mod calls;
pub(crate) mod deposit;
pub(crate) mod leaf;
mod ledger;
mod pages;
// The simulator's own suite drives it through this layer, so it lives here.
#[cfg(all(mshv_sim, CONFIG_KUNIT = "y"))]
mod sim_tests;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;

pub(crate) use deposit::Shortage;
use ledger::Ledger;
use pages::{
    issue_reps,
    CpuPages,
    Hold,
    PagePair, //
};

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
    /// What module init found out about the host.
    host: Host,
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
            host: Host::ASSUMED,
        })
    }

    /// The host module init probed ([`Host::ASSUMED`] until then).
    pub(crate) fn host(&self) -> &Host {
        &self.host
    }

    /// Records what module init found out about the host, before the handle is shared.
    pub(crate) fn set_host(&mut self, host: Host) {
        self.host = host;
    }

    /// CPUID `leaf`, as the hypervisor presents it (see [`Leaf::cpuid`]).
    pub(crate) fn cpuid(&self, leaf: u32) -> core::arch::x86_64::CpuidResult {
        self.leaf.cpuid(leaf)
    }

    /// The leaf below this handle: SynIC MSRs and the interrupt hook go through it too.
    pub(crate) fn synic_leaf(&self) -> &Leaf {
        &self.leaf
    }

    /// The leaf below this handle (the simulator build reaches the simulator through it).
    #[cfg(mshv_sim)]
    pub(crate) fn leaf(&self) -> &Leaf {
        &self.leaf
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
}
