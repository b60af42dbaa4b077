// SPDX-License-Identifier: GPL-2.0

//! mshv-rs: `/dev/mshv`, the interface VMMs use to run guests on the Microsoft Hypervisor.
//!
//! The crate root holds the module and the thin `/dev/mshv` glue; each concept lives in a file
//! of its own. `Documentation/mshv.rst` describes the interface.
//!
//! # Map
//!
//! Every ioctl, the fd it is issued on, and its handler (each fd's dispatcher reads the
//! argument once and hands it over):
//!
//! | ioctl | fd | handler |
//! |---|---|---|
//! | `MSHV_CHECK_EXTENSION` | `/dev/mshv`, partition | [`mshv_caps::check_extension`] |
//! | `MSHV_CREATE_PARTITION` | `/dev/mshv` | [`mshv_partition::Partition::create`] |
//! | `MSHV_ROOT_HVCALL` | `/dev/mshv`, partition, VP | [`mshv_partition::passthru::root_hvcall`] |
//! | `MSHV_INITIALIZE_PARTITION` | partition | `Partition::initialize` (`mshv_partition.rs`) |
//! | `MSHV_CREATE_VP` | partition | `Partition::create_vp` (`mshv_partition/vps.rs`) |
//! | `MSHV_SET_GUEST_MEMORY` | partition | `Partition::set_guest_memory` (`mshv_partition/memory.rs`) |
//! | `MSHV_GET_GPAP_ACCESS_BITMAP` | partition | `Partition::access_bitmap` (`mshv_partition/dirty.rs`) |
//! | `MSHV_SET_MSI_ROUTING` | partition | `Routing::from_user` (`mshv_partition/routing.rs`) |
//! | `MSHV_IRQFD` | partition | `Partition::irqfd` (`mshv_partition/irqfd.rs`) |
//! | `MSHV_IOEVENTFD` | partition | `Partition::ioeventfd` (`mshv_partition/ioeventfd.rs`) |
//! | `MSHV_RUN_VP` | VP | `Vp::run` (`mshv_vp.rs`; in-kernel intercepts in `mshv_vp/intercept.rs`) |
//! | `MSHV_GET_VP_STATE`, `MSHV_SET_VP_STATE` | VP | `Vp::state` (`mshv_vp/state.rs`) |
//! | `mmap` | VP | `Vp::map_pages` (`mshv_vp.rs`) |
//!
//! The layers, top down: the ioctl surface (this file, [`mshv_caps`], the dispatchers of
//! [`mshv_partition`] and [`mshv_vp`]); the objects (partitions, VPs, regions, irqfds,
//! ioeventfds); the hypercall layer ([`hvcall`], typed calls in `hvcall/calls.rs`) down to one
//! leaf (`hvcall/leaf.rs`: the instruction, or the simulator); the ABI definitions both sides
//! share ([`abi`]); the C-API glue ([`glue`]: every C file and its Rust half). The simulator
//! (`hvsim`, simulator build only) sits below the leaf and imports nothing of the driver.
//!
//! Two builds come from this source: the production module, which loads only on a Microsoft
//! Hypervisor root or L1VH partition, and the simulator build (`make MSHV_SIM=1`, Rust cfg
//! `mshv_sim`), which loads anywhere and runs above a simulated hypervisor for the tests.

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::Arc, //
};

/// Declares that plain-data ABI structs (hypercall inputs, ioctl arguments) can be copied to and
/// from bytes, after checking at compile time that each has its ABI size (and therefore no
/// implicit padding).
macro_rules! plain_data {
    ($($t:ty = $size:expr),* $(,)?) => {$(
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
        // SAFETY: The type is `#[repr(C)]` and made of integers only, with its padding spelled
        // out as fields (the size assertion above fails otherwise): every bit pattern is valid
        // and there are no uninitialised bytes.
        unsafe impl kernel::transmute::FromBytes for $t {}
        // SAFETY: As above.
        unsafe impl kernel::transmute::AsBytes for $t {}
    )*};
}

mod abi;
mod glue;
mod hvcall;
#[cfg(mshv_sim)]
mod hvsim;
mod mshv_caps;
mod mshv_host;
mod mshv_partition;
mod mshv_synic;
mod mshv_vp;

/// The simulator's control files reach the driver through this, so the simulator imports no
/// driver module.
#[cfg(mshv_sim)]
impl hvsim::debugfs::Driver for hvcall::Hv {
    fn sim(&self) -> &hvsim::HvSim {
        self.leaf().sim()
    }

    fn ledger_pages(&self) -> usize {
        self.deposited_pages()
    }

    fn pin(&self, addr: u64, npages: usize) -> Result {
        use glue::pin::{
            Access,
            Pinned,
            Term, //
        };
        drop(Pinned::new(addr, npages, Access::Write, Term::Long)?);
        Ok(())
    }
}

#[cfg(not(mshv_sim))]
module! {
    type: MshvModule,
    name: "mshv",
    authors: ["mshv-rs developers"],
    description: "/dev/mshv: Microsoft Hypervisor partitions for VMMs",
    license: "GPL",
}

// The simulator build takes the simulated host's shape as parameters; only the simulator reads
// them (`hvsim/host.rs`), the driver finds out through CPUID and hypercalls as in production.
#[cfg(mshv_sim)]
module! {
    type: MshvModule,
    name: "mshv",
    authors: ["mshv-rs developers"],
    description: "/dev/mshv: Microsoft Hypervisor partitions for VMMs (simulator build)",
    license: "GPL",
    params: {
        sim_host: u32 {
            default: 0,
            description: "Simulated host: 0 root (root scheduler), 1 root (core scheduler), 2 L1VH, 3 L1VH with the integrated scheduler",
        },
        sim_hv_build: u32 {
            default: 27751,
            description: "Simulated hypervisor build number (CPUID 0x40000002 EAX)",
        },
        sim_scheduler: u32 {
            default: 0,
            description: "Scheduler type the simulated root reports (0: the host's own)",
        },
        sim_no_vmm_caps: bool {
            default: false,
            description: "Simulate a hypervisor without the VMM capabilities property",
        },
    },
}

/// The module: `/dev/mshv` registered for as long as it is loaded.
#[pin_data]
struct MshvModule {
    /// The SynIC on every CPU, and its interrupt handler.
    _synic: mshv_synic::Synic,
    /// The simulator's controls in debugfs.
    #[cfg(mshv_sim)]
    _sim_debugfs: Pin<KBox<kernel::debugfs::Scope<Arc<hvcall::Hv>>>>,
    /// The hypercall layer, published for `/dev/mshv`'s ioctls.
    _hv: Published,
    #[pin]
    _dev: MiscDeviceRegistration<MshvDevice>,
}

impl kernel::InPlaceModule for MshvModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        #[cfg(mshv_sim)]
        pr_info!("simulator build: running above the simulated hypervisor\n");
        // First: nothing is registered where the module refuses to load.
        let hv = hvcall::Hv::new().and_then(|mut hv| {
            let host = mshv_host::Host::probe(&hv)?;
            hv.set_host(host);
            Ok(Arc::new(hv, GFP_KERNEL)?)
        });
        // Fields are made in order; when one fails, those made before it are dropped, so a
        // failed registration also withdraws the published handle.
        try_pin_init!(Self {
            _synic: mshv_synic::Synic::new(hv.as_ref().map_err(|e| *e)?)?,
            #[cfg(mshv_sim)]
            _sim_debugfs: hvsim::debugfs::register(hv.as_ref().map_err(|e| *e)?)?,
            _hv: Published::new(hv?),
            _dev <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"mshv" }),
        })
    }
}

kernel::sync::global_lock! {
    // SAFETY: Initialized by `Published::new`, in module init, before `/dev/mshv` exists.
    unsafe(uninit) static HV: Mutex<Option<Arc<hvcall::Hv>>> = None;
}

/// The hypercall layer published in [`HV`] for as long as this lives.
struct Published;

impl Published {
    fn new(hv: Arc<hvcall::Hv>) -> Self {
        // SAFETY: Module init runs once, before anything uses `HV`.
        unsafe { HV.init() };
        *HV.lock() = Some(hv);
        Published
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // No `/dev/mshv` file is open (each holds a module reference), or `/dev/mshv` was never
        // registered: nothing uses `HV` now.
        *HV.lock() = None;
    }
}

/// An open `/dev/mshv`. It holds no state: partitions get file descriptors of their own.
struct MshvDevice;

#[vtable]
impl MiscDevice for MshvDevice {
    type Ptr = ();

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        Ok(())
    }

    fn ioctl(_device: (), _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let hv = HV.lock().clone().ok_or(ENODEV)?;
        let hv = &hv;
        match cmd {
            abi::uapi::MSHV_CHECK_EXTENSION => {
                Ok(mshv_caps::check_extension(glue::fd::read_arg(arg)?) as isize)
            }
            abi::uapi::MSHV_CREATE_PARTITION => mshv_partition::Partition::create(hv, arg),
            abi::uapi::MSHV_ROOT_HVCALL => mshv_partition::passthru::root_hvcall(
                hv,
                mshv_partition::passthru::Target::Root,
                arg,
            ),
            _ => Err(ENOTTY),
        }
    }
}
