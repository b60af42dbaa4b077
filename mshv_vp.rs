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
    bindings, new_mutex,
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
        msg, //
    },
    mshv_fd::{
        self,
        FileOps, //
    },
    mshv_ffi,
    mshv_partition::Partition,
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
/// `msg_page` is the direct-map address of the VP's intercept message page, which the hypervisor
/// keeps mapped until the partition is torn down (after the last VP reference is gone).
#[pin_data]
pub(crate) struct Vp {
    partition: Arc<Partition>,
    index: u32,
    msg_page: NonNull<u8>,
    #[pin]
    run: Mutex<RunState>,
}

// SAFETY: `msg_page` is only read, under the run mutex; everything else is `Send`.
unsafe impl Send for Vp {}
// SAFETY: As above.
unsafe impl Sync for Vp {}

impl Vp {
    /// A VP whose intercept message page is `msg_pfn`.
    pub(crate) fn new(partition: Arc<Partition>, index: u32, msg_pfn: u64) -> Result<Arc<Self>> {
        let msg_page = mshv_ffi::pfn_address(msg_pfn).ok_or(EIO)?;
        // INVARIANT: The page was just mapped by `HvCallMapVpStatePage`.
        Arc::pin_init(
            pin_init!(Vp {
                partition,
                index,
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
    compat_ioctl: bindings::compat_ptr_ioctl,
    release: Some(vp_release),
    llseek: Some(bindings::noop_llseek),
    // SAFETY: All-zero is a valid `file_operations` (every other operation absent).
    ..unsafe { core::mem::zeroed() }
});
