// SPDX-License-Identifier: GPL-2.0

//! File descriptors for partitions and VPs: anonymous-inode files whose `private_data` owns an
//! object, with the C file operations glued to safe Rust methods.
//!
//! The kernel crate has no anon-inode abstraction; this file is the unsafe edge for it.

use core::ptr::NonNull;

use kernel::{
    bindings,
    ffi::{
        c_char,
        c_int,
        c_void, //
    },
    fs::{
        file::FileDescriptorReservation,
        File, //
    },
    prelude::*,
    sync::aref::ARef,
    types::ForeignOwnable,
};

extern "C" {
    /// `fs/anon_inodes.c`; `<linux/anon_inodes.h>` is not in the kernel crate's bindings. The
    /// file operations and the file go as `void *`: their bindings are not FFI-safe types.
    fn anon_inode_getfile(
        name: *const c_char,
        fops: *const c_void,
        private: *mut c_void,
        flags: c_int,
    ) -> *mut c_void;
}

/// A `file_operations` table that can live in a `static`.
#[repr(transparent)]
pub(crate) struct FileOps(pub(crate) bindings::file_operations);

// SAFETY: The table is immutable after construction and only read by the VFS.
unsafe impl Sync for FileOps {}

/// Creates a file for `data` with `fops` and installs it as a new close-on-exec fd; returns the
/// fd number. `fops.release` must take `data` back with `T::from_foreign`.
pub(crate) fn install<T: ForeignOwnable>(
    name: &'static CStr,
    fops: &'static FileOps,
    data: T,
) -> Result<u32> {
    let reservation = FileDescriptorReservation::get_unused_fd_flags(bindings::O_CLOEXEC)?;
    let private = data.into_foreign();
    // SAFETY: `name` is a static C string and `fops` a static table whose `owner` is this module
    // (so the module stays loaded while the file exists); on success the file owns `private`.
    let raw = unsafe {
        anon_inode_getfile(
            name.as_char_ptr(),
            core::ptr::from_ref(&fops.0).cast(),
            private,
            bindings::O_RDWR as c_int,
        )
    }
    .cast::<bindings::file>();
    let raw = match kernel::error::from_err_ptr(raw) {
        Ok(raw) => raw,
        Err(e) => {
            // SAFETY: `private` came from `into_foreign` above and no file took it.
            drop(unsafe { T::from_foreign(private) });
            return Err(e);
        }
    };
    // SAFETY: `anon_inode_getfile` returned a new file with one reference, which we own; it is
    // new, so nobody uses `fdget_pos` on it.
    let file = unsafe { ARef::<File>::from_raw(NonNull::new_unchecked(raw.cast())) };
    let fd = reservation.reserved_fd();
    // The commit point: nothing after this may fail.
    reservation.fd_install(file);
    Ok(fd)
}

/// Borrows the object behind a file made by [`install`].
///
/// # Safety
///
/// `file` must be a file made by [`install`] with data of type `T`, not yet released.
pub(crate) unsafe fn borrow<'a, T: ForeignOwnable>(file: *mut bindings::file) -> T::Borrowed<'a> {
    // SAFETY: By the safety requirements `private_data` came from `T::into_foreign` and the file
    // is alive, so the object is too.
    unsafe { T::borrow((*file).private_data) }
}

/// Takes the object behind a file made by [`install`] back, on release.
///
/// # Safety
///
/// As [`borrow`], called once, from the file's `release`.
pub(crate) unsafe fn take<T: ForeignOwnable>(file: *mut bindings::file) -> T {
    // SAFETY: By the safety requirements `private_data` came from `T::into_foreign` and this is
    // the last use of it.
    unsafe { T::from_foreign((*file).private_data) }
}

/// Converts an ioctl handler's result for the C caller.
pub(crate) fn ioctl_result(r: Result<isize>) -> kernel::ffi::c_long {
    match r {
        Ok(v) => v as kernel::ffi::c_long,
        Err(e) => e.to_errno() as kernel::ffi::c_long,
    }
}
