// SPDX-License-Identifier: GPL-2.0

//! The host: which parent partition this is, which hypervisor build, what the hypervisor lets
//! the VMM do, and who schedules VPs. Found once, at load, the way upstream's module init finds
//! it, and through the same CPUID leaves and hypercalls in both builds (the simulator answers
//! them as the host it was loaded as).
//!
//! - A kdump kernel does not load: it exists to save a crash dump, not to run guests.
//! - The parent partition comes from the CPUID privileges ([`crate::glue::platform`]).
//! - The hypervisor build (CPUID 0x40000002) outside the window upstream validated is logged,
//!   not refused.
//! - The VMM capabilities (`HvCallGetPartitionPropertyEx`, `VMM_CAPABILITIES`) are needed on
//!   L1VH, where the scheduler depends on them; a root whose hypervisor predates them loads
//!   without (none assumed).
//! - The scheduler: on the root, the `SCHEDULER_TYPE` system property; on L1VH, the integrated
//!   scheduler (the root scheduler's dispatch loop) only when the VMM capabilities offer it and
//!   the partition property `INTEGRATED_SCHEDULER_ENABLED` says it is on, else the core
//!   scheduler. A type the driver does not know is refused (`EOPNOTSUPP`).
//!
//! The scheduler decides how `MSHV_RUN_VP` runs a VP: the root scheduler's `HvCallDispatchVp`
//! loop, or, under the hypervisor's own schedulers, resuming the VP and waiting for its
//! intercept message.

use kernel::prelude::*;

use crate::{
    abi::hv::{
        property,
        scheduler,
        system_property,
        vmm_caps,
        PartitionId,
        HV_PARTITION_ID_SELF, //
    },
    glue::{
        self,
        platform::{
            self,
            Parent, //
        },
    },
    hvcall::Hv,
};

/// The oldest hypervisor build upstream validated the driver on (`MSHV_HV_MIN_VERSION`).
pub(crate) const MIN_BUILD: u32 = 27744;
/// The newest (`MSHV_HV_MAX_VERSION`).
pub(crate) const MAX_BUILD: u32 = 27751;

/// Who decides when a VP runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheduler {
    /// The hypervisor's classic scheduler, without SMT.
    Lp,
    /// The hypervisor's classic scheduler, with SMT.
    LpSmt,
    /// The hypervisor's core scheduler.
    CoreSmt,
    /// The parent dispatches VPs itself: the root scheduler, or L1VH's integrated one.
    Root,
}

impl Scheduler {
    /// The scheduler of a `hv_scheduler_type` value, if the driver knows it.
    pub(crate) fn from_raw(t: u32) -> Option<Self> {
        match t {
            scheduler::LP => Some(Self::Lp),
            scheduler::LP_SMT => Some(Self::LpSmt),
            scheduler::CORE_SMT => Some(Self::CoreSmt),
            scheduler::ROOT => Some(Self::Root),
            _ => None,
        }
    }

    /// A name for logs (upstream's wording).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Lp => "classic scheduler without SMT",
            Self::LpSmt => "classic scheduler with SMT",
            Self::CoreSmt => "core scheduler",
            Self::Root => "root scheduler",
        }
    }
}

/// What the driver knows of its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) parent: Parent,
    /// The hypervisor's build number.
    pub(crate) build: u32,
    /// The first bank of the VMM capabilities (`vmm_caps::*`); 0 where the hypervisor has none.
    pub(crate) vmm_caps: u64,
    pub(crate) scheduler: Scheduler,
}

impl Host {
    /// The host of a handle made without probing (KUnit suites): a root with the root
    /// scheduler, the simulator's default.
    pub(crate) const ASSUMED: Host = Host {
        parent: Parent::Root,
        build: MAX_BUILD,
        vmm_caps: 0,
        scheduler: Scheduler::Root,
    };

    /// Finds the host through `hv`, or refuses with one log line saying why.
    pub(crate) fn probe(hv: &Hv) -> Result<Self> {
        if glue::is_kdump_kernel() {
            pr_err!("a kdump kernel runs no guests: refusing to load\n");
            return Err(ENODEV);
        }
        let parent = platform::classify(|leaf| hv.cpuid(leaf))
            .inspect_err(|r| platform::log_refusal(*r))
            .map_err(|_| ENODEV)?;
        #[cfg(not(mshv_sim))]
        if !glue::hyperv_initialized() {
            // The hypervisor accepts hypercalls once the kernel registered its guest OS ID.
            pr_err!("the kernel has not set up Hyper-V (CONFIG_HYPERV, guest OS ID): refusing to load\n");
            return Err(ENODEV);
        }
        let build = platform::build(|leaf| hv.cpuid(leaf));
        if !(MIN_BUILD..=MAX_BUILD).contains(&build) {
            // As upstream: a warning, not a refusal.
            pr_err!("running on an unvalidated Microsoft Hypervisor build\n");
            pr_err!("builds: current {build}, validated {MIN_BUILD} to {MAX_BUILD}\n");
        }
        let vmm_caps = match hv.vmm_capabilities() {
            Ok(caps) => caps.banks[0],
            Err(e) if parent == Parent::L1vh => {
                pr_err!(
                    "cannot read the VMM capabilities (error {}), which L1VH needs: refusing to load\n",
                    e.to_errno()
                );
                return Err(e);
            }
            // An older hypervisor: none.
            Err(_) => 0,
        };
        let raw = match parent {
            Parent::Root => hv
                .get_system_property(system_property::SCHEDULER_TYPE)
                .inspect_err(|e| {
                    pr_err!(
                        "cannot read the scheduler type (error {}): refusing to load\n",
                        e.to_errno()
                    )
                })?,
            Parent::L1vh => Self::l1vh_scheduler(hv, vmm_caps)?,
        };
        let Some(scheduler) = Scheduler::from_raw(raw) else {
            pr_err!("unsupported hypervisor scheduler type {raw:#x}: refusing to load\n");
            return Err(EOPNOTSUPP);
        };
        pr_info!(
            "Microsoft Hypervisor {} partition, build {build}, {}\n",
            parent.name(),
            scheduler.name()
        );
        Ok(Host {
            parent,
            build,
            vmm_caps,
            scheduler,
        })
    }

    /// The scheduler type of an L1VH partition: the integrated scheduler when both the VMM
    /// capabilities and the partition say so, else the core scheduler.
    fn l1vh_scheduler(hv: &Hv, vmm_caps: u64) -> Result<u32> {
        if vmm_caps & vmm_caps::VMM_ENABLE_INTEGRATED_SCHEDULER == 0 {
            return Ok(scheduler::CORE_SMT);
        }
        let on = hv
            .get_partition_property_ex(
                PartitionId(HV_PARTITION_ID_SELF),
                property::INTEGRATED_SCHEDULER_ENABLED,
            )
            .inspect_err(|e| {
                pr_err!(
                    "cannot read whether the integrated scheduler is on (error {}): refusing to load\n",
                    e.to_errno()
                )
            })?;
        Ok(if on != 0 {
            scheduler::ROOT
        } else {
            scheduler::CORE_SMT
        })
    }
}

#[kunit_tests(mshv_host)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_types() {
        assert_eq!(Scheduler::from_raw(scheduler::LP), Some(Scheduler::Lp));
        assert_eq!(
            Scheduler::from_raw(scheduler::LP_SMT),
            Some(Scheduler::LpSmt)
        );
        assert_eq!(
            Scheduler::from_raw(scheduler::CORE_SMT),
            Some(Scheduler::CoreSmt)
        );
        assert_eq!(Scheduler::from_raw(scheduler::ROOT), Some(Scheduler::Root));
        // Out of the enum: refused at load.
        assert_eq!(Scheduler::from_raw(0), None);
        assert_eq!(Scheduler::from_raw(5), None);
        assert_eq!(Scheduler::from_raw(u32::MAX), None);
    }
}
