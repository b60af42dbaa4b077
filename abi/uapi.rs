// SPDX-License-Identifier: GPL-2.0

//! Rust mirrors of `uapi/linux/mshv.h`: ioctl numbers and capability numbers.
//!
//! The C header is the definition. The `mshv_uapi` KUnit suite compares every constant here
//! with the value the C compiler computes from the header (`glue/uapi_check.c`).

use kernel::{
    ioctl::{
        _IO,
        _IOR,
        _IOW,
        _IOWR, //
    },
    prelude::*, //
};

/// The ioctl type shared by every `/dev/mshv` ioctl.
pub(crate) const MSHV_IOCTL: u32 = 0xB8;

/// Capability numbers, the argument of [`MSHV_CHECK_EXTENSION`]. Never reused.
/// The limits the driver enforces, each the value of its capability: a VMM reads them with
/// `MSHV_CHECK_EXTENSION` and gets `ENOSPC` (or `EINVAL` for VP indices and bitmap sizes) past
/// them.
pub(crate) mod limits {
    /// The most VPs a partition may have (`MSHV_CAP_VPS`). Upstream's limit is 256, a `u8` VP
    /// index in userspace; the hypervisor allows more.
    pub(crate) const MAX_VPS: u32 = 1024;
    /// The most pages one `MSHV_GET_GPAP_ACCESS_BITMAP` covers (`MSHV_CAP_GPAP_ACCESS_BITMAP`):
    /// 64 GiB of guest memory. Upstream has no bound and truncates the count to 32 bits on the
    /// way to the hypervisor.
    pub(crate) const GPAP_MAX_PAGES: u32 = 1 << 24;
    /// Guest memory regions a partition may have (`MSHV_CAP_NR_MEM_REGIONS`). Upstream has no
    /// limit, KVM allows 32764 memory slots on x86; a VMM's guest RAM, hotplugged blocks and
    /// device BARs are a few dozen.
    pub(crate) const MAX_REGIONS: u32 = 4096;
    /// ioeventfds a partition may have, port and MMIO together (`MSHV_CAP_NR_IOEVENTFDS`).
    /// Upstream has no limit; KVM allows 1000 per bus.
    pub(crate) const MAX_IOEVENTFDS: u32 = 4096;
    /// irqfds a partition may have (`MSHV_CAP_NR_IRQFDS`): as many as it has GSIs. Upstream has
    /// no limit.
    pub(crate) const MAX_IRQFDS: u32 = super::MSHV_MAX_GUEST_IRQS;
}

pub(crate) mod cap {
    /// The interface is kept stable.
    pub(crate) const CORE_API_STABLE: u32 = 0x0;
    /// The VP register page can be mapped (`MSHV_VP_MMAP_OFFSET_REGISTERS`).
    pub(crate) const REGISTER_PAGE: u32 = 0x1;
    /// The VTL driver's return action; never supported by a root driver.
    pub(crate) const VTL_RETURN_ACTION: u32 = 0x2;
    /// The VTL driver's shared DR6; never supported by a root driver.
    pub(crate) const DR6_SHARED: u32 = 0x3;
    /// `MSHV_CREATE_PARTITION` (v1), the partition fd, `MSHV_INITIALIZE_PARTITION`.
    pub(crate) const CREATE_PARTITION: u32 = 0x10;
    /// `MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES` and the v2 argument.
    pub(crate) const CREATE_PARTITION_V2: u32 = 0x11;
    /// `MSHV_CHECK_EXTENSION` on partition fds.
    pub(crate) const CHECK_EXTENSION_PARTITION: u32 = 0x12;
    /// `MSHV_CREATE_VP`, the VP fd, `MSHV_RUN_VP`; the value is the VP limit.
    pub(crate) const VPS: u32 = 0x13;
    /// `MSHV_SET_GUEST_MEMORY`.
    pub(crate) const GUEST_MEMORY: u32 = 0x14;
    /// `MSHV_ROOT_HVCALL`.
    pub(crate) const ROOT_HVCALL: u32 = 0x15;
    /// The intercept message page can be mapped (`MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE`).
    pub(crate) const INTERCEPT_MESSAGE_PAGE: u32 = 0x16;
    /// `MSHV_GET_VP_STATE` and `MSHV_SET_VP_STATE`.
    pub(crate) const VP_STATE: u32 = 0x17;
    /// `MSHV_GET_GPAP_ACCESS_BITMAP`; the value is the page count limit of one call.
    pub(crate) const GPAP_ACCESS_BITMAP: u32 = 0x18;
    /// `MSHV_SET_MSI_ROUTING`; the value is the number of GSIs.
    pub(crate) const MSI_ROUTING: u32 = 0x19;
    /// `MSHV_IRQFD` assign and deassign.
    pub(crate) const IRQFD: u32 = 0x1A;
    /// Guest RAM is movable: faulted in, taken back on host changes.
    pub(crate) const MOVABLE_MEMORY: u32 = 0x1B;
    /// `MSHV_SET_MEM_BIT_PINNED`.
    pub(crate) const PINNED_MEMORY: u32 = 0x1C;
    /// Device memory (`VM_PFNMAP`) regions.
    pub(crate) const MMIO_MEMORY: u32 = 0x1D;
    /// `MSHV_IOEVENTFD` for MMIO addresses.
    pub(crate) const IOEVENTFD: u32 = 0x1E;
    /// `MSHV_IOEVENTFD` with `MSHV_IOEVENTFD_BIT_PIO`.
    pub(crate) const IOEVENTFD_PIO: u32 = 0x1F;
    /// `MSHV_IRQFD_BIT_RESAMPLE`.
    pub(crate) const IRQFD_RESAMPLE: u32 = 0x20;
    pub(crate) const NR_MEM_REGIONS: u32 = 0x21;
    pub(crate) const NR_IOEVENTFDS: u32 = 0x22;
    pub(crate) const NR_IRQFDS: u32 = 0x23;
}

/// `MSHV_PT_BIT_*`: partition flags.
pub(crate) mod pt {
    pub(crate) const LAPIC: u64 = 1 << 0;
    pub(crate) const X2APIC: u64 = 1 << 1;
    pub(crate) const GPA_SUPER_PAGES: u64 = 1 << 2;
    pub(crate) const CPU_AND_XSAVE_FEATURES: u64 = 1 << 3;
    pub(crate) const NESTED_VIRTUALIZATION: u64 = 1 << 4;
    pub(crate) const SMT_ENABLED_GUEST: u64 = 1 << 5;
    /// `MSHV_PT_FLAGS_MASK`.
    pub(crate) const FLAGS_MASK: u64 = (1 << 6) - 1;
    /// `MSHV_PT_ISOLATION_COUNT`: only `MSHV_PT_ISOLATION_NONE` (0) exists.
    pub(crate) const ISOLATION_COUNT: u64 = 1;
    /// `MSHV_NUM_CPU_FEATURES_BANKS`.
    pub(crate) const NUM_CPU_FEATURES_BANKS: u16 = 2;
}

/// `MSHV_SET_MEM_BIT_*`.
pub(crate) mod mem {
    pub(crate) const WRITABLE: u8 = 1 << 0;
    pub(crate) const EXECUTABLE: u8 = 1 << 1;
    pub(crate) const UNMAP: u8 = 1 << 2;
    pub(crate) const PINNED: u8 = 1 << 3;
    /// `MSHV_SET_MEM_FLAGS_MASK`.
    pub(crate) const FLAGS_MASK: u8 = (1 << 4) - 1;
}

/// `MSHV_HV_PAGE_SIZE`.
pub(crate) const MSHV_HV_PAGE_SIZE: usize = 0x1000;
/// `MSHV_RUN_VP_BUF_SZ`.
pub(crate) const MSHV_RUN_VP_BUF_SZ: usize = 256;

/// `struct mshv_create_partition`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CreatePartition {
    pub(crate) pt_flags: u64,
    pub(crate) pt_isolation: u64,
}

/// `struct mshv_create_partition_v2`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CreatePartitionV2 {
    pub(crate) pt_flags: u64,
    pub(crate) pt_isolation: u64,
    pub(crate) pt_num_cpu_fbanks: u16,
    pub(crate) pt_rsvd: [u8; 6],
    pub(crate) pt_cpu_fbanks: [u64; 2],
    pub(crate) pt_rsvd1: [u64; 2],
    pub(crate) pt_disabled_xsave: u64,
}

/// `struct mshv_create_vp`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CreateVp {
    pub(crate) vp_index: u32,
}

/// `struct mshv_user_mem_region`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct UserMemRegion {
    pub(crate) size: u64,
    pub(crate) guest_pfn: u64,
    pub(crate) userspace_addr: u64,
    pub(crate) flags: u8,
    pub(crate) rsvd: [u8; 7],
}

/// `struct mshv_root_hvcall`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RootHvcall {
    pub(crate) code: u16,
    pub(crate) reps: u16,
    pub(crate) in_sz: u16,
    pub(crate) out_sz: u16,
    pub(crate) status: u16,
    pub(crate) rsvd: [u8; 6],
    pub(crate) in_ptr: u64,
    pub(crate) out_ptr: u64,
}

/// `MSHV_IRQFD_BIT_*`.
pub(crate) mod irqfd {
    pub(crate) const DEASSIGN: u32 = 1 << 0;
    pub(crate) const RESAMPLE: u32 = 1 << 1;
    pub(crate) const FLAGS_MASK: u32 = 0x3;
}

/// `struct mshv_user_irqfd`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct UserIrqfd {
    pub(crate) fd: i32,
    pub(crate) resamplefd: i32,
    pub(crate) gsi: u32,
    pub(crate) flags: u32,
}

/// `MSHV_IOEVENTFD_BIT_*`.
pub(crate) mod ioeventfd {
    pub(crate) const DATAMATCH: u32 = 1 << 0;
    pub(crate) const PIO: u32 = 1 << 1;
    pub(crate) const DEASSIGN: u32 = 1 << 2;
    pub(crate) const FLAGS_MASK: u32 = 0x7;
}

/// `struct mshv_user_ioeventfd`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct UserIoeventfd {
    pub(crate) datamatch: u64,
    pub(crate) addr: u64,
    pub(crate) len: u32,
    pub(crate) fd: i32,
    pub(crate) flags: u32,
    pub(crate) rsvd: [u8; 4],
}

/// `MSHV_MAX_GUEST_IRQS`.
pub(crate) const MSHV_MAX_GUEST_IRQS: u32 = 4096;

/// `struct mshv_user_irq_table` without its entries.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct UserIrqTable {
    pub(crate) nr: u32,
    pub(crate) rsvd: u32,
}

/// `struct mshv_user_irq_entry`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct UserIrqEntry {
    pub(crate) gsi: u32,
    pub(crate) address_lo: u32,
    pub(crate) address_hi: u32,
    pub(crate) data: u32,
}

/// `MSHV_GPAP_ACCESS_TYPE_*` and `MSHV_GPAP_ACCESS_OP_*`.
pub(crate) mod gpap {
    pub(crate) const TYPE_ACCESSED: u8 = 0;
    pub(crate) const TYPE_DIRTY: u8 = 1;
    pub(crate) const TYPE_COUNT: u8 = 2;
    pub(crate) const OP_NOOP: u8 = 0;
    pub(crate) const OP_CLEAR: u8 = 1;
    pub(crate) const OP_SET: u8 = 2;
    pub(crate) const OP_COUNT: u8 = 3;
}

/// `struct mshv_gpap_access_bitmap`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GpapAccessBitmap {
    pub(crate) access_type: u8,
    pub(crate) access_op: u8,
    pub(crate) rsvd: [u8; 6],
    pub(crate) page_count: u64,
    pub(crate) gpap_base: u64,
    pub(crate) bitmap_ptr: u64,
}

/// `MSHV_VP_STATE_*`.
pub(crate) mod vp_state {
    pub(crate) const LAPIC: u8 = 0;
    pub(crate) const XSAVE: u8 = 1;
    pub(crate) const SIMP: u8 = 2;
    pub(crate) const SIEFP: u8 = 3;
    pub(crate) const SYNTHETIC_TIMERS: u8 = 4;
    pub(crate) const COUNT: u8 = 5;
}

/// `struct mshv_get_set_vp_state`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GetSetVpState {
    pub(crate) state_type: u8,
    pub(crate) rsvd: [u8; 3],
    pub(crate) buf_sz: u32,
    pub(crate) buf_ptr: u64,
}

plain_data!(
    UserIrqfd = 16,
    UserIoeventfd = 32,
    UserIrqTable = 8,
    UserIrqEntry = 16,
    GpapAccessBitmap = 32,
    GetSetVpState = 16,
    CreatePartition = 16,
    CreatePartitionV2 = 64,
    CreateVp = 4,
    UserMemRegion = 32,
    RootHvcall = 32,
);

/// `/dev/mshv`: is the capability whose number the argument points to supported?
pub(crate) const MSHV_CHECK_EXTENSION: u32 = _IOW::<u32>(MSHV_IOCTL, 0x00);
/// `/dev/mshv`: create a partition; returns its fd.
pub(crate) const MSHV_CREATE_PARTITION: u32 = _IOW::<CreatePartition>(MSHV_IOCTL, 0x00);
/// Partition fd: initialize the partition.
pub(crate) const MSHV_INITIALIZE_PARTITION: u32 = _IO(MSHV_IOCTL, 0x00);
/// Partition fd: create a VP; returns its fd.
pub(crate) const MSHV_CREATE_VP: u32 = _IOW::<CreateVp>(MSHV_IOCTL, 0x01);
/// Partition fd: map or unmap guest memory.
pub(crate) const MSHV_SET_GUEST_MEMORY: u32 = _IOW::<UserMemRegion>(MSHV_IOCTL, 0x02);
/// Partition fd: assign or deassign an irqfd.
pub(crate) const MSHV_IRQFD: u32 = _IOW::<UserIrqfd>(MSHV_IOCTL, 0x03);
/// Partition fd: assign or deassign an ioeventfd.
pub(crate) const MSHV_IOEVENTFD: u32 = _IOW::<UserIoeventfd>(MSHV_IOCTL, 0x04);
/// Partition fd: replace the MSI routing table.
pub(crate) const MSHV_SET_MSI_ROUTING: u32 = _IOW::<UserIrqTable>(MSHV_IOCTL, 0x05);
/// Partition fd: accessed or dirty bits of guest pages.
pub(crate) const MSHV_GET_GPAP_ACCESS_BITMAP: u32 = _IOWR::<GpapAccessBitmap>(MSHV_IOCTL, 0x06);
/// Partition and VP fds, `/dev/mshv`: an allowed hypercall.
pub(crate) const MSHV_ROOT_HVCALL: u32 = _IOWR::<RootHvcall>(MSHV_IOCTL, 0x07);
/// VP fd: read a VP state.
pub(crate) const MSHV_GET_VP_STATE: u32 = _IOWR::<GetSetVpState>(MSHV_IOCTL, 0x01);
/// VP fd: write a VP state.
pub(crate) const MSHV_SET_VP_STATE: u32 = _IOWR::<GetSetVpState>(MSHV_IOCTL, 0x02);
/// VP fd: run until an intercept; the 256-byte message comes back.
pub(crate) const MSHV_RUN_VP: u32 = _IOR::<[u8; MSHV_RUN_VP_BUF_SZ]>(MSHV_IOCTL, 0x00);

/// Every constant of this file, by its name in the C header.
#[cfg(CONFIG_KUNIT = "y")]
pub(crate) const CONSTANTS: &[(&str, u64)] = &[
    ("MSHV_IOCTL", MSHV_IOCTL as u64),
    ("MSHV_CAP_CORE_API_STABLE", cap::CORE_API_STABLE as u64),
    ("MSHV_CAP_REGISTER_PAGE", cap::REGISTER_PAGE as u64),
    ("MSHV_CAP_VTL_RETURN_ACTION", cap::VTL_RETURN_ACTION as u64),
    ("MSHV_CAP_DR6_SHARED", cap::DR6_SHARED as u64),
    ("MSHV_CAP_CREATE_PARTITION", cap::CREATE_PARTITION as u64),
    (
        "MSHV_CAP_CREATE_PARTITION_V2",
        cap::CREATE_PARTITION_V2 as u64,
    ),
    (
        "MSHV_CAP_CHECK_EXTENSION_PARTITION",
        cap::CHECK_EXTENSION_PARTITION as u64,
    ),
    ("MSHV_CAP_VPS", cap::VPS as u64),
    ("MSHV_CAP_GUEST_MEMORY", cap::GUEST_MEMORY as u64),
    ("MSHV_CAP_ROOT_HVCALL", cap::ROOT_HVCALL as u64),
    (
        "MSHV_CAP_INTERCEPT_MESSAGE_PAGE",
        cap::INTERCEPT_MESSAGE_PAGE as u64,
    ),
    ("MSHV_CHECK_EXTENSION", MSHV_CHECK_EXTENSION as u64),
    ("MSHV_PT_BIT_LAPIC", 0),
    ("MSHV_PT_FLAGS_MASK", pt::FLAGS_MASK),
    ("MSHV_PT_ISOLATION_COUNT", pt::ISOLATION_COUNT),
    (
        "MSHV_NUM_CPU_FEATURES_BANKS",
        pt::NUM_CPU_FEATURES_BANKS as u64,
    ),
    ("MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES", 3),
    ("MSHV_SET_MEM_FLAGS_MASK", mem::FLAGS_MASK as u64),
    ("MSHV_SET_MEM_BIT_UNMAP", 2),
    ("MSHV_SET_MEM_BIT_PINNED", 3),
    ("MSHV_HV_PAGE_SIZE", MSHV_HV_PAGE_SIZE as u64),
    ("MSHV_RUN_VP_BUF_SZ", MSHV_RUN_VP_BUF_SZ as u64),
    ("MSHV_VP_MMAP_OFFSET_REGISTERS", 0),
    ("MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE", 1),
    ("MSHV_VP_MMAP_OFFSET_COUNT", 3),
    ("MSHV_CREATE_PARTITION", MSHV_CREATE_PARTITION as u64),
    (
        "MSHV_INITIALIZE_PARTITION",
        MSHV_INITIALIZE_PARTITION as u64,
    ),
    ("MSHV_CREATE_VP", MSHV_CREATE_VP as u64),
    ("MSHV_SET_GUEST_MEMORY", MSHV_SET_GUEST_MEMORY as u64),
    ("MSHV_ROOT_HVCALL", MSHV_ROOT_HVCALL as u64),
    ("MSHV_RUN_VP", MSHV_RUN_VP as u64),
    ("MSHV_GET_VP_STATE", MSHV_GET_VP_STATE as u64),
    ("MSHV_SET_VP_STATE", MSHV_SET_VP_STATE as u64),
    ("MSHV_CAP_VP_STATE", cap::VP_STATE as u64),
    (
        "MSHV_CAP_GPAP_ACCESS_BITMAP",
        cap::GPAP_ACCESS_BITMAP as u64,
    ),
    ("MSHV_CAP_MSI_ROUTING", cap::MSI_ROUTING as u64),
    ("MSHV_MAX_GUEST_IRQS", MSHV_MAX_GUEST_IRQS as u64),
    ("MSHV_SET_MSI_ROUTING", MSHV_SET_MSI_ROUTING as u64),
    ("MSHV_CAP_IRQFD", cap::IRQFD as u64),
    ("MSHV_CAP_MOVABLE_MEMORY", cap::MOVABLE_MEMORY as u64),
    ("MSHV_CAP_PINNED_MEMORY", cap::PINNED_MEMORY as u64),
    ("MSHV_CAP_MMIO_MEMORY", cap::MMIO_MEMORY as u64),
    ("MSHV_CAP_IOEVENTFD", cap::IOEVENTFD as u64),
    ("MSHV_CAP_IOEVENTFD_PIO", cap::IOEVENTFD_PIO as u64),
    ("MSHV_CAP_IRQFD_RESAMPLE", cap::IRQFD_RESAMPLE as u64),
    ("MSHV_CAP_NR_MEM_REGIONS", cap::NR_MEM_REGIONS as u64),
    ("MSHV_CAP_NR_IOEVENTFDS", cap::NR_IOEVENTFDS as u64),
    ("MSHV_CAP_NR_IRQFDS", cap::NR_IRQFDS as u64),
    ("MSHV_IOEVENTFD", MSHV_IOEVENTFD as u64),
    ("MSHV_IOEVENTFD_FLAGS_MASK", ioeventfd::FLAGS_MASK as u64),
    ("MSHV_IOEVENTFD_BIT_DATAMATCH", 0),
    ("MSHV_IOEVENTFD_BIT_PIO", 1),
    ("MSHV_IOEVENTFD_BIT_DEASSIGN", 2),
    (
        "sizeof(struct mshv_user_ioeventfd)",
        size_of::<UserIoeventfd>() as u64,
    ),
    ("MSHV_IRQFD", MSHV_IRQFD as u64),
    ("MSHV_IRQFD_FLAGS_MASK", irqfd::FLAGS_MASK as u64),
    ("MSHV_IRQFD_BIT_DEASSIGN", 0),
    ("MSHV_IRQFD_BIT_RESAMPLE", 1),
    (
        "sizeof(struct mshv_user_irqfd)",
        size_of::<UserIrqfd>() as u64,
    ),
    (
        "sizeof(struct mshv_user_irq_table)",
        size_of::<UserIrqTable>() as u64,
    ),
    (
        "sizeof(struct mshv_user_irq_entry)",
        size_of::<UserIrqEntry>() as u64,
    ),
    (
        "MSHV_GET_GPAP_ACCESS_BITMAP",
        MSHV_GET_GPAP_ACCESS_BITMAP as u64,
    ),
    ("MSHV_GPAP_ACCESS_TYPE_COUNT", gpap::TYPE_COUNT as u64),
    ("MSHV_GPAP_ACCESS_OP_COUNT", gpap::OP_COUNT as u64),
    ("MSHV_GPAP_ACCESS_OP_SET", gpap::OP_SET as u64),
    (
        "sizeof(struct mshv_gpap_access_bitmap)",
        size_of::<GpapAccessBitmap>() as u64,
    ),
    ("offsetof(struct mshv_gpap_access_bitmap, page_count)", 8),
    (
        "MSHV_VP_STATE_SYNTHETIC_TIMERS",
        vp_state::SYNTHETIC_TIMERS as u64,
    ),
    ("MSHV_VP_STATE_COUNT", vp_state::COUNT as u64),
    (
        "sizeof(struct mshv_get_set_vp_state)",
        size_of::<GetSetVpState>() as u64,
    ),
    ("offsetof(struct mshv_get_set_vp_state, buf_sz)", 4),
    (
        "sizeof(struct mshv_create_partition)",
        size_of::<CreatePartition>() as u64,
    ),
    (
        "sizeof(struct mshv_create_partition_v2)",
        size_of::<CreatePartitionV2>() as u64,
    ),
    (
        "offsetof(struct mshv_create_partition_v2, pt_cpu_fbanks)",
        24,
    ),
    (
        "offsetof(struct mshv_create_partition_v2, pt_disabled_xsave)",
        56,
    ),
    (
        "sizeof(struct mshv_create_vp)",
        size_of::<CreateVp>() as u64,
    ),
    (
        "sizeof(struct mshv_user_mem_region)",
        size_of::<UserMemRegion>() as u64,
    ),
    ("offsetof(struct mshv_user_mem_region, flags)", 24),
    (
        "sizeof(struct mshv_root_hvcall)",
        size_of::<RootHvcall>() as u64,
    ),
    ("offsetof(struct mshv_root_hvcall, status)", 8),
    ("offsetof(struct mshv_root_hvcall, in_ptr)", 16),
    ("sizeof(struct mshv_run_vp)", MSHV_RUN_VP_BUF_SZ as u64),
];

#[kunit_tests(mshv_uapi)]
mod tests {
    use super::*;

    /// Looks a Rust mirror up by its C name.
    fn rust_value(name: &CStr) -> Option<u64> {
        CONSTANTS
            .iter()
            .find(|(n, _)| n.as_bytes() == name.to_bytes())
            .map(|&(_, v)| v)
    }

    #[test]
    fn every_c_constant_has_an_equal_rust_mirror() {
        let mut count = 0;
        for (name, value) in crate::glue::c_tables::uapi() {
            assert_eq!(rust_value(name), Some(value));
            count += 1;
        }
        assert_eq!(count, CONSTANTS.len());
    }

    #[test]
    fn numbers_are_upstreams() {
        // The numbers of Linux's own header (computed there with gcc).
        assert_eq!(MSHV_CHECK_EXTENSION, 0x4004_B800);
        assert_eq!(MSHV_CREATE_PARTITION, 0x4010_B800);
        assert_eq!(MSHV_INITIALIZE_PARTITION, 0x0000_B800);
        assert_eq!(MSHV_CREATE_VP, 0x4004_B801);
        assert_eq!(MSHV_SET_GUEST_MEMORY, 0x4020_B802);
        assert_eq!(MSHV_ROOT_HVCALL, 0xC020_B807);
        assert_eq!(MSHV_RUN_VP, 0x8100_B800);
        assert_eq!(MSHV_GET_VP_STATE, 0xC010_B801);
        assert_eq!(MSHV_GET_GPAP_ACCESS_BITMAP, 0xC020_B806);
        assert_eq!(MSHV_SET_MSI_ROUTING, 0x4008_B805);
        assert_eq!(MSHV_IRQFD, 0x4010_B803);
        assert_eq!(MSHV_IOEVENTFD, 0x4020_B804);
        assert_eq!(MSHV_SET_VP_STATE, 0xC010_B802);
    }
}
