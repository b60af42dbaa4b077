// SPDX-License-Identifier: GPL-2.0

//! A partition: its fd, its VPs and guest memory, and its teardown.
//!
//! The partition fd and every VP fd hold a reference; when the last one goes, the partition is
//! torn down in the order the hypervisor requires: unmap the VPs' state pages, finalize (which
//! releases the VPs and the GPA map), let the guest memory go (unpin it, or remove its
//! notifiers), withdraw every deposited page, delete.
//!
//! The partition's concepts are its children: [`vps`] (`MSHV_CREATE_VP`), [`memory`]
//! (`MSHV_SET_GUEST_MEMORY`, the table of regions, faults on movable memory), [`region`] (one
//! region: pinned, movable or device memory), [`dirty`] (`MSHV_GET_GPAP_ACCESS_BITMAP`),
//! [`routing`] and [`irqfd`] (`MSHV_SET_MSI_ROUTING`, `MSHV_IRQFD`, injection, resampling),
//! [`ioeventfd`] (`MSHV_IOEVENTFD`), [`passthru`] (`MSHV_ROOT_HVCALL`) and [`teardown`].
//!
//! Lock order: the partition mutex, then a VP's run mutex is never taken inside it. A movable
//! region's chunk mutex is innermost (its MMU notifier takes it under the mm's locks); the
//! ioeventfd mutex is taken alone.

use core::sync::atomic::{
    AtomicBool,
    AtomicUsize, //
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
        partition_flags as hvpf,
        PartitionId, //
    },
    abi::uapi::{
        self as uapi,
        pt,
        CreatePartition,
        CreatePartitionV2, //
    },
    glue::{
        self,
        fd::{
            self,
            read_arg,
            FileOps, //
        },
        irqfd::Irqfd,
    },
    hvcall::Hv,
    mshv_caps,
};

mod dirty;
pub(crate) mod ioeventfd;
mod irqfd;
mod memory;
pub(crate) mod passthru;
pub(crate) mod region;
pub(crate) mod routing;
mod teardown;
mod vps;

use ioeventfd::Table as IoeventfdTable;
use region::Region;
use routing::Routing;
pub(crate) use vps::VpPages;

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
    pub(crate) id: PartitionId,
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
                teardown::teardown(hv, id, &mut Inner::empty());
                return Err(e);
            }
        };
        Ok(fd::install(c"mshv_partition", &PARTITION_FOPS, partition)? as isize)
    }

    /// The partition fd's ioctls: each argument is read here, once, and handed to its handler.
    fn partition_ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::MSHV_CHECK_EXTENSION => Ok(mshv_caps::check_extension(read_arg(arg)?) as isize),
            uapi::MSHV_INITIALIZE_PARTITION => this.initialize().map(|()| 0),
            uapi::MSHV_CREATE_VP => Self::create_vp(this, &read_arg(arg)?),
            uapi::MSHV_SET_GUEST_MEMORY => this.set_guest_memory(&read_arg(arg)?).map(|()| 0),
            uapi::MSHV_GET_GPAP_ACCESS_BITMAP => this.access_bitmap(&read_arg(arg)?).map(|()| 0),
            uapi::MSHV_IRQFD => this.irqfd(&read_arg(arg)?).map(|()| 0),
            uapi::MSHV_IOEVENTFD => this.ioeventfd(&read_arg(arg)?).map(|()| 0),
            // A header and as many entries as it says: the table reads itself.
            uapi::MSHV_SET_MSI_ROUTING => this.set_msi_routing(Routing::from_user(arg)?),
            uapi::MSHV_ROOT_HVCALL => {
                passthru::root_hvcall(&this.hv, passthru::Target::Partition(this.id), arg)
            }
            _ => Err(ENOTTY),
        }
    }

    /// `MSHV_SET_MSI_ROUTING`: the new table replaces the old one whole (`None`: no routes).
    fn set_msi_routing(&self, new: Option<Arc<Routing>>) -> Result<isize> {
        let old = core::mem::replace(&mut *self.routing.lock(), new);
        // Outside the spinlock: the last reference frees a table that may be vmalloc'ed, and
        // `vfree` may sleep.
        drop(old);
        Ok(0)
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
}

impl Inner {
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

#[pinned_drop]
impl PinnedDrop for Partition {
    fn drop(self: Pin<&mut Self>) {
        let mut inner = self.inner.lock();
        // First: a queued injection still uses the partition.
        inner.irqfds.clear();
        teardown::teardown(&self.hv, self.id, &mut inner);
    }
}

impl fd::FdObject for Partition {
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        Self::partition_ioctl(this, cmd, arg)
    }
}

/// The partition fd's operations.
pub(crate) static PARTITION_FOPS: FileOps = fd::fops::<Partition>(false);
