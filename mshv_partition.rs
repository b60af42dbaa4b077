// SPDX-License-Identifier: GPL-2.0

//! A partition: its fd, its VPs and guest memory, and its teardown.
//!
//! The partition fd and every VP fd hold a reference; when the last one goes, the partition is
//! torn down in the order the hypervisor requires: unmap the VPs' state pages, finalize (which
//! releases the VPs and the GPA map), let the guest memory go (unpin it, or remove its
//! notifiers), withdraw every deposited page, delete.
//!
//! Lock order: the partition mutex, then a VP's run mutex is never taken inside it. A movable
//! region's chunk mutex is innermost (its MMU notifier takes it under the mm's locks); the
//! ioeventfd mutex is taken alone.

use core::sync::atomic::{
    AtomicBool,
    AtomicUsize,
    Ordering, //
};

use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex,
        SpinLock, //
    },
    uaccess::UserSlice,
};

use crate::{
    abi::hv::{
        access_flags,
        access_state,
        interrupt,
        message::AccessType,
        partition_flags as hvpf,
        vp_state_page, //
    },
    abi::uapi::{
        self as uapi,
        gpap,
        limits::{
            GPAP_MAX_PAGES,
            MAX_IRQFDS,
            MAX_REGIONS,
            MAX_VPS, //
        },
        pt,
        CreatePartition,
        CreatePartitionV2,
        CreateVp,
        GpapAccessBitmap,
        UserMemRegion, //
    },
    glue::fd::{
        self,
        FileOps, //
    },
    glue::{
        self,
        OnKill, //
    },
    hvcall::Hv,
    mshv_caps,
    mshv_partition::ioeventfd::Table as IoeventfdTable,
    mshv_partition::irqfd::{
        EventfdCtx,
        Irqfd, //
    },
    mshv_partition::region::{
        Region,
        Target as RegionTarget, //
    },
    mshv_partition::routing::Routing,
    mshv_vp::Vp,
};

pub(crate) mod ioeventfd;
pub(crate) mod irqfd;
pub(crate) mod passthru;
pub(crate) mod region;
pub(crate) mod routing;

/// The PFNs of a VP's state pages, by `MSHV_VP_MMAP_OFFSET_*` (the GHCB never exists here: no
/// partition is isolated).
#[derive(Clone, Copy)]
pub(crate) struct VpPages(pub(crate) [Option<u64>; 3]);

/// The state pages the driver maps for every VP.
const VP_PAGES: [u16; 2] = [vp_state_page::REGISTERS, vp_state_page::INTERCEPT_MESSAGE];

/// Pages whose states are fetched at a time (a multiple of 8: whole bitmap bytes).
const GPAP_BATCH: usize = 1 << 15;

/// What the partition mutex protects.
struct Inner {
    initialized: bool,
    /// For each VP index, the VP's state pages once the VP exists.
    vps: KVec<Option<VpPages>>,
    regions: KVec<Region>,
    irqfds: KVec<Irqfd>,
}

/// A partition.
#[pin_data(PinnedDrop)]
pub(crate) struct Partition {
    pub(crate) hv: Arc<Hv>,
    /// The hypervisor's ID of the partition.
    pub(crate) id: u64,
    /// Created with `MSHV_PT_BIT_GPA_SUPER_PAGES`: guest memory may be mapped with 2M pages.
    super_pages: bool,
    /// The MSI routing table; swapped whole, so readers never see a torn one.
    #[pin]
    routing: SpinLock<Option<Arc<Routing>>>,
    #[pin]
    inner: Mutex<Inner>,
    /// The ioeventfds, looked up on every intercepted write.
    #[pin]
    ioeventfds: Mutex<IoeventfdTable>,
    /// How many ioeventfds there are: a write exit of a partition with none takes no lock.
    ioeventfd_count: AtomicUsize,
    /// An irqfd's eventfd hung up (its last file closed) since the last assign looked.
    irqfd_hangup: AtomicBool,
}

/// The hypervisor flags for `pt_flags`.
fn creation_flags(pt_flags: u64) -> u64 {
    let mut f = hvpf::EXO_PARTITION | hvpf::INTERCEPT_MESSAGE_PAGE_ENABLED;
    for (bit, hv) in [
        (pt::LAPIC, hvpf::LAPIC_ENABLED),
        (pt::X2APIC, hvpf::X2APIC_CAPABLE),
        (pt::GPA_SUPER_PAGES, hvpf::GPA_SUPER_PAGES_ENABLED),
        (
            pt::NESTED_VIRTUALIZATION,
            hvpf::NESTED_VIRTUALIZATION_CAPABLE,
        ),
        (pt::SMT_ENABLED_GUEST, hvpf::SMT_ENABLED_GUEST),
    ] {
        if pt_flags & bit != 0 {
            f |= hv;
        }
    }
    f
}

/// Packs up to 8 access state bytes into a bitmap byte: bit `k` set when `states[k]` has a
/// bit of `mask`. Eight clean pages (the common case) are one word test.
fn pack_states(states: &[u8], mask: u8) -> u8 {
    if let Ok(word) = <[u8; 8]>::try_from(states) {
        if u64::from_ne_bytes(word) & (u64::from(mask) * 0x0101_0101_0101_0101) == 0 {
            return 0;
        }
    }
    states
        .iter()
        .enumerate()
        .filter(|(_, s)| **s & mask != 0)
        .fold(0, |b, (k, _)| b | (1 << k))
}

/// Checks the fields the v1 and v2 arguments share.
fn check_v1(flags: u64, isolation: u64) -> Result {
    if flags & !pt::FLAGS_MASK != 0 || isolation >= pt::ISOLATION_COUNT {
        return Err(EINVAL);
    }
    Ok(())
}

impl Partition {
    /// `MSHV_CREATE_PARTITION`: creates a partition and returns its fd.
    pub(crate) fn create(hv: &Arc<Hv>, arg: usize) -> Result<isize> {
        let ptr = UserPtr::from_addr(arg);
        let v1: CreatePartition = UserSlice::new(ptr, size_of::<CreatePartition>())
            .reader()
            .read()?;
        check_v1(v1.pt_flags, v1.pt_isolation)?;
        // The v2 argument is announced by a flag bit, not by the ioctl's size: read it whole
        // and check it again (userspace may have changed it meanwhile).
        let (flags, banks, xsave) = if v1.pt_flags & pt::CPU_AND_XSAVE_FEATURES != 0 {
            let v2: CreatePartitionV2 = UserSlice::new(ptr, size_of::<CreatePartitionV2>())
                .reader()
                .read()?;
            check_v1(v2.pt_flags, v2.pt_isolation)?;
            if v2.pt_flags & pt::CPU_AND_XSAVE_FEATURES == 0
                || v2.pt_num_cpu_fbanks != pt::NUM_CPU_FEATURES_BANKS
                || v2.pt_rsvd != [0; 6]
                || v2.pt_rsvd1 != [0; 2]
            {
                return Err(EINVAL);
            }
            (v2.pt_flags, v2.pt_cpu_fbanks, v2.pt_disabled_xsave)
        } else {
            // v1: disable nothing, the hypervisor offers what it has.
            (v1.pt_flags, [0; 2], 0)
        };
        let id = hv.create_partition(creation_flags(flags), banks, xsave)?;
        // From here on dropping the partition deletes it in the hypervisor.
        let partition = Arc::pin_init(
            pin_init!(Partition {
                hv: hv.clone(),
                id,
                super_pages: flags & pt::GPA_SUPER_PAGES != 0,
                routing <- new_spinlock!(None, "mshv_routing"),
                inner <- new_mutex!(Inner::empty(), "mshv_partition"),
                ioeventfds <- new_mutex!(IoeventfdTable::default(), "mshv_ioeventfds"),
                ioeventfd_count: AtomicUsize::new(0),
                irqfd_hangup: AtomicBool::new(false),
            }),
            GFP_KERNEL_ACCOUNT,
        );
        let partition = match partition {
            Ok(p) => p,
            Err(e) => {
                teardown(hv, id, &mut Inner::empty());
                return Err(e);
            }
        };
        Ok(fd::install(c"mshv_partition", &PARTITION_FOPS, partition)? as isize)
    }

    /// The partition fd's ioctls.
    fn partition_ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::MSHV_CHECK_EXTENSION => mshv_caps::check_extension_ioctl(arg),
            uapi::MSHV_INITIALIZE_PARTITION => this.initialize().map(|()| 0),
            uapi::MSHV_CREATE_VP => Self::create_vp(this, arg),
            uapi::MSHV_SET_GUEST_MEMORY => this.set_guest_memory(arg).map(|()| 0),
            uapi::MSHV_GET_GPAP_ACCESS_BITMAP => this.access_bitmap(arg).map(|()| 0),
            uapi::MSHV_IRQFD => this.irqfd(arg).map(|()| 0),
            uapi::MSHV_IOEVENTFD => {
                let a: uapi::UserIoeventfd =
                    UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::UserIoeventfd>())
                        .reader()
                        .read()?;
                let mut table = glue::lock_killable(&this.ioeventfds)?;
                let r = table.ioctl(&a);
                this.ioeventfd_count.store(table.len(), Ordering::Relaxed);
                r.map(|()| 0)
            }
            uapi::MSHV_SET_MSI_ROUTING => {
                let new = Routing::from_user(arg)?;
                let old = core::mem::replace(&mut *this.routing.lock(), new);
                // Outside the spinlock: the last reference frees a table that may be vmalloc'ed,
                // and `vfree` may sleep.
                drop(old);
                Ok(0)
            }
            uapi::MSHV_ROOT_HVCALL => {
                passthru::root_hvcall(&this.hv, passthru::Target::Partition(this.id), arg)
            }
            _ => Err(ENOTTY),
        }
    }

    /// `MSHV_IRQFD`: assigns or deassigns an irqfd.
    fn irqfd(&self, arg: usize) -> Result {
        let a: uapi::UserIrqfd =
            UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::UserIrqfd>())
                .reader()
                .read()?;
        if a.flags & !uapi::irqfd::FLAGS_MASK != 0 {
            return Err(EINVAL);
        }
        if a.flags & uapi::irqfd::DEASSIGN != 0 {
            // As upstream: every irqfd of this eventfd and GSI goes; none is not an error.
            let ctx = EventfdCtx::get(a.fd)?;
            let mut inner = glue::lock_killable(&self.inner)?;
            // Dropping an irqfd waits for an injection in flight (which does not take this
            // lock): once this returns, the eventfd raises nothing.
            inner.irqfds.retain(|i| !(ctx.is_of(i) && i.gsi() == a.gsi));
            return Ok(());
        }
        // Upstream's order: the eventfd, then the resamplefd, then whether the eventfd is in
        // use, then whether the GSI is level-triggered.
        // SAFETY: The partition drops its irqfds first thing in its `PinnedDrop`.
        let mut irqfd = unsafe { Irqfd::new(a.fd, self, a.gsi)? };
        if a.flags & uapi::irqfd::RESAMPLE != 0 {
            irqfd.set_resample(EventfdCtx::get(a.resamplefd)?);
        }
        let mut inner = glue::lock_killable(&self.inner)?;
        // Irqfds whose eventfd is closed can never fire again: free them now (looked for only
        // when one hung up).
        // Acquire: the irqfd's own hung-up flag, set before the partition's, is seen.
        if self.irqfd_hangup.swap(false, Ordering::AcqRel) {
            inner.irqfds.retain(|i| !i.hung_up());
        }
        if inner.irqfds.iter().any(|i| i.ctx() == irqfd.ctx()) {
            return Err(EBUSY);
        }
        // As upstream: resampling is for a level-triggered interrupt, routed as one now.
        if irqfd.resamplefd().is_some() {
            let route = self.routing.lock().as_ref().and_then(|r| r.lookup(a.gsi));
            if !route.is_some_and(|msi| msi.level) {
                return Err(EINVAL);
            }
        }
        if inner.irqfds.len() >= MAX_IRQFDS as usize {
            kernel::pr_info_once!(
                "a partition has {} irqfds, its limit (MSHV_CAP_NR_IRQFDS): ENOSPC\n",
                MAX_IRQFDS
            );
            return Err(ENOSPC);
        }
        inner.irqfds.reserve(1, GFP_KERNEL_ACCOUNT)?;
        irqfd.arm();
        // Sorted by GSI, for the EOI's lookup. Cannot fail: the space was reserved.
        let at = inner.irqfds.partition_point(|i| i.gsi() <= a.gsi);
        inner
            .irqfds
            .insert_within_capacity(at, irqfd)
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// VP `vp` ended level-triggered interrupt `vector`: signals the resamplefd of every irqfd
    /// whose GSI is routed to it (level-triggered, to that VP unless the destination is
    /// logical). Whether there was one. Looked up by vector and GSI: the cost does not grow with
    /// the irqfds and routes that have nothing to do with the vector.
    pub(crate) fn notify_eoi(&self, vp: u32, vector: u32) -> Result<bool> {
        let routing = self.routing.lock().clone();
        let Some(routing) = routing else {
            return Ok(false);
        };
        let inner = glue::lock_killable(&self.inner)?;
        let mut any = false;
        for (gsi, msi) in routing.level_routes(vector) {
            if !(msi.logical || msi.apic_id == vp) {
                continue;
            }
            let first = inner.irqfds.partition_point(|i| i.gsi() < gsi);
            for i in inner.irqfds[first..].iter().take_while(|i| i.gsi() == gsi) {
                if let Some(fd) = i.resamplefd() {
                    fd.signal();
                    any = true;
                }
            }
        }
        Ok(any)
    }

    /// An irqfd's eventfd hung up: the next assign frees such irqfds. Atomic context.
    pub(crate) fn irqfd_hung_up(&self) {
        // Release: after the irqfd's own flag, which the next assign looks at.
        self.irqfd_hangup.store(true, Ordering::Release);
    }

    /// Asserts the interrupt `gsi` is routed to, if any; called when an irqfd is signalled.
    pub(crate) fn inject(&self, gsi: u32) {
        let Some(msi) = self.routing.lock().as_ref().and_then(|r| r.lookup(gsi)) else {
            return;
        };
        let mut flags = 0;
        if msi.level {
            flags |= interrupt::LEVEL_TRIGGERED;
        }
        if msi.logical {
            flags |= interrupt::LOGICAL_DEST;
        }
        let r = self.hv.assert_virtual_interrupt(
            self.id,
            msi.delivery,
            flags,
            msi.apic_id.into(),
            msi.vector,
        );
        if let Err(e) = r {
            pr_debug!("partition {}: gsi {gsi}: assert failed: {e:?}\n", self.id);
        }
    }

    /// `MSHV_INITIALIZE_PARTITION`; initializing twice is not an error.
    fn initialize(&self) -> Result {
        let mut inner = glue::lock_killable(&self.inner)?;
        if !inner.initialized {
            self.hv.initialize_partition(self.id)?;
            inner.initialized = true;
        }
        Ok(())
    }

    /// `MSHV_CREATE_VP`: creates a VP and returns its fd.
    fn create_vp(this: ArcBorrow<'_, Self>, arg: usize) -> Result<isize> {
        let args: CreateVp = UserSlice::new(UserPtr::from_addr(arg), size_of::<CreateVp>())
            .reader()
            .read()?;
        if args.vp_index >= MAX_VPS {
            return Err(EINVAL);
        }
        let idx = args.vp_index as usize;
        let mut inner = glue::lock_killable(&this.inner)?;
        if inner.vps.get(idx).is_some_and(|v| v.is_some()) {
            return Err(EEXIST);
        }
        while inner.vps.len() <= idx {
            inner.vps.push(None, GFP_KERNEL_ACCOUNT)?;
        }
        // No check that the partition is initialized: the hypervisor refuses, as upstream.
        this.hv.create_vp(this.id, args.vp_index)?;
        let mut pages = VpPages([None; 3]);
        let made = VP_PAGES
            .iter()
            .try_for_each(|&t| {
                let pfn = this.hv.map_vp_state_page(this.id, args.vp_index, t)?;
                pages.0[usize::from(t)] = Some(pfn);
                Ok(())
            })
            .and_then(|()| {
                let vp = Vp::new(this.into(), args.vp_index, pages)?;
                fd::install(c"mshv_vp", &crate::mshv_vp::VP_FOPS, vp)
            });
        match made {
            Ok(fd) => {
                // Published after the fd exists: nothing can fail any more.
                inner.vps[idx] = Some(pages);
                Ok(fd as isize)
            }
            Err(e) => {
                // The hypervisor keeps a VP until it is deleted; undo what was made.
                unmap_vp_pages(&this.hv, this.id, args.vp_index, &pages);
                let _ = this.hv.delete_vp(this.id, args.vp_index);
                Err(e)
            }
        }
    }

    /// `MSHV_SET_GUEST_MEMORY`: maps or unmaps a region.
    fn set_guest_memory(&self, arg: usize) -> Result {
        let req: UserMemRegion =
            UserSlice::new(UserPtr::from_addr(arg), size_of::<UserMemRegion>())
                .reader()
                .read()?;
        if req.flags & !uapi::mem::FLAGS_MASK != 0 || req.rsvd != [0; 7] {
            return Err(EINVAL);
        }
        if req.flags & uapi::mem::UNMAP != 0 {
            // The size and alignment are checked; a region past the GPA space is not found.
            Region::check_alignment(&req)?;
            return self.unmap(&req);
        }
        let npages = Region::check_shape(&req)?;
        // As upstream: no VMA at the address is `EINVAL`, before the overlap (`EEXIST`).
        let span = glue::vma_span(
            usize::try_from(req.userspace_addr)?,
            usize::try_from(req.size)?,
        )?;
        let mut inner = glue::lock_killable(&self.inner)?;
        if inner.overlaps(req.guest_pfn, npages) {
            return Err(EEXIST);
        }
        if inner.regions.len() >= MAX_REGIONS as usize {
            kernel::pr_info_once!(
                "a partition has {} memory regions, its limit (MSHV_CAP_NR_MEM_REGIONS): ENOSPC\n",
                MAX_REGIONS
            );
            return Err(ENOSPC);
        }
        inner.regions.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let target = RegionTarget {
            hv: &self.hv,
            pt: self.id,
            large: self.super_pages,
        };
        let region = Region::create(&req, &span, &target)?;
        // Sorted by guest page. Cannot fail: room was reserved above.
        let at = inner
            .regions
            .partition_point(|r| r.guest_pfn < req.guest_pfn);
        inner
            .regions
            .insert_within_capacity(at, region)
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// `MSHV_GET_GPAP_ACCESS_BITMAP`: the states are fetched and packed a batch at a time, so
    /// the memory used is bounded whatever the page count.
    fn access_bitmap(&self, arg: usize) -> Result {
        let a: GpapAccessBitmap =
            UserSlice::new(UserPtr::from_addr(arg), size_of::<GpapAccessBitmap>())
                .reader()
                .read()?;
        if a.access_type >= gpap::TYPE_COUNT
            || a.access_op >= gpap::OP_COUNT
            || a.rsvd != [0; 6]
            || a.page_count == 0
            || a.bitmap_ptr == 0
        {
            return Err(EINVAL);
        }
        if a.page_count > u64::from(GPAP_MAX_PAGES) {
            return Err(E2BIG);
        }
        // Past the GPA space: the hypervisor's INVALID_PARAMETER, said before any work.
        if a.gpap_base
            .checked_add(a.page_count)
            .is_none_or(|end| end > crate::mshv_partition::region::GFN_LIMIT)
        {
            return Err(EINVAL);
        }
        let mask = if a.access_type == gpap::TYPE_DIRTY {
            access_state::DIRTY
        } else {
            access_state::ACCESSED
        };
        // Not accessed implies not dirty; dirty implies accessed. NOOP changes nothing
        // (upstream sets the bits on NOOP as it does on SET).
        let flags = match (a.access_type, a.access_op) {
            (_, gpap::OP_NOOP) => 0,
            (gpap::TYPE_ACCESSED, gpap::OP_CLEAR) => {
                access_flags::CLEAR_ACCESSED | access_flags::CLEAR_DIRTY
            }
            (gpap::TYPE_ACCESSED, _) => access_flags::SET_ACCESSED,
            (_, gpap::OP_CLEAR) => access_flags::CLEAR_DIRTY,
            _ => access_flags::SET_DIRTY | access_flags::SET_ACCESSED,
        };
        let total = a.page_count as usize;
        let mut states = KVVec::from_elem(0u8, total.min(GPAP_BATCH), GFP_KERNEL)?;
        let mut bits = KVVec::from_elem(0u8, total.min(GPAP_BATCH).div_ceil(8), GFP_KERNEL)?;
        let mut writer =
            UserSlice::new(UserPtr::from_addr(a.bitmap_ptr as usize), total.div_ceil(8)).writer();
        let mut done = 0;
        while done < total {
            let n = (total - done).min(GPAP_BATCH);
            let states = &mut states[..n];
            self.hv
                .get_gpa_access_states(self.id, a.gpap_base + done as u64, flags, states)?;
            let bits = &mut bits[..n.div_ceil(8)];
            for (b, s) in bits.iter_mut().zip(states.chunks(8)) {
                *b = pack_states(s, mask);
            }
            writer.write_slice(bits)?;
            done += n;
            if done < total {
                OnKill::Stop.step()?;
            }
        }
        Ok(())
    }

    /// Resolves the guest's fault on `gfn` (a GPA intercept for an access of type `access`) in
    /// the kernel, if it is movable memory's to resolve; `false` sends it to userspace.
    /// `EINTR` when a signal came first (the guest retries the access on the next run).
    pub(crate) fn handle_gpa_fault(&self, gfn: u64, access: AccessType) -> Result<bool> {
        let target = {
            let inner = glue::lock_killable(&self.inner)?;
            match inner.region_of(gfn) {
                Some(i) => inner.regions[i].fault_target(access),
                None => Err(EFAULT),
            }
        };
        let Ok(m) = target else {
            return Ok(false);
        };
        // Without the partition's lock: the lookup may wait for I/O, and other VPs fault too.
        // A region unmapped meanwhile refuses the fault.
        match m.fault(gfn) {
            Ok(()) => Ok(true),
            Err(e) if e == EINTR => Err(EINTR),
            Err(_) => Ok(false),
        }
    }

    /// Completes the guest's write of `size` bytes to `addr` (an I/O port with `pio`) if an
    /// ioeventfd matches it: `value` gives the written value (asked for only when an ioeventfd
    /// must match it), `complete` moves the VP past the write, then the eventfd is signalled.
    /// Whether the write was completed; if `complete` fails nothing is signalled.
    pub(crate) fn ioeventfd_write(
        &self,
        pio: bool,
        addr: u64,
        size: u32,
        value: impl FnOnce() -> Result<u64>,
        complete: impl FnOnce() -> Result,
    ) -> Result<bool> {
        // A write racing the first assign may exit to userspace, as it would a moment earlier.
        if self.ioeventfd_count.load(Ordering::Relaxed) == 0 {
            return Ok(false);
        }
        let table = glue::lock_killable(&self.ioeventfds)?;
        let Some(needs_value) = table.wants(pio, addr, size) else {
            return Ok(false);
        };
        let value = if needs_value { value()? } else { 0 };
        let Some(e) = table.find(pio, addr, size, value) else {
            return Ok(false);
        };
        complete()?;
        e.signal();
        Ok(true)
    }

    /// Unmaps the region `req` names exactly.
    fn unmap(&self, req: &UserMemRegion) -> Result {
        let mut inner = glue::lock_killable(&self.inner)?;
        let i = inner.region_of(req.guest_pfn).ok_or(ENOENT)?;
        let r = &mut inner.regions[i];
        if r.uaddr != req.userspace_addr
            || r.npages * uapi::MSHV_HV_PAGE_SIZE as u64 != req.size
            || r.guest_pfn != req.guest_pfn
        {
            return Err(EINVAL);
        }
        r.unmap(&self.hv, self.id, OnKill::Stop)?;
        // The hypervisor no longer maps the pages: unpin them (or stop watching them).
        drop(inner.regions.remove(i)?);
        Ok(())
    }
}

impl Inner {
    /// The index of the region that holds guest page `gfn`: a binary search, the regions being
    /// sorted by their first page and never overlapping.
    fn region_of(&self, gfn: u64) -> Option<usize> {
        let i = self.regions.partition_point(|r| r.guest_pfn <= gfn);
        i.checked_sub(1).filter(|&i| self.regions[i].contains(gfn))
    }

    /// Whether some region overlaps guest pages `[gfn, gfn + n)`: only the last region that
    /// starts below the range's end can.
    fn overlaps(&self, gfn: u64, n: u64) -> bool {
        let i = self
            .regions
            .partition_point(|r| r.guest_pfn < gfn.saturating_add(n));
        i.checked_sub(1)
            .is_some_and(|i| self.regions[i].overlaps(gfn, n))
    }

    /// An empty partition state (for a partition whose object could not be made).
    fn empty() -> Self {
        Inner {
            initialized: false,
            vps: KVec::new(),
            regions: KVec::new(),
            irqfds: KVec::new(),
        }
    }
}

/// Unmaps the state pages of VP `vp` that are mapped.
fn unmap_vp_pages(hv: &Hv, id: u64, vp: u32, pages: &VpPages) {
    for (t, _) in pages.0.iter().enumerate().filter(|(_, p)| p.is_some()) {
        if let Err(e) = hv.unmap_vp_state_page(id, vp, t as u16) {
            pr_err!(
                "partition {id}: unmapping VP {vp}'s state page {t}: error {}\n",
                e.to_errno()
            );
        }
    }
}

/// Tries a teardown step up to three times: a transient failure must not leave the partition
/// (and its memory) behind in the hypervisor. Upstream tries once.
fn teardown_step(id: u64, what: &str, mut op: impl FnMut() -> Result) {
    for attempt in 1..=3 {
        match op() {
            Ok(()) => return,
            Err(e) => pr_err!(
                "partition {id}: {what} (attempt {attempt} of 3): error {}\n",
                e.to_errno()
            ),
        }
    }
}

/// Tears partition `id` down: state pages, finalize, guest memory, deposits, delete.
fn teardown(hv: &Hv, id: u64, inner: &mut Inner) {
    for (idx, vp) in inner.vps.iter().enumerate() {
        if let Some(pages) = vp {
            unmap_vp_pages(hv, id, idx as u32, pages);
        }
    }
    // From here host changes to movable memory are the finalize's to take back: a chunk the
    // notifier cannot take back from a partition being finalized is no cause for alarm yet.
    for r in inner.regions.iter() {
        r.begin_finalize();
    }
    let mut finalized = false;
    teardown_step(id, "finalize", || {
        hv.finalize_partition(id)?;
        finalized = true;
        Ok(())
    });
    if finalized {
        // Finalize unmapped every GPA: the pages can be unpinned.
        forget_regions(inner);
    } else {
        for r in inner.regions.iter() {
            r.finalize_failed();
        }
    }
    teardown_step(id, "withdrawing its memory", || {
        hv.withdraw_all(id).map(|_| ())
    });
    let mut deleted = false;
    teardown_step(id, "delete", || {
        hv.delete_partition(id)?;
        deleted = true;
        Ok(())
    });
    if deleted {
        // Whatever finalize left mapped went with the partition.
        forget_regions(inner);
    } else {
        // The hypervisor may still map them: leave them pinned (or watched) for good.
        for r in inner.regions.drain_all() {
            r.leak();
        }
    }
}

/// Frees the regions of a partition the hypervisor maps nothing of any more.
fn forget_regions(inner: &mut Inner) {
    for r in inner.regions.iter_mut() {
        r.forget_mappings();
    }
    // One at a time: unpinning a region may take long.
    while let Some(r) = inner.regions.pop() {
        drop(r);
        glue::cond_resched();
    }
}

#[pinned_drop]
impl PinnedDrop for Partition {
    fn drop(self: Pin<&mut Self>) {
        let mut inner = self.inner.lock();
        // First: a queued injection still uses the partition.
        inner.irqfds.clear();
        teardown(&self.hv, self.id, &mut inner);
    }
}

impl fd::FdObject for Partition {
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        Self::partition_ioctl(this, cmd, arg)
    }
}

/// The partition fd's operations.
pub(crate) static PARTITION_FOPS: FileOps = fd::fops::<Partition>(false);

#[kunit_tests(mshv_partition)]
mod tests {
    use super::*;

    #[test]
    fn pack_states_word_and_tail() {
        let d = access_state::DIRTY;
        let a = access_state::ACCESSED;
        assert_eq!(pack_states(&[0; 8], d), 0);
        // Accessed but not dirty: no bit for the dirty bitmap, every bit for the accessed one.
        assert_eq!(pack_states(&[a; 8], d), 0);
        assert_eq!(pack_states(&[a; 8], a), 0xff);
        assert_eq!(pack_states(&[0, 0, 0, 0, 0, 0, 0, a | d], d), 0x80);
        assert_eq!(pack_states(&[a | d, 0, a | d, 0, 0, 0, 0, 0], d), 0x05);
        // A short tail (the bitmap's last byte).
        assert_eq!(pack_states(&[0, a | d, a], a), 0x06);
        assert_eq!(pack_states(&[], a), 0);
    }
}
