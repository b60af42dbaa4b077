// SPDX-License-Identifier: GPL-2.0

//! irqfds: an eventfd whose every signal asserts the MSI its GSI is routed to.
//!
//! The eventfd side (the wait-queue entry, the poll table, the injection work item) is C, in
//! `glue/irqfd.c`: it consumes the count in the wake callback and queues a work item, and
//! the work item calls `mshv_rs_irqfd_inject` (in `mshv_partition/irqfd.rs`) with the partition
//! that owns the irqfd. This file is the only one that calls that C; it knows nothing of the
//! partition.

use core::ptr::NonNull;

use kernel::{
    error::from_err_ptr,
    ffi::c_void,
    prelude::*, //
};

mod ffi {
    use kernel::ffi::{
        c_int,
        c_void, //
    };

    extern "C" {
        pub(super) fn mshv_rs_irqfd_new(fd: c_int, owner: *const c_void, gsi: u32) -> *mut c_void;
        pub(super) fn mshv_rs_irqfd_ctx(irqfd: *const c_void) -> *const c_void;
        pub(super) fn mshv_rs_irqfd_hup(irqfd: *const c_void) -> bool;
        pub(super) fn mshv_rs_irqfd_arm(irqfd: *mut c_void);
        pub(super) fn mshv_rs_irqfd_free(irqfd: *mut c_void);
        pub(super) fn mshv_rs_eventfd_ctx_get(fd: c_int) -> *const c_void;
        pub(super) fn mshv_rs_eventfd_ctx_put(ctx: *const c_void);
        pub(super) fn mshv_rs_eventfd_signal(ctx: *const c_void);
    }
}

/// An irqfd of a partition.
///
/// # Invariants
///
/// `raw` was returned by `mshv_rs_irqfd_new` and is freed only by `drop`. Its owner (the
/// partition, which `mshv_rs_irqfd_inject` is called with) drops every irqfd before it is itself
/// freed.
pub(crate) struct Irqfd {
    raw: NonNull<c_void>,
    /// The GSI it raises (also known to the C side, which injects it).
    gsi: u32,
    /// The eventfd context, for identity comparisons only.
    ctx: *const c_void,
    /// With `MSHV_IRQFD_BIT_RESAMPLE`: signalled when the guest ends the (level-triggered)
    /// interrupt, for the VMM to assert it again if its line is still up.
    resample: Option<EventfdCtx>,
}

// SAFETY: The C object is not tied to a thread: it may be armed and freed from any task.
unsafe impl Send for Irqfd {}
// SAFETY: `&Irqfd` only reads fields the C side never changes after creation.
unsafe impl Sync for Irqfd {}

impl Irqfd {
    /// Takes a reference to the eventfd `fd` for an irqfd of `owner` on `gsi` (`EBADF` for a
    /// bad fd, `EINVAL` for a file that is not an eventfd); not yet armed, and not resampling
    /// until [`Irqfd::set_resample`].
    ///
    /// # Safety
    ///
    /// `owner` must be what `mshv_rs_irqfd_inject` and `mshv_rs_irqfd_hangup` take it for, and
    /// drop the irqfd before it is freed: the injection work item uses it until then.
    pub(crate) unsafe fn new(fd: i32, owner: *const c_void, gsi: u32) -> Result<Self> {
        // SAFETY: `mshv_rs_irqfd_new` takes any fd; `owner` outlives the irqfd (the caller's
        // promise), as the callbacks require.
        let raw = unsafe { ffi::mshv_rs_irqfd_new(fd, owner, gsi) };
        let raw = from_err_ptr(raw)?;
        // INVARIANT: `raw` came from `mshv_rs_irqfd_new`, and is not an error; the caller
        // promised the owner drops it first.
        let raw = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: `raw` is live; its context never changes.
        let ctx = unsafe { ffi::mshv_rs_irqfd_ctx(raw.as_ptr()) };
        Ok(Irqfd {
            raw,
            gsi,
            ctx,
            resample: None,
        })
    }

    /// Signals `resample` when the guest ends the interrupt.
    pub(crate) fn set_resample(&mut self, resample: EventfdCtx) {
        self.resample = Some(resample);
    }

    /// The eventfd context, for identity comparisons only.
    pub(crate) fn ctx(&self) -> *const c_void {
        self.ctx
    }

    /// The GSI the irqfd raises.
    pub(crate) fn gsi(&self) -> u32 {
        self.gsi
    }

    /// The eventfd to signal at the interrupt's EOI, if the irqfd resamples.
    pub(crate) fn resamplefd(&self) -> Option<&EventfdCtx> {
        self.resample.as_ref()
    }

    /// Whether the eventfd's last file was closed: nothing can signal it any more.
    pub(crate) fn hung_up(&self) -> bool {
        // SAFETY: By the type invariant `raw` is live.
        unsafe { ffi::mshv_rs_irqfd_hup(self.raw.as_ptr()) }
    }

    /// Starts listening to the eventfd; a signal already pending is delivered.
    pub(crate) fn arm(&mut self) {
        // SAFETY: By the type invariant `raw` is live. Arming twice is refused by the C side
        // (the file it polls is only held until the first arm).
        unsafe { ffi::mshv_rs_irqfd_arm(self.raw.as_ptr()) }
    }
}

impl Drop for Irqfd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `raw` is live and this is its only free. The C side
        // stops the wakeups and waits for a queued injection, which may still use the owner.
        unsafe { ffi::mshv_rs_irqfd_free(self.raw.as_ptr()) }
    }
}

/// A reference to the eventfd context of `fd`: to find the irqfds that use it, and the one an
/// ioeventfd signals.
///
/// # Invariants
///
/// The pointer is a reference `mshv_rs_eventfd_ctx_get` took, put once, on drop.
pub(crate) struct EventfdCtx(*const c_void);

// SAFETY: An eventfd context is reference-counted and may be signalled and put from any task.
unsafe impl Send for EventfdCtx {}
// SAFETY: Signalling takes the context's own lock.
unsafe impl Sync for EventfdCtx {}

impl EventfdCtx {
    /// `EBADF` for a bad fd, `EINVAL` for a file that is not an eventfd.
    pub(crate) fn get(fd: i32) -> Result<Self> {
        // SAFETY: `mshv_rs_eventfd_ctx_get` takes any fd.
        let ctx = unsafe { ffi::mshv_rs_eventfd_ctx_get(fd) };
        // INVARIANT: Not an error, so the reference was taken.
        Ok(EventfdCtx(from_err_ptr(ctx.cast_mut())?))
    }

    /// Whether `other` is the same eventfd.
    pub(crate) fn same(&self, other: &EventfdCtx) -> bool {
        core::ptr::eq(self.0, other.0)
    }

    /// Adds 1 to the eventfd's count, waking its readers.
    pub(crate) fn signal(&self) {
        // SAFETY: By the type invariant the context is referenced, so live.
        unsafe { ffi::mshv_rs_eventfd_signal(self.0) }
    }

    /// Whether `irqfd` listens to this eventfd.
    pub(crate) fn is_of(&self, irqfd: &Irqfd) -> bool {
        core::ptr::eq(self.0, irqfd.ctx())
    }
}

impl Drop for EventfdCtx {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self.0` is the reference `mshv_rs_eventfd_ctx_get`
        // took, put only here.
        unsafe { ffi::mshv_rs_eventfd_ctx_put(self.0) }
    }
}
