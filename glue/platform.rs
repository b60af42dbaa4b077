// SPDX-License-Identifier: GPL-2.0

//! Where the module runs: a Microsoft Hypervisor root or L1VH partition, or somewhere else.
//!
//! Detection follows the TLFS "Hypervisor Discovery" leaves, read with CPUID directly so the
//! answer does not depend on what the running kernel made of the platform:
//! the hypervisor-present bit (CPUID 1, ECX bit 31), the vendor "Microsoft Hv" (0x40000000),
//! the interface "Hv#1" (0x40000001), and the partition privileges (0x40000003 EBX):
//! CreatePartitions set and Isolation clear make a parent partition; CpuManagement tells the
//! root from an L1VH partition. The leaves come from [`crate::hvcall::Hv::cpuid`]: the
//! instruction in production, the simulated hypervisor's CPU in the simulator build.

use core::arch::x86_64::CpuidResult;

use kernel::prelude::*;

/// A parent partition, the only place from which partitions can be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parent {
    /// The root partition: it also manages the physical CPUs.
    Root,
    /// An L1 virtualization host: a guest allowed to create its own partitions.
    L1vh,
}

impl Parent {
    /// A name for logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Parent::Root => "root",
            Parent::L1vh => "L1VH",
        }
    }
}

/// Why this is not a parent partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// CPUID reports no hypervisor.
    NoHypervisor,
    /// A hypervisor other than Microsoft's; the vendor signature it reports.
    Vendor([u8; 12]),
    /// Microsoft's vendor string without the "Hv#1" interface or its leaves.
    Interface,
    /// A partition without the CreatePartitions privilege (an ordinary guest).
    NotParent,
    /// An isolated (SNP/TDX) partition.
    Isolated,
}

/// The CPUID leaves and bits read here.
mod leaf {
    /// Standard feature leaf.
    pub(super) const FEATURES: u32 = 1;
    /// CPUID 1 ECX: a hypervisor is present.
    pub(super) const ECX_HYPERVISOR: u32 = 1 << 31;
    /// Highest hypervisor leaf in EAX, vendor in EBX:ECX:EDX.
    pub(super) const VENDOR: u32 = 0x4000_0000;
    /// Interface signature in EAX.
    pub(super) const INTERFACE: u32 = 0x4000_0001;
    /// The hypervisor version: EAX the build number.
    pub(super) const VERSION: u32 = 0x4000_0002;
    /// Partition privileges: EAX low half, EBX high half of the privilege mask.
    pub(super) const FEATURES_HV: u32 = 0x4000_0003;
    /// EBX of [`FEATURES_HV`]: may create partitions.
    pub(super) const EBX_CREATE_PARTITIONS: u32 = 1 << 0;
    /// EBX of [`FEATURES_HV`]: manages the physical CPUs (the root).
    pub(super) const EBX_CPU_MANAGEMENT: u32 = 1 << 12;
    /// EBX of [`FEATURES_HV`]: an isolated partition.
    pub(super) const EBX_ISOLATION: u32 = 1 << 22;
    /// The vendor signature of the Microsoft Hypervisor.
    pub(super) const MICROSOFT_HV: &[u8; 12] = b"Microsoft Hv";
    /// The interface signature "Hv#1".
    pub(super) const HV1: u32 = u32::from_le_bytes(*b"Hv#1");
}

/// Classifies the platform from the CPUID leaves `cpuid` returns.
pub(crate) fn classify(cpuid: impl Fn(u32) -> CpuidResult) -> Result<Parent, Refusal> {
    if cpuid(leaf::FEATURES).ecx & leaf::ECX_HYPERVISOR == 0 {
        return Err(Refusal::NoHypervisor);
    }
    let v = cpuid(leaf::VENDOR);
    let mut vendor = [0u8; 12];
    vendor[0..4].copy_from_slice(&v.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&v.ecx.to_le_bytes());
    vendor[8..12].copy_from_slice(&v.edx.to_le_bytes());
    if &vendor != leaf::MICROSOFT_HV {
        return Err(Refusal::Vendor(vendor));
    }
    if v.eax < leaf::FEATURES_HV || cpuid(leaf::INTERFACE).eax != leaf::HV1 {
        return Err(Refusal::Interface);
    }
    let privileges = cpuid(leaf::FEATURES_HV).ebx;
    if privileges & leaf::EBX_CREATE_PARTITIONS == 0 {
        return Err(Refusal::NotParent);
    }
    if privileges & leaf::EBX_ISOLATION != 0 {
        return Err(Refusal::Isolated);
    }
    if privileges & leaf::EBX_CPU_MANAGEMENT != 0 {
        Ok(Parent::Root)
    } else {
        Ok(Parent::L1vh)
    }
}

/// The hypervisor's build number, from the leaves `cpuid` returns (of a CPU [`classify`]
/// accepted, so the version leaf exists).
pub(crate) fn build(cpuid: impl Fn(u32) -> CpuidResult) -> u32 {
    cpuid(leaf::VERSION).eax
}

/// Logs, in one line, why the module refuses to load.
pub(crate) fn log_refusal(r: Refusal) {
    const SUFFIX: &str = "not a Microsoft Hypervisor root or L1VH partition; refusing to load";
    match r {
        Refusal::NoHypervisor => pr_err!("no hypervisor (CPUID): {SUFFIX}\n"),
        Refusal::Vendor(v) => {
            let name = core::str::from_utf8(&v).unwrap_or("(not text)");
            pr_err!("hypervisor vendor is \"{name}\": {SUFFIX}\n");
        }
        Refusal::Interface => pr_err!("no Hv#1 interface: {SUFFIX}\n"),
        Refusal::NotParent => pr_err!("guest without CreatePartitions: {SUFFIX}\n"),
        Refusal::Isolated => pr_err!("isolated partition: {SUFFIX}\n"),
    }
}

#[kunit_tests(mshv_platform)]
mod tests {
    use super::*;

    /// A CPU whose hypervisor leaves say `vendor`, interface `interface` and privileges `ebx`.
    fn cpu(
        hypervisor_bit: bool,
        vendor: &[u8; 12],
        max: u32,
        interface: u32,
        ebx: u32,
    ) -> impl Fn(u32) -> CpuidResult {
        let word =
            |i: usize| u32::from_le_bytes([vendor[i], vendor[i + 1], vendor[i + 2], vendor[i + 3]]);
        let (b, c, d) = (word(0), word(4), word(8));
        move |l| {
            let r = |eax, ebx, ecx, edx| CpuidResult { eax, ebx, ecx, edx };
            match l {
                leaf::FEATURES => r(
                    0,
                    0,
                    if hypervisor_bit {
                        leaf::ECX_HYPERVISOR
                    } else {
                        0
                    },
                    0,
                ),
                leaf::VENDOR => r(max, b, c, d),
                leaf::INTERFACE => r(interface, 0, 0, 0),
                leaf::FEATURES_HV => r(0, ebx, 0, 0),
                _ => r(0, 0, 0, 0),
            }
        }
    }

    const MS: &[u8; 12] = leaf::MICROSOFT_HV;
    const CREATE: u32 = leaf::EBX_CREATE_PARTITIONS;
    const CPU_MGMT: u32 = leaf::EBX_CPU_MANAGEMENT;
    const ISOLATED: u32 = leaf::EBX_ISOLATION;
    const MAX: u32 = 0x4000_000b;

    #[test]
    fn root_and_l1vh_are_parents() {
        assert_eq!(
            classify(cpu(true, MS, MAX, leaf::HV1, CREATE | CPU_MGMT)),
            Ok(Parent::Root)
        );
        assert_eq!(
            classify(cpu(true, MS, MAX, leaf::HV1, CREATE)),
            Ok(Parent::L1vh)
        );
    }

    #[test]
    fn others_are_refused() {
        assert_eq!(
            classify(cpu(false, MS, MAX, leaf::HV1, CREATE | CPU_MGMT)),
            Err(Refusal::NoHypervisor)
        );
        assert_eq!(
            classify(cpu(true, b"KVMKVMKVM\0\0\0", MAX, 0, CREATE)),
            Err(Refusal::Vendor(*b"KVMKVMKVM\0\0\0"))
        );
        assert_eq!(
            classify(cpu(true, MS, MAX, 0, CREATE | CPU_MGMT)),
            Err(Refusal::Interface)
        );
        assert_eq!(
            classify(cpu(true, MS, 0x4000_0001, leaf::HV1, CREATE | CPU_MGMT)),
            Err(Refusal::Interface)
        );
        assert_eq!(
            classify(cpu(true, MS, MAX, leaf::HV1, CPU_MGMT)),
            Err(Refusal::NotParent)
        );
        assert_eq!(
            classify(cpu(true, MS, MAX, leaf::HV1, CREATE | CPU_MGMT | ISOLATED)),
            Err(Refusal::Isolated)
        );
    }
}
