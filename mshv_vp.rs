// SPDX-License-Identifier: GPL-2.0

//! A virtual processor: its fd, and running it.
//!
//! `MSHV_RUN_VP` dispatches the VP (`HvCallDispatchVp`, the root scheduler's way) until the
//! hypervisor reports an intercept, then copies the 256-byte message from the VP's intercept
//! message page to userspace. A pending signal ends the loop with `EINTR` between dispatches, so
//! no message is ever lost: a message whose copy to userspace fails stays pending for the next
//! call.

use core::ptr::NonNull;

use kernel::{
    bindings,
    mm::virt::VmaNew,
    new_mutex,
    page::BorrowedPage,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
    uaccess::UserSlice,
};

use crate::{
    hv_defs::{
        dispatch,
        msg,
        vp_state_page, //
    },
    mshv_fd::{
        self,
        FileOps, //
    },
    mshv_ffi,
    mshv_partition::{
        Partition,
        VpPages, //
    },
    mshv_passthru, mshv_uapi as uapi,
};

/// Where a VP is between `MSHV_RUN_VP` calls.
struct RunState {
    /// The last dispatch ended in an intercept: the next must clear the intercept suspend.
    clear_suspend: bool,
    /// A message was taken from the intercept page but not yet copied to userspace.
    pending: bool,
}

/// A VP.
///
/// # Invariants
///
/// `msg_page` is the direct-map address of the VP's intercept message page, and `pages` holds
/// the PFNs of its state pages; the hypervisor keeps them mapped until the partition is torn
/// down (after the last VP reference is gone).
#[pin_data]
pub(crate) struct Vp {
    partition: Arc<Partition>,
    index: u32,
    pages: VpPages,
    msg_page: NonNull<u8>,
    #[pin]
    run: Mutex<RunState>,
}

// SAFETY: `msg_page` is only read, under the run mutex; everything else is `Send`.
unsafe impl Send for Vp {}
// SAFETY: As above.
unsafe impl Sync for Vp {}

impl Vp {
    /// A VP whose state pages are `pages` (the intercept message page at least).
    pub(crate) fn new(partition: Arc<Partition>, index: u32, pages: VpPages) -> Result<Arc<Self>> {
        let msg = pages.0[usize::from(vp_state_page::INTERCEPT_MESSAGE)].ok_or(EIO)?;
        let msg_page = mshv_ffi::pfn_address(msg).ok_or(EIO)?;
        // INVARIANT: The pages were just mapped by `HvCallMapVpStatePage`.
        Arc::pin_init(
            pin_init!(Vp {
                partition,
                index,
                pages,
                msg_page,
                run <- new_mutex!(RunState {
                    clear_suspend: false,
                    pending: false,
                }, "mshv_vp_run"),
            }),
            GFP_KERNEL,
        )
    }

    /// The VP fd's ioctls.
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::MSHV_RUN_VP => this.run(arg).map(|()| 0),
            uapi::MSHV_ROOT_HVCALL => {
                let pt = &this.partition;
                mshv_passthru::root_hvcall(&pt.hv, Some(pt.id), arg)
            }
            _ => Err(ENOTTY),
        }
    }

    /// `MSHV_RUN_VP`.
    fn run(&self, arg: usize) -> Result {
        let mut writer = UserSlice::new(UserPtr::from_addr(arg), uapi::MSHV_RUN_VP_BUF_SZ).writer();
        let mut st = self.run.lock();
        let pt = &self.partition;
        if !st.pending {
            loop {
                if kernel::current!().signal_pending() {
                    return Err(EINTR);
                }
                let flags = if st.clear_suspend {
                    dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND
                } else {
                    0
                };
                let (state, event) = pt.hv.dispatch_vp(pt.id, self.index, flags)?;
                st.clear_suspend = false;
                if state == dispatch::STATE_READY && event == dispatch::EVENT_INTERCEPT {
                    st.clear_suspend = true;
                    st.pending = true;
                    break;
                }
                // The time slice ended without an intercept: let others run, then go on.
                mshv_ffi::cond_resched();
            }
        }
        let mut buf = [0u8; msg::SIZE];
        // SAFETY: By the type invariant `msg_page` is a mapped page of 4096 bytes; the
        // hypervisor writes it only while the VP is dispatched, which the run mutex excludes.
        unsafe {
            core::ptr::copy_nonoverlapping(self.msg_page.as_ptr(), buf.as_mut_ptr(), msg::SIZE)
        };
        writer.write_slice(&buf)?;
        st.pending = false;
        Ok(())
    }
}

impl Vp {
    /// `mmap` of the VP fd: the state pages, one per page offset (`MSHV_VP_MMAP_OFFSET_*`), each
    /// page of the mapping the page of its own offset (upstream maps the first one everywhere).
    fn mmap(&self, vma: &VmaNew, pgoff: usize) -> Result {
        let npages = (vma.end() - vma.start()) >> 12;
        let last = pgoff.checked_add(npages).ok_or(EINVAL)?;
        if last > self.pages.0.len() {
            return Err(EINVAL);
        }
        // A page the VP does not have (the GHCB of a non-isolated partition) is ENODEV, which
        // VMMs read as "not supported".
        let mut pfns = [0u64; 3];
        for (i, pfn) in pfns.iter_mut().enumerate().take(npages) {
            *pfn = self.pages.0[pgoff + i].ok_or(ENODEV)?;
        }
        // The mapping covers exactly the pages that exist; it may not grow.
        vma.set_dontexpand();
        let mixed = vma.set_mixedmap();
        for (i, &pfn) in pfns.iter().enumerate().take(npages) {
            let page = mshv_ffi::pfn_to_page(pfn).ok_or(EIO)?;
            // SAFETY: The state page stays mapped, and its `struct page` valid, until the
            // partition is torn down; `vm_insert_page` takes its own reference for the mapping.
            let page = unsafe { BorrowedPage::from_raw(page) };
            mixed.vm_insert_page(vma.start() + (i << 12), &page)?;
        }
        Ok(())
    }
}

/// The VP fd's `mmap`.
///
/// # Safety
///
/// Called by the VFS on a file made with [`VP_FOPS`], with a new VMA.
unsafe extern "C" fn vp_mmap(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> kernel::ffi::c_int {
    // SAFETY: The file was made by `Partition::create_vp` with an `Arc<Vp>`.
    let this = unsafe { mshv_fd::borrow::<Arc<Vp>>(file) };
    // SAFETY: The VFS passes a VMA being set up, ours until we return.
    let pgoff = unsafe { (*vma).vm_pgoff };
    // SAFETY: As above.
    let vma = unsafe { VmaNew::from_raw(vma) };
    match this.mmap(vma, pgoff) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The VP fd's `unlocked_ioctl`.
///
/// # Safety
///
/// Called by the VFS on a file made with [`VP_FOPS`].
unsafe extern "C" fn vp_ioctl(
    file: *mut bindings::file,
    cmd: kernel::ffi::c_uint,
    arg: kernel::ffi::c_ulong,
) -> kernel::ffi::c_long {
    // SAFETY: The file was made by `Partition::create_vp` with an `Arc<Vp>`.
    let this = unsafe { mshv_fd::borrow::<Arc<Vp>>(file) };
    mshv_fd::ioctl_result(Vp::ioctl(this, cmd, arg))
}

/// The VP fd's `release`: drops the fd's reference (and so, perhaps, the partition's last).
///
/// # Safety
///
/// Called by the VFS once, on a file made with [`VP_FOPS`].
unsafe extern "C" fn vp_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> kernel::ffi::c_int {
    // SAFETY: The file was made by `Partition::create_vp`; this is its release.
    drop(unsafe { mshv_fd::take::<Arc<Vp>>(file) });
    0
}

/// The VP fd's operations.
pub(crate) static VP_FOPS: FileOps = FileOps(bindings::file_operations {
    owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
    unlocked_ioctl: Some(vp_ioctl),
    mmap: Some(vp_mmap),
    compat_ioctl: bindings::compat_ptr_ioctl,
    release: Some(vp_release),
    llseek: Some(bindings::noop_llseek),
    // SAFETY: All-zero is a valid `file_operations` (every other operation absent).
    ..unsafe { core::mem::zeroed() }
});
