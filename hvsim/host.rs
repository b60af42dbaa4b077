// SPDX-License-Identifier: GPL-2.0

//! The host the simulator is: a root partition with the root scheduler or with the hypervisor's
//! core scheduler, or an L1VH partition with or without the integrated scheduler. Chosen when
//! the simulator build loads (the module parameters `sim_host`, `sim_hv_build`,
//! `sim_scheduler`, `sim_no_vmm_caps`) and answered where Hyper-V answers it: the hypervisor
//! CPUID leaves, `HvCallGetSystemProperty` and the caller's own extended partition properties.

use core::arch::x86_64::CpuidResult;

use crate::abi::hv::{
    scheduler,
    vmm_caps,
    VmmCapabilities, //
};

/// A simulated host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The root partition; the root schedules VPs (`HvCallDispatchVp`).
    RootScheduler,
    /// The root partition under the hypervisor's core scheduler.
    CoreScheduler,
    /// An L1VH partition, core scheduler.
    L1vh,
    /// An L1VH partition with the integrated scheduler on.
    L1vhIntegrated,
}

/// The simulated host's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) mode: Mode,
    /// CPUID 0x40000002 EAX.
    pub(crate) build: u32,
    /// The scheduler type the root reports, if not the mode's own (tests of unknown types).
    pub(crate) scheduler: Option<u32>,
    /// A hypervisor from before the VMM capabilities: the property is unknown.
    pub(crate) no_vmm_caps: bool,
}

impl Host {
    /// The host the module parameters describe (a root with the root scheduler by default).
    pub(crate) fn from_params() -> Self {
        use crate::module_parameters as p;
        let mode = match p::sim_host.value() {
            1 => Mode::CoreScheduler,
            2 => Mode::L1vh,
            3 => Mode::L1vhIntegrated,
            _ => Mode::RootScheduler,
        };
        let scheduler = Some(p::sim_scheduler.value()).filter(|&t| t != 0);
        Host {
            mode,
            build: p::sim_hv_build.value(),
            scheduler,
            no_vmm_caps: p::sim_no_vmm_caps.value(),
        }
    }

    /// Whether this is the root partition (else L1VH).
    pub(crate) fn is_root(&self) -> bool {
        matches!(self.mode, Mode::RootScheduler | Mode::CoreScheduler)
    }

    /// Whether the parent dispatches VPs itself (`HvCallDispatchVp`).
    pub(crate) fn parent_dispatches(&self) -> bool {
        matches!(self.mode, Mode::RootScheduler | Mode::L1vhIntegrated)
    }

    /// The scheduler type `HvCallGetSystemProperty` reports on the root.
    pub(crate) fn scheduler_type(&self) -> u32 {
        self.scheduler.unwrap_or(if self.parent_dispatches() {
            scheduler::ROOT
        } else {
            scheduler::CORE_SMT
        })
    }

    /// The caller's VMM capabilities: the integrated scheduler is offered on L1VH.
    pub(crate) fn vmm_capabilities(&self) -> VmmCapabilities {
        let mut banks = [vmm_caps::MAP_GPA_PRESERVE_ADJUSTABLE];
        if !self.is_root() {
            banks[0] |= vmm_caps::VMM_ENABLE_INTEGRATED_SCHEDULER;
        }
        VmmCapabilities {
            bank_count: vmm_caps::BANK_COUNT,
            reserved: [0; 3],
            banks,
        }
    }

    /// CPUID `leaf` of the simulated host: the hypervisor leaves Hyper-V presents to a parent
    /// partition, the rest from the real CPU with the hypervisor-present bit set.
    pub(crate) fn cpuid(&self, leaf: u32) -> CpuidResult {
        let r = |eax, ebx, ecx, edx| CpuidResult { eax, ebx, ecx, edx };
        let word = |s: &[u8; 4]| u32::from_le_bytes(*s);
        match leaf {
            1 => {
                let mut c = core::arch::x86_64::__cpuid(1);
                c.ecx |= 1 << 31;
                c
            }
            // The highest hypervisor leaf, and "Microsoft Hv".
            0x4000_0000 => r(0x4000_000b, word(b"Micr"), word(b"osof"), word(b"t Hv")),
            0x4000_0001 => r(word(b"Hv#1"), 0, 0, 0),
            // Build, then version 10.0.
            0x4000_0002 => r(self.build, 10 << 16, 0, 0),
            // Privileges: EBX bit 0 CreatePartitions, bit 12 CpuManagement (the root's).
            0x4000_0003 => {
                let ebx = 1 | if self.is_root() { 1 << 12 } else { 0 };
                r(0, ebx, 0, 0)
            }
            0x4000_0004..=0x4000_000b => r(0, 0, 0, 0),
            _ => core::arch::x86_64::__cpuid(leaf),
        }
    }
}
