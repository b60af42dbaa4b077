// SPDX-License-Identifier: GPL-2.0

//! The Rust half of a movable region's MMU interval notifier (its C half is `glue/region.c`):
//! registering and removing it, the sequence a page lookup is checked against, and the page
//! lookup itself.

use core::ptr::NonNull;

use kernel::{
    ffi::{
        c_ulong,
        c_void, //
    },
    prelude::*,
};

mod ffi {
    use kernel::ffi::{
        c_int,
        c_long,
        c_ulong,
        c_void, //
    };

    /// `struct mshv_rs_mn`.
    #[repr(C)]
    pub(super) struct Mn {
        _opaque: [u8; 0],
    }

    extern "C" {
        pub(super) fn mshv_rs_mn_new(
            owner: *const c_void,
            start: c_ulong,
            length: c_ulong,
            out: *mut *mut Mn,
        ) -> c_int;
        pub(super) fn mshv_rs_mn_free(mn: *mut Mn);
        pub(super) fn mshv_rs_mn_read_begin(mn: *mut Mn) -> c_ulong;
        pub(super) fn mshv_rs_mn_read_retry(mn: *mut Mn, seq: c_ulong) -> bool;
        pub(super) fn mshv_rs_mn_set_seq(mn: *mut Mn, seq: c_ulong);
        pub(super) fn mshv_rs_mn_get_pages(
            mn: *mut Mn,
            start: c_ulong,
            n: c_ulong,
            write: bool,
            pages: *mut *mut c_void,
        ) -> c_long;
        pub(super) fn mshv_rs_put_pages(pages: *mut *mut c_void, n: c_ulong);
    }
}

/// A registered MMU interval notifier.
///
/// # Invariants
///
/// `ptr` came from `mshv_rs_mn_new` and is freed (the notifier removed) once, on drop.
pub(crate) struct Notifier {
    ptr: NonNull<ffi::Mn>,
}

// SAFETY: The notifier may be removed from any thread; its C side has its own locking.
unsafe impl Send for Notifier {}
// SAFETY: Every operation through a shared reference is thread-safe on the C side.
unsafe impl Sync for Notifier {}

impl Notifier {
    /// Registers an interval notifier on `[start, start + length)` of the caller's process,
    /// whose invalidations call `mshv_rs_region_invalidate` with `owner`.
    ///
    /// # Safety
    ///
    /// `owner` must stay valid until the notifier is dropped, and be what
    /// `mshv_rs_region_invalidate` takes it for.
    pub(crate) unsafe fn register(owner: *const c_void, start: u64, length: u64) -> Result<Self> {
        let mut ptr = core::ptr::null_mut();
        let (start, length) = (start as c_ulong, length as c_ulong);
        // SAFETY: The caller guarantees `owner`; `ptr` is a valid place for the result.
        let r = unsafe { ffi::mshv_rs_mn_new(owner, start, length, &mut ptr) };
        kernel::error::to_result(r)?;
        // INVARIANT: `mshv_rs_mn_new` succeeded: `ptr` is a registered notifier.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(EINVAL)?,
        })
    }

    /// A sequence to check a page lookup against with [`Notifier::read_retry`].
    pub(crate) fn read_begin(&self) -> c_ulong {
        // SAFETY: By the type invariant `ptr` is a registered notifier.
        unsafe { ffi::mshv_rs_mn_read_begin(self.ptr.as_ptr()) }
    }

    /// Whether an invalidation began since `seq` was read: what was looked up may be stale.
    pub(crate) fn read_retry(&self, seq: c_ulong) -> bool {
        // SAFETY: By the type invariant `ptr` is a registered notifier.
        unsafe { ffi::mshv_rs_mn_read_retry(self.ptr.as_ptr(), seq) }
    }

    /// Looks up (and faults in) `n` pages from `start` in the notifier's process, each with a
    /// reference, into the empty `pages`; returns how many it found from `start` on.
    pub(crate) fn get_pages(
        &self,
        start: u64,
        n: usize,
        write: bool,
        pages: &mut KVec<*mut c_void>,
    ) -> Result<usize> {
        let n = n.min(pages.capacity());
        // SAFETY: By the type invariant `ptr` is a registered notifier; the spare capacity has
        // room for `n` pointers, of which the call writes at most `n`.
        let got = unsafe {
            ffi::mshv_rs_mn_get_pages(
                self.ptr.as_ptr(),
                start as c_ulong,
                n as c_ulong,
                write,
                pages.spare_capacity_mut().as_mut_ptr().cast(),
            )
        };
        let got = usize::try_from(got).map_err(|_| Error::from_errno(got as i32))?;
        // SAFETY: The call initialized the first `got` (<= `n`) entries.
        unsafe { pages.inc_len(got.min(n)) };
        Ok(got.min(n))
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `ptr` is registered and freed only here; the removal
        // waits for an invalidation in progress.
        unsafe { ffi::mshv_rs_mn_free(self.ptr.as_ptr()) };
    }
}

/// Drops the references `get_pages` took.
pub(crate) fn put_pages(pages: &mut KVec<*mut c_void>) {
    // SAFETY: Every entry is a page with a reference `get_pages` took; the vector is emptied,
    // so none is put twice.
    unsafe { ffi::mshv_rs_put_pages(pages.as_mut_ptr(), pages.len() as c_ulong) };
    pages.clear();
}

/// Records the sequence of the invalidation in progress, for [`Notifier::read_retry`].
///
/// # Safety
///
/// `mn` must be a registered notifier (the one an invalidation callback is given), and the
/// caller must hold the lock its lookups are checked under.
pub(crate) unsafe fn set_seq(mn: *mut c_void, seq: c_ulong) {
    // SAFETY: The caller's guarantees.
    unsafe { ffi::mshv_rs_mn_set_seq(mn.cast(), seq) }
}
