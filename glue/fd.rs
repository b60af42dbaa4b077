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
    mm::virt::VmaNew,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow, //
    },
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

/// An object behind an fd made by [`install`] with an `Arc<Self>`.
pub(crate) trait FdObject: Send + Sync + Sized + 'static {
    /// The object's ioctls.
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize>;

    /// `mmap` of the fd, with the VMA's page offset; absent (`ENODEV`) unless implemented.
    fn mmap(_this: ArcBorrow<'_, Self>, _vma: &VmaNew, _pgoff: usize) -> Result {
        Err(ENODEV)
    }
}

/// The `unlocked_ioctl` of every [`FdObject`] fd.
///
/// # Safety
///
/// Called by the VFS on a file made by [`install`] with an `Arc<T>`.
pub(crate) unsafe extern "C" fn fd_ioctl<T: FdObject>(
    file: *mut bindings::file,
    cmd: kernel::ffi::c_uint,
    arg: kernel::ffi::c_ulong,
) -> kernel::ffi::c_long {
    // SAFETY: By the safety requirements the file holds an `Arc<T>`.
    let this = unsafe { borrow::<Arc<T>>(file) };
    match T::ioctl(this, cmd, arg) {
        Ok(v) => v as kernel::ffi::c_long,
        Err(e) => e.to_errno() as kernel::ffi::c_long,
    }
}

/// The `mmap` of every [`FdObject`] fd.
///
/// # Safety
///
/// Called by the VFS on a file made by [`install`] with an `Arc<T>`, with a new VMA.
pub(crate) unsafe extern "C" fn fd_mmap<T: FdObject>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> kernel::ffi::c_int {
    // SAFETY: By the safety requirements the file holds an `Arc<T>`.
    let this = unsafe { borrow::<Arc<T>>(file) };
    // SAFETY: The VFS passes a VMA being set up, ours until we return.
    let pgoff = unsafe { (*vma).vm_pgoff };
    // SAFETY: As above.
    let vma = unsafe { VmaNew::from_raw(vma) };
    match T::mmap(this, vma, pgoff) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `release` of every [`FdObject`] fd: drops the fd's reference.
///
/// # Safety
///
/// Called by the VFS once, on a file made by [`install`] with an `Arc<T>`.
pub(crate) unsafe extern "C" fn fd_release<T: FdObject>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> kernel::ffi::c_int {
    // SAFETY: By the safety requirements the file holds an `Arc<T>`; this is its release.
    drop(unsafe { take::<Arc<T>>(file) });
    0
}

/// The file operations of an [`FdObject`] fd, with `mmap` when `mmap` is set.
pub(crate) const fn fops<T: FdObject>(mmap: bool) -> FileOps {
    FileOps(bindings::file_operations {
        owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
        unlocked_ioctl: Some(fd_ioctl::<T>),
        mmap: if mmap { Some(fd_mmap::<T>) } else { None },
        compat_ioctl: bindings::compat_ptr_ioctl,
        release: Some(fd_release::<T>),
        llseek: Some(bindings::noop_llseek),
        // SAFETY: All-zero is a valid `file_operations` (every other operation absent).
        ..unsafe { core::mem::zeroed() }
    })
}

/// Reads an ioctl's argument, a `T` at the user address `arg`: each fd's ioctl dispatcher
/// decodes every fixed-size argument with this, once, and hands the value to its handler.
pub(crate) fn read_arg<T: kernel::transmute::FromBytes>(arg: usize) -> Result<T> {
    kernel::uaccess::UserSlice::new(UserPtr::from_addr(arg), size_of::<T>())
        .reader()
        .read()
}
