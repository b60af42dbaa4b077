// SPDX-License-Identifier: GPL-2.0

//! The C edge: kernel APIs that are static inline or macros (wrapped in `glue/helpers.c`), with
//! safe Rust wrappers. Pages handed to or taken back from the hypervisor are converted here.

use core::ptr::NonNull;

use kernel::{
    bindings,
    page::Page,
    prelude::*, //
};

pub(crate) mod fd;
pub(crate) mod irqfd;
pub(crate) mod notifier;
pub(crate) mod pin;
pub(crate) mod platform;
pub(crate) mod synic;

mod raw {
    use kernel::ffi::{
        c_int,
        c_ulong,
        c_void, //
    };

    extern "C" {
        pub(super) fn mshv_rs_local_irq_save() -> c_ulong;
        pub(super) fn mshv_rs_local_irq_restore(flags: c_ulong);
        pub(super) fn mshv_rs_virt_to_phys(addr: *const c_void) -> u64;
        pub(super) fn mshv_rs_phys_to_virt(pa: u64) -> *mut c_void;
        pub(super) fn mshv_rs_pfn_valid(pfn: u64) -> bool;
        pub(super) fn mshv_rs_is_kdump_kernel() -> bool;
        // `struct page` is passed as `void *`: its Rust binding is not FFI-safe (a zero-sized
        // member).
        pub(super) fn mshv_rs_page_to_pfn(page: *mut c_void) -> u64;
        pub(super) fn mshv_rs_pages_to_pfns(
            pages: *const *mut c_void,
            n: kernel::ffi::c_ulong,
            pfns: *mut u64,
        );
        pub(super) fn mshv_rs_pfn_to_page(pfn: u64) -> *mut c_void;
        pub(super) fn mshv_rs_page_address(page: *mut c_void) -> *mut c_void;
        pub(super) fn mshv_rs_touch_nmi_watchdog();
        pub(super) fn mshv_rs_cond_resched();
        pub(super) fn mshv_rs_fatal_signal_pending() -> bool;
        pub(super) fn mshv_rs_mutex_lock_killable(lock: *mut kernel::bindings::mutex) -> c_int;
        pub(super) fn mshv_rs_preempt_disable();
        pub(super) fn mshv_rs_preempt_enable();
        pub(super) fn mshv_rs_folio_order(page: *mut c_void) -> kernel::ffi::c_uint;
        pub(super) fn mshv_rs_access_ok(
            addr: kernel::ffi::c_ulong,
            size: kernel::ffi::c_ulong,
        ) -> bool;
        pub(super) fn mshv_rs_vma_span(
            addr: kernel::ffi::c_ulong,
            size: kernel::ffi::c_ulong,
            flags: *mut kernel::ffi::c_ulong,
            pfn: *mut u64,
            covered: *mut bool,
            writable: *mut bool,
        ) -> kernel::ffi::c_int;
        pub(super) fn mshv_rs_pfns_hold_ram(pfn: u64, n: u64) -> bool;
        pub(super) fn mshv_rs_module_get();
        #[cfg(all(mshv_sim, CONFIG_KUNIT = "y"))]
        pub(super) fn mshv_rs_irqs_disabled() -> bool;
        #[cfg(not(mshv_sim))]
        pub(super) fn hv_is_hyperv_initialized() -> bool;
    }
}

/// Local interrupts are off for as long as this guard lives; dropping it restores the previous
/// state, so no path can return with interrupts still disabled.
///
/// # Invariants
///
/// `flags` is the value `local_irq_save()` returned on this CPU when the guard was made.
pub(crate) struct IrqSave {
    flags: kernel::ffi::c_ulong,
    /// The guard must be dropped on the CPU that made it.
    _not_send: kernel::types::NotThreadSafe,
}

impl IrqSave {
    /// Disables local interrupts.
    pub(crate) fn new() -> Self {
        // SAFETY: Saving and disabling local interrupts is always allowed.
        let flags = unsafe { raw::mshv_rs_local_irq_save() };
        // INVARIANT: `flags` was just saved on this CPU; `NotThreadSafe` keeps the guard here.
        Self {
            flags,
            _not_send: kernel::types::NotThreadSafe,
        }
    }
}

impl Drop for IrqSave {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `flags` came from `local_irq_save()` on this CPU.
        unsafe { raw::mshv_rs_local_irq_restore(self.flags) };
    }
}

/// Preemption is off for as long as this guard lives (interrupts stay on).
pub(crate) struct PreemptGuard {
    /// The guard must be dropped on the CPU that made it.
    _not_send: kernel::types::NotThreadSafe,
}

impl PreemptGuard {
    /// Disables preemption.
    pub(crate) fn new() -> Self {
        // SAFETY: Disabling preemption is always allowed; the drop enables it again.
        unsafe { raw::mshv_rs_preempt_disable() };
        Self {
            _not_send: kernel::types::NotThreadSafe,
        }
    }
}

impl Drop for PreemptGuard {
    fn drop(&mut self) {
        // SAFETY: Paired with the `preempt_disable` of `new`, on the same CPU (`!Send`).
        unsafe { raw::mshv_rs_preempt_enable() };
    }
}

/// Returns the physical address of a direct-mapped kernel address.
pub(crate) fn virt_to_phys(addr: *const u8) -> u64 {
    // SAFETY: `virt_to_phys` only computes; callers pass direct-map addresses (page_address()).
    unsafe { raw::mshv_rs_virt_to_phys(addr.cast()) }
}

/// Returns the direct-map address of a physical address, if it names RAM with a `struct page`.
#[cfg_attr(not(mshv_sim), expect(dead_code))]
pub(crate) fn phys_to_virt(pa: u64) -> Option<NonNull<u8>> {
    // SAFETY: `pfn_valid` only looks the PFN up.
    if !unsafe { raw::mshv_rs_pfn_valid(pa >> 12) } {
        return None;
    }
    // SAFETY: The PFN has a `struct page` in the direct map: `phys_to_virt` only computes.
    NonNull::new(unsafe { raw::mshv_rs_phys_to_virt(pa) }.cast())
}

/// Returns whether `pfn` names memory with a `struct page`.
pub(crate) fn pfn_valid(pfn: u64) -> bool {
    // SAFETY: `pfn_valid` only looks the PFN up.
    unsafe { raw::mshv_rs_pfn_valid(pfn) }
}

/// Returns the PFN of `page`.
pub(crate) fn page_pfn(page: &Page) -> u64 {
    // SAFETY: `page` owns a valid `struct page`.
    unsafe { raw::mshv_rs_page_to_pfn(page.as_ptr().cast()) }
}

/// Appends the PFNs of `pages` to `pfns`, which has room for them.
///
/// # Safety
///
/// Every entry of `pages` must point to a `struct page` the caller holds a reference or pin
/// on.
pub(crate) unsafe fn raw_pages_pfns(
    pages: &[*mut kernel::ffi::c_void],
    pfns: &mut KVVec<u64>,
) -> Result {
    if pfns.capacity() - pfns.len() < pages.len() {
        return Err(ENOMEM);
    }
    // SAFETY: `pages` are valid pages (safety requirements); the spare capacity has room for
    // `pages.len()` PFNs, all of which the helper writes.
    unsafe {
        raw::mshv_rs_pages_to_pfns(
            pages.as_ptr(),
            pages.len() as kernel::ffi::c_ulong,
            pfns.spare_capacity_mut().as_mut_ptr().cast(),
        );
        pfns.inc_len(pages.len());
    }
    Ok(())
}

/// Returns the PFN of a `struct page`.
///
/// # Safety
///
/// `page` must point to a `struct page` the caller holds a reference or pin on.
pub(crate) unsafe fn raw_page_pfn(page: *mut kernel::ffi::c_void) -> u64 {
    // SAFETY: By the safety requirements `page` is a valid `struct page`.
    unsafe { raw::mshv_rs_page_to_pfn(page) }
}

/// Returns the `struct page` of `pfn`, if it is RAM.
pub(crate) fn pfn_to_page(pfn: u64) -> Option<NonNull<kernel::bindings::page>> {
    if !pfn_valid(pfn) {
        return None;
    }
    // SAFETY: The PFN has a `struct page`; `pfn_to_page` only computes.
    NonNull::new(unsafe { raw::mshv_rs_pfn_to_page(pfn) }.cast())
}

/// The order of the folio a `struct page` belongs to (9 for a 2M THP on x86_64).
///
/// # Safety
///
/// `page` must point to a `struct page` the caller holds a reference or pin on.
pub(crate) unsafe fn folio_order(page: *mut kernel::ffi::c_void) -> u32 {
    // SAFETY: By the safety requirements `page` is a valid, pinned `struct page`.
    unsafe { raw::mshv_rs_folio_order(page) }
}

/// Returns the direct-map address of the page with PFN `pfn`, if it is RAM.
pub(crate) fn pfn_address(pfn: u64) -> Option<NonNull<u8>> {
    if !pfn_valid(pfn) {
        return None;
    }
    // SAFETY: The PFN has a `struct page`; x86_64 keeps every page in the direct map.
    let addr = unsafe { raw::mshv_rs_page_address(raw::mshv_rs_pfn_to_page(pfn)) };
    NonNull::new(addr.cast())
}

/// What backs a range of the caller's memory: see [`vma_span`].
pub(crate) struct VmaSpan {
    /// The flags (`VM_*`) of the VMA at the range's start.
    pub(crate) flags: usize,
    /// When the range stays inside that VMA: the PFN a `VM_PFNMAP` mapping's `vm_pgoff` gives
    /// the start (meaningless for other mappings).
    pub(crate) io_pfn: Option<u64>,
    /// VMAs cover the whole range without a hole, none but the first device memory.
    pub(crate) covered: bool,
    /// Every VMA in the range is writable.
    pub(crate) writable: bool,
}

/// What backs `[addr, addr + size)` of the caller's memory (which must not wrap); `EINVAL` when
/// no VMA is at `addr`, `EINTR` when the task is killed while waiting for the mmap lock.
pub(crate) fn vma_span(addr: usize, size: usize) -> Result<VmaSpan> {
    let (mut flags, mut pfn, mut covered, mut writable) = (0, u64::MAX, false, false);
    // SAFETY: The out-parameters are valid places to write; the helper takes the mmap lock.
    kernel::error::to_result(unsafe {
        raw::mshv_rs_vma_span(
            addr,
            size,
            &mut flags,
            &mut pfn,
            &mut covered,
            &mut writable,
        )
    })?;
    Ok(VmaSpan {
        flags,
        io_pfn: (pfn != u64::MAX).then_some(pfn),
        covered,
        writable,
    })
}

/// Whether any of the `n` pages from `pfn` is system RAM (`region_intersects`).
pub(crate) fn pfns_hold_ram(pfn: u64, n: u64) -> bool {
    // SAFETY: `region_intersects` only walks the resource tree.
    unsafe { raw::mshv_rs_pfns_hold_ram(pfn, n) }
}

/// Takes a reference on this module that is never put: something of it (a leaked MMU
/// notifier's callbacks) must stay loaded.
pub(crate) fn module_get() {
    // SAFETY: `__module_get` on this module, which is loaded while its code runs.
    unsafe { raw::mshv_rs_module_get() }
}

/// Whether `[addr, addr + size)` is userspace memory (`access_ok`).
pub(crate) fn access_ok(addr: usize, size: usize) -> bool {
    // SAFETY: `access_ok` only compares the range with the user address limit.
    unsafe { raw::mshv_rs_access_ok(addr, size) }
}

/// Locks `m` with `mutex_lock_killable()`: waits, but gives up with `EINTR` when the task is
/// being killed, so a task stuck behind a long holder (a running VP) stays killable. The real
/// kernel mutex and its lockdep class (from `new_mutex!`) are used: lockdep sees the lock.
///
/// Without lockdep an uncontended lock is taken with `mutex_trylock()` first: on the exit path
/// (an ioeventfd's write takes two of these locks) the killable lock's call costs measurably
/// more (`make bench`). With lockdep it is never, since lockdep learns no order from a trylock.
pub(crate) fn lock_killable<T>(
    m: &kernel::sync::Mutex<T>,
) -> Result<kernel::sync::MutexGuard<'_, T>> {
    if !cfg!(CONFIG_PROVE_LOCKING) {
        if let Some(guard) = m.try_lock() {
            return Ok(guard);
        }
    }
    // `Lock` is `#[repr(C)]` and its first field is the kernel's lock object (`Opaque<struct
    // mutex>`), so the lock's address is that of the `struct mutex`; `Lock::from_raw` relies on
    // the same layout. The kernel crate has no killable lock to use instead.
    let raw = core::ptr::from_ref(m).cast::<bindings::mutex>().cast_mut();
    // SAFETY: `raw` is an initialized mutex (`m` exists, so `new_mutex!` initialized it),
    // locked from process context (ioctls); on 0 the caller holds it.
    if unsafe { raw::mshv_rs_mutex_lock_killable(raw) } != 0 {
        return Err(EINTR);
    }
    // SAFETY: The lock was just acquired; the guard unlocks it on drop.
    Ok(unsafe { kernel::sync::lock::Guard::new(m, ()) })
}

/// Whether the current task is being killed: long loops give up then (`EINTR`).
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: A plain query of the current task.
    unsafe { raw::mshv_rs_fatal_signal_pending() }
}

/// What a long loop does when the task is killed part way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnKill {
    /// Stops with `EINTR`, leaving the rest for later (an ioctl's work).
    Stop,
    /// Goes on to the end (undoing a failed step, tearing down): only yields the CPU.
    Finish,
}

impl OnKill {
    /// The end of one step of a long loop: yields the CPU if a reschedule is due and, for
    /// [`OnKill::Stop`], answers `EINTR` when the task is being killed.
    pub(crate) fn step(self) -> Result {
        cond_resched();
        if self == OnKill::Stop && fatal_signal_pending() {
            return Err(EINTR);
        }
        Ok(())
    }
}

/// Yields the CPU if a reschedule is due (long loops in process context: ioctls, the teardown
/// of an fd's last reference; never an MMU notifier's invalidation, which may not sleep).
pub(crate) fn cond_resched() {
    // SAFETY: Callers run in process context where sleeping is allowed (above).
    unsafe { raw::mshv_rs_cond_resched() };
}

/// Returns the direct-map address of `page` (x86_64 has no highmem).
pub(crate) fn page_address(page: &Page) -> NonNull<u8> {
    // SAFETY: `page` owns a valid `struct page`, which on x86_64 is always in the direct map.
    let addr = unsafe { raw::mshv_rs_page_address(page.as_ptr().cast()) };
    // PANIC: The direct-map address of a valid page is never null.
    NonNull::new(addr.cast()).expect("page without a direct-map address")
}

/// Gives a page away to the hypervisor: returns its PFN and forgets the page.
pub(crate) fn give_page(page: Page) -> u64 {
    let pfn = page_pfn(&page);
    core::mem::forget(page);
    pfn
}

/// Frees a page the hypervisor gave back (`HvCallWithdrawMemory`).
///
/// # Safety
///
/// `pfn` must be a page this driver gave away with [`give_page`] and that the hypervisor
/// returned, so that nobody else owns it.
pub(crate) unsafe fn free_given_page(pfn: u64) {
    // SAFETY: By the safety requirements the PFN has a `struct page`.
    let page = unsafe { raw::mshv_rs_pfn_to_page(pfn) }.cast();
    // SAFETY: By the safety requirements we own the page again; it was allocated with order 0.
    unsafe { bindings::__free_pages(page, 0) };
}

/// Whose memory cgroup a page allocation is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Charge {
    /// The caller's (`__GFP_ACCOUNT`): memory a VMM causes, which its container's limit holds.
    Caller,
    /// Nobody's: memory that serves every VMM (the root's pool in the hypervisor).
    Shared,
}

impl Charge {
    /// The allocation flags.
    pub(crate) fn flags(self) -> kernel::alloc::Flags {
        match self {
            Charge::Caller => GFP_KERNEL_ACCOUNT,
            Charge::Shared => GFP_KERNEL,
        }
    }

    /// The same as a raw `gfp_t`, zeroing.
    fn raw_zeroed(self) -> bindings::gfp_t {
        let gfp = match self {
            Charge::Caller => bindings::GFP_KERNEL_ACCOUNT,
            Charge::Shared => bindings::GFP_KERNEL,
        };
        gfp | bindings::__GFP_ZERO
    }
}

/// Allocates 8 physically contiguous zeroed pages charged as `charge` says, splits them into
/// order-0 pages and gives them away to the hypervisor: returns their PFNs.
pub(crate) fn alloc_block_of_8(charge: Charge) -> Result<[u64; 8]> {
    // SAFETY: Allocating pages is always allowed; callers run in process context.
    let page = unsafe { bindings::alloc_pages(charge.raw_zeroed(), 3) };
    if page.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `page` heads a fresh, non-compound order-3 allocation; splitting it makes eight
    // order-0 pages, each freed on its own later (`free_given_page`).
    unsafe { bindings::split_page(page, 3) };
    // SAFETY: `page` is a valid `struct page`.
    let first = unsafe { raw::mshv_rs_page_to_pfn(page.cast()) };
    Ok(core::array::from_fn(|i| first + i as u64))
}

/// Tells the NMI watchdog that a long hypercall loop is making progress.
pub(crate) fn touch_nmi_watchdog() {
    // SAFETY: Always allowed.
    unsafe { raw::mshv_rs_touch_nmi_watchdog() };
}

/// Whether this is a kdump (crash capture) kernel, where no guest is to run.
pub(crate) fn is_kdump_kernel() -> bool {
    // SAFETY: A plain query of kernel state.
    unsafe { raw::mshv_rs_is_kdump_kernel() }
}

/// Whether the kernel set up Hyper-V (hypercall MSR, guest OS ID): exported by `hv_common.c`.
#[cfg(not(mshv_sim))]
pub(crate) fn hyperv_initialized() -> bool {
    // SAFETY: A plain query of kernel state.
    unsafe { raw::hv_is_hyperv_initialized() }
}

/// Whether local interrupts are disabled (tests check that no path leaves them off).
#[cfg(all(mshv_sim, CONFIG_KUNIT = "y"))]
pub(crate) fn irqs_disabled() -> bool {
    // SAFETY: A plain query of the CPU state.
    unsafe { raw::mshv_rs_irqs_disabled() }
}

/// Allocates a zeroed page.
pub(crate) fn alloc_zeroed_page() -> Result<Page> {
    Ok(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?)
}

#[cfg(CONFIG_KUNIT = "y")]
pub(crate) mod c_tables {
    //! Values the C compiler computed from C headers, for KUnit to compare with the Rust
    //! mirrors: the uapi header's (`glue/uapi_check.c`) and the kernel's Hyper-V headers'
    //! (`glue/hv_check.c`).

    use kernel::{
        ffi::c_char,
        prelude::*, //
    };

    /// One value: `struct mshv_rs_uapi_const` in `glue/uapi_check.h`.
    #[repr(C)]
    struct CConst {
        name: *const c_char,
        value: u64,
    }

    extern "C" {
        static mshv_rs_uapi_consts: [CConst; 0];
        static mshv_rs_uapi_consts_len: usize;
        static mshv_rs_hv_consts: [CConst; 0];
        static mshv_rs_hv_consts_len: usize;
    }

    /// A C table as `(name, value)` pairs.
    ///
    /// # Safety
    ///
    /// `table` must point to `len` initialised entries that are never written, each `name` a
    /// static NUL-terminated string.
    unsafe fn entries(
        table: *const CConst,
        len: usize,
    ) -> impl Iterator<Item = (&'static CStr, u64)> {
        // SAFETY: The caller's guarantees.
        let table = unsafe { core::slice::from_raw_parts(table, len) };
        table.iter().map(|c| {
            // SAFETY: The caller guarantees `name` is a static NUL-terminated string.
            let name = unsafe { CStr::from_char_ptr(c.name) };
            (name, c.value)
        })
    }

    /// The uapi header's constants.
    pub(crate) fn uapi() -> impl Iterator<Item = (&'static CStr, u64)> {
        // SAFETY: `glue/uapi_check.c` defines both statics as constant data: an array of
        // `mshv_rs_uapi_consts_len` entries of string literals and values, never written.
        unsafe {
            entries(
                core::ptr::addr_of!(mshv_rs_uapi_consts).cast(),
                mshv_rs_uapi_consts_len,
            )
        }
    }

    /// The Hyper-V headers' sizes, offsets and constants.
    pub(crate) fn hv() -> impl Iterator<Item = (&'static CStr, u64)> {
        // SAFETY: `glue/hv_check.c` defines both statics as constant data: an array of
        // `mshv_rs_hv_consts_len` entries of string literals and values, never written.
        unsafe {
            entries(
                core::ptr::addr_of!(mshv_rs_hv_consts).cast(),
                mshv_rs_hv_consts_len,
            )
        }
    }
}
