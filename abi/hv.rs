// SPDX-License-Identifier: GPL-2.0

//! Microsoft Hypervisor ABI definitions (TLFS): call codes, status codes, flags and register
//! names here; the hypercall control word and result ([`Control`], [`HvResult`]), the
//! hypercall input layouts (`input.rs`), and the pages the hypervisor shares with its root:
//! synthetic messages and the intercept message page ([`message`]) and the register page
//! ([`regpage`]).
//!
//! Data, and the accessors of the shared pages. [`crate::hvcall`] is the typed layer above it;
//! nothing else builds hypercall inputs. The layouts are those of the TLFS, as Linux's
//! `include/hyperv/` headers spell them; every struct is `#[repr(C)]` with explicit padding
//! fields, its size is checked at compile time, and its offsets are checked against the C
//! headers by the `mshv_hv_abi` KUnit suite (`glue/hv_check.c`).

// The ABI is spelled out whole, and not every build uses every constant.
#![allow(dead_code)]

/// The size of a hypercall input or output page.
pub(crate) const HV_PAGE_SIZE: usize = 4096;

/// The partition ID that names the caller (the root partition, for the root's own pool).
pub(crate) const HV_PARTITION_ID_SELF: u64 = u64::MAX;

/// Hypercall call codes.
pub(crate) mod code {
    pub(crate) const CREATE_PARTITION: u16 = 0x0040;
    pub(crate) const INITIALIZE_PARTITION: u16 = 0x0041;
    pub(crate) const FINALIZE_PARTITION: u16 = 0x0042;
    pub(crate) const DELETE_PARTITION: u16 = 0x0043;
    pub(crate) const GET_PARTITION_PROPERTY: u16 = 0x0044;
    pub(crate) const GET_PARTITION_PROPERTY_EX: u16 = 0x0101;
    pub(crate) const SET_PARTITION_PROPERTY: u16 = 0x0045;
    pub(crate) const DEPOSIT_MEMORY: u16 = 0x0048;
    pub(crate) const WITHDRAW_MEMORY: u16 = 0x0049;
    pub(crate) const MAP_GPA_PAGES: u16 = 0x004b;
    pub(crate) const UNMAP_GPA_PAGES: u16 = 0x004c;
    pub(crate) const INSTALL_INTERCEPT: u16 = 0x004d;
    pub(crate) const CREATE_VP: u16 = 0x004e;
    pub(crate) const DELETE_VP: u16 = 0x004f;
    pub(crate) const GET_VP_REGISTERS: u16 = 0x0050;
    pub(crate) const SET_VP_REGISTERS: u16 = 0x0051;
    pub(crate) const TRANSLATE_VIRTUAL_ADDRESS: u16 = 0x0052;
    pub(crate) const CLEAR_VIRTUAL_INTERRUPT: u16 = 0x0056;
    pub(crate) const REGISTER_INTERCEPT_RESULT: u16 = 0x0091;
    pub(crate) const ASSERT_VIRTUAL_INTERRUPT: u16 = 0x0094;
    pub(crate) const SIGNAL_EVENT_DIRECT: u16 = 0x00c0;
    pub(crate) const POST_MESSAGE_DIRECT: u16 = 0x00c1;
    pub(crate) const DISPATCH_VP: u16 = 0x00c2;
    pub(crate) const GET_GPA_PAGES_ACCESS_STATES: u16 = 0x00c9;
    pub(crate) const MAP_VP_STATE_PAGE: u16 = 0x00e1;
    pub(crate) const UNMAP_VP_STATE_PAGE: u16 = 0x00e2;
    pub(crate) const GET_VP_STATE: u16 = 0x00e3;
    pub(crate) const SET_VP_STATE: u16 = 0x00e4;
    pub(crate) const GET_VP_CPUID_VALUES: u16 = 0x00f4;
    pub(crate) const GET_SYSTEM_PROPERTY: u16 = 0x007b;
}

/// `HV_STATUS` values.
pub(crate) mod status {
    pub(crate) const SUCCESS: u16 = 0x0;
    pub(crate) const INVALID_HYPERCALL_CODE: u16 = 0x2;
    pub(crate) const INVALID_HYPERCALL_INPUT: u16 = 0x3;
    pub(crate) const INVALID_ALIGNMENT: u16 = 0x4;
    pub(crate) const INVALID_PARAMETER: u16 = 0x5;
    pub(crate) const ACCESS_DENIED: u16 = 0x6;
    pub(crate) const INVALID_PARTITION_STATE: u16 = 0x7;
    pub(crate) const OPERATION_DENIED: u16 = 0x8;
    pub(crate) const UNKNOWN_PROPERTY: u16 = 0x9;
    pub(crate) const PROPERTY_VALUE_OUT_OF_RANGE: u16 = 0xa;
    pub(crate) const INSUFFICIENT_MEMORY: u16 = 0xb;
    pub(crate) const INVALID_PARTITION_ID: u16 = 0xd;
    pub(crate) const INVALID_VP_INDEX: u16 = 0xe;
    pub(crate) const NOT_FOUND: u16 = 0x10;
    pub(crate) const INVALID_PORT_ID: u16 = 0x11;
    pub(crate) const INVALID_CONNECTION_ID: u16 = 0x12;
    pub(crate) const INSUFFICIENT_BUFFERS: u16 = 0x13;
    pub(crate) const INVALID_VP_STATE: u16 = 0x15;
    pub(crate) const NO_RESOURCES: u16 = 0x1d;
    pub(crate) const PROCESSOR_FEATURE_NOT_SUPPORTED: u16 = 0x20;
    pub(crate) const INVALID_LP_INDEX: u16 = 0x41;
    pub(crate) const INVALID_REGISTER_VALUE: u16 = 0x50;
    pub(crate) const OPERATION_FAILED: u16 = 0x71;
    pub(crate) const INSUFFICIENT_ROOT_MEMORY: u16 = 0x73;
    pub(crate) const INSUFFICIENT_CONTIGUOUS_MEMORY: u16 = 0x75;
    pub(crate) const TIME_OUT: u16 = 0x78;
    pub(crate) const CALL_PENDING: u16 = 0x79;
    pub(crate) const INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY: u16 = 0x83;
}

/// Fields of the 64-bit hypercall control word (RCX) and result (RAX).
pub(crate) mod control {
    /// Bits 15:0: call code.
    pub(crate) const CODE_MASK: u64 = 0xffff;
    /// Bit 16: register ("fast") input.
    pub(crate) const FAST: u64 = 1 << 16;
    /// Bits 26:17: variable header size, in 8-byte units.
    pub(crate) const VARHEAD_SHIFT: u32 = 17;
    pub(crate) const VARHEAD_MAX: u64 = 0x3ff;
    /// Bits 43:32: rep count (in the result: reps completed).
    pub(crate) const REP_COUNT_SHIFT: u32 = 32;
    /// Bits 59:48: rep start index.
    pub(crate) const REP_START_SHIFT: u32 = 48;
    /// The largest rep count or start index (12 bits).
    pub(crate) const REP_MAX: u64 = 0xfff;
    /// Bits that must be zero in a control word from a root partition: 30:27, the nested bit
    /// 31 (only meaningful to a nested hypervisor), 47:44 and 63:60.
    pub(crate) const RESERVED: u64 = (0xf << 27) | (1 << 31) | (0xf << 44) | (0xf << 60);
    /// Bits 15:0 of the result: the status.
    pub(crate) const STATUS_MASK: u64 = 0xffff;
}

/// `HV_MAP_GPA_*` flags of `HvCallMapGpaPages`.
pub(crate) mod map_flags {
    pub(crate) const READABLE: u32 = 0x1;
    pub(crate) const WRITABLE: u32 = 0x2;
    pub(crate) const KERNEL_EXECUTABLE: u32 = 0x4;
    pub(crate) const USER_EXECUTABLE: u32 = 0x8;
    pub(crate) const EXECUTABLE: u32 = KERNEL_EXECUTABLE | USER_EXECUTABLE;
    pub(crate) const ADJUSTABLE: u32 = 0x8000;
    pub(crate) const NO_ACCESS: u32 = 0x10000;
    pub(crate) const NOT_CACHED: u32 = 0x20_0000;
    pub(crate) const LARGE_PAGE: u32 = 0x8000_0000;
    /// Every flag a map request may carry.
    pub(crate) const VALID: u32 =
        READABLE | WRITABLE | EXECUTABLE | ADJUSTABLE | NO_ACCESS | NOT_CACHED | LARGE_PAGE;
    /// `HV_UNMAP_GPA_LARGE_PAGE`, the only unmap flag.
    pub(crate) const UNMAP_LARGE_PAGE: u32 = 0x2;
}

/// `HV_PARTITION_CREATION_FLAG_*`.
pub(crate) mod partition_flags {
    pub(crate) const SMT_ENABLED_GUEST: u64 = 1 << 0;
    pub(crate) const NESTED_VIRTUALIZATION_CAPABLE: u64 = 1 << 1;
    pub(crate) const GPA_SUPER_PAGES_ENABLED: u64 = 1 << 4;
    pub(crate) const EXO_PARTITION: u64 = 1 << 8;
    pub(crate) const LAPIC_ENABLED: u64 = 1 << 13;
    pub(crate) const INTERCEPT_MESSAGE_PAGE_ENABLED: u64 = 1 << 19;
    pub(crate) const X2APIC_CAPABLE: u64 = 1 << 22;
}

/// `HvCallDispatchVp` flags, states and events.
pub(crate) mod dispatch {
    pub(crate) const FLAG_CLEAR_INTERCEPT_SUSPEND: u32 = 0x1;
    /// The register page lists interrupt vectors to inject: the hypervisor scans it.
    pub(crate) const FLAG_SCAN_INTERRUPT_INJECTION: u32 = 0x40;
    pub(crate) const STATE_BLOCKED: u32 = 1;
    pub(crate) const STATE_READY: u32 = 2;
    /// `HV_VP_DISPATCH_EVENT_INVALID`: no event (a blocked VP that is not suspended).
    pub(crate) const EVENT_NONE: u32 = 0;
    pub(crate) const EVENT_SUSPEND: u32 = 1;
    pub(crate) const EVENT_INTERCEPT: u32 = 2;
}

/// Synthetic message types (`HVMSG_*`).
pub(crate) mod msg {
    pub(crate) const NONE: u32 = 0;
    pub(crate) const UNMAPPED_GPA: u32 = 0x8000_0000;
    pub(crate) const GPA_INTERCEPT: u32 = 0x8000_0001;
    pub(crate) const X64_IO_PORT_INTERCEPT: u32 = 0x8001_0000;
    pub(crate) const X64_HALT: u32 = 0x8001_0007;
    /// The guest hit an exception it cannot recover from (a triple fault, or an instruction
    /// the simulator does not know).
    pub(crate) const UNRECOVERABLE_EXCEPTION: u32 = 0x8000_0021;
    /// The guest ended a level-triggered interrupt (`struct hv_x64_apic_eoi_message`).
    pub(crate) const X64_APIC_EOI: u32 = 0x8001_0004;
    /// An intercept whose message is in the VP's intercept message page (SynIC, hypervisor
    /// scheduler).
    pub(crate) const OPAQUE_INTERCEPT: u32 = 0x8000_003f;
    /// A SINT configured as an intercept was signalled (doorbells).
    pub(crate) const SYNIC_SINT_INTERCEPT: u32 = 0x8000_0061;
    /// An asynchronous hypercall completed.
    pub(crate) const ASYNC_CALL_COMPLETION: u32 = 0x8000_0070;
    /// Root scheduler: VPs of one partition to dispatch again (a VP set).
    pub(crate) const SCHEDULER_VP_SIGNAL_BITSET: u32 = 0x8000_0100;
    /// Root scheduler: (partition, VP) pairs to dispatch again.
    pub(crate) const SCHEDULER_VP_SIGNAL_PAIR: u32 = 0x8000_0101;
    /// Bytes of a message (`struct hv_message`): a 16-byte header and 240 bytes of payload.
    pub(crate) const SIZE: usize = 256;
}

/// 4K pages in a 2M large page.
pub(crate) const PAGES_PER_LARGE_PAGE: u64 = 512;

/// The size of the guest pages a GPA map or unmap names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageSize {
    /// 4K pages.
    Small,
    /// 2M pages (`HV_MAP_GPA_LARGE_PAGE`, `HV_UNMAP_GPA_LARGE_PAGE`).
    Large,
}

impl PageSize {
    /// 4K pages in one page of this size.
    pub(crate) const fn small_pages(self) -> u64 {
        match self {
            Self::Small => 1,
            Self::Large => PAGES_PER_LARGE_PAGE,
        }
    }
}

/// Flags of `HvCallGetGpaPagesAccessStates`.
pub(crate) mod access_flags {
    pub(crate) const CLEAR_ACCESSED: u64 = 1 << 0;
    pub(crate) const SET_ACCESSED: u64 = 1 << 1;
    pub(crate) const CLEAR_DIRTY: u64 = 1 << 2;
    pub(crate) const SET_DIRTY: u64 = 1 << 3;
    pub(crate) const VALID: u64 = 0xf;
}

/// Bits of one output byte of `HvCallGetGpaPagesAccessStates`.
pub(crate) mod access_state {
    pub(crate) const ACCESSED: u8 = 1 << 0;
    pub(crate) const DIRTY: u8 = 1 << 1;
}

/// VP state pages that can be mapped into the root (`HV_VP_STATE_PAGE_*`).
pub(crate) mod vp_state_page {
    pub(crate) const REGISTERS: u16 = 0;
    pub(crate) const INTERCEPT_MESSAGE: u16 = 1;
    pub(crate) const GHCB: u16 = 2;
    pub(crate) const COUNT: u16 = 3;
}

/// `HV_GET_SET_VP_STATE_*` types; bit 31 marks state passed through a PFN list.
pub(crate) mod vp_state {
    pub(crate) const TYPE_PFN: u32 = 1 << 31;
    pub(crate) const LAPIC: u32 = TYPE_PFN;
    pub(crate) const XSAVE: u32 = 1 | TYPE_PFN;
    pub(crate) const SIM_PAGE: u32 = 2 | TYPE_PFN;
    pub(crate) const SIEF_PAGE: u32 = 3 | TYPE_PFN;
    pub(crate) const SYNTHETIC_TIMERS: u32 = 4;
}

/// Partition properties.
pub(crate) mod property {
    pub(crate) const PRIVILEGE_FLAGS: u32 = 0x0001_0000;
    pub(crate) const SYNTHETIC_PROC_FEATURES: u32 = 0x0001_0001;
    pub(crate) const GPA_PAGE_ACCESS_TRACKING: u32 = 0x0005_0005;
    pub(crate) const UNIMPLEMENTED_MSR_ACTION: u32 = 0x0005_0017;
    pub(crate) const XSAVE_STATES: u32 = 0x0006_0007;
    pub(crate) const MAX_XSAVE_DATA_SIZE: u32 = 0x0006_0008;
    pub(crate) const PROCESSOR_FEATURES0: u32 = 0x0006_000a;
    pub(crate) const PROCESSOR_FEATURES1: u32 = 0x0006_000b;
    /// Whether the integrated scheduler runs this L1VH partition's VPs (read with the `Ex`
    /// call, a 64-bit value).
    pub(crate) const INTEGRATED_SCHEDULER_ENABLED: u32 = 0x0002_0005;
    /// The extended property of what the hypervisor lets the VMM do
    /// (`struct hv_partition_property_vmm_capabilities`).
    pub(crate) const VMM_CAPABILITIES: u32 = 0x0009_0007;
}

/// Bits of the first bank of the VMM capabilities (`struct
/// hv_partition_property_vmm_capabilities`).
pub(crate) mod vmm_caps {
    pub(crate) const MAP_GPA_PRESERVE_ADJUSTABLE: u64 = 1 << 0;
    pub(crate) const VMM_CAN_PROVIDE_OVERLAY_GPFN: u64 = 1 << 1;
    pub(crate) const VP_AFFINITY_PROPERTY: u64 = 1 << 2;
    pub(crate) const ASSIGNABLE_SYNTHETIC_PROC_FEATURES: u64 = 1 << 4;
    pub(crate) const VMM_ENABLE_INTEGRATED_SCHEDULER: u64 = 1 << 6;
    /// Banks the current layout has (`HV_PARTITION_VMM_CAPABILITIES_BANK_COUNT`).
    pub(crate) const BANK_COUNT: u16 = 1;
}

/// System properties of `HvCallGetSystemProperty`.
pub(crate) mod system_property {
    pub(crate) const SCHEDULER_TYPE: u32 = 15;
}

/// Scheduler types (`enum hv_scheduler_type`): who decides when VPs run.
pub(crate) mod scheduler {
    /// The classic scheduler without SMT.
    pub(crate) const LP: u32 = 1;
    /// The classic scheduler with SMT.
    pub(crate) const LP_SMT: u32 = 2;
    /// The core scheduler.
    pub(crate) const CORE_SMT: u32 = 3;
    /// The root (or, on L1VH, the integrated) scheduler: the parent dispatches VPs.
    pub(crate) const ROOT: u32 = 4;
}

/// Intercept types of `HvCallInstallIntercept`.
pub(crate) mod intercept {
    pub(crate) const X64_IO_PORT: u32 = 0;
    pub(crate) const X64_MSR: u32 = 1;
    pub(crate) const X64_CPUID: u32 = 2;
    pub(crate) const EXCEPTION: u32 = 3;
    pub(crate) const MMIO: u32 = 5;
    pub(crate) const X64_GLOBAL_CPUID: u32 = 6;
    pub(crate) const X64_APIC_SMI: u32 = 7;
    pub(crate) const HYPERCALL: u32 = 8;
    pub(crate) const X64_APIC_INIT_SIPI: u32 = 9;
    pub(crate) const X64_APIC_WRITE: u32 = 0xb;
    pub(crate) const X64_MSR_INDEX: u32 = 0xc;
    /// One past the largest type.
    pub(crate) const MAX: u32 = 0xd;
    /// Access types (read, write, execute) that may be intercepted.
    pub(crate) const ACCESS_MASK: u32 = 0x7;
}

/// x64 register names (a subset: what the driver and the simulator use).
pub(crate) mod reg {
    pub(crate) const EXPLICIT_SUSPEND: u32 = 0x0000_0000;
    pub(crate) const INTERCEPT_SUSPEND: u32 = 0x0000_0001;
    pub(crate) const RAX: u32 = 0x0002_0000;
    pub(crate) const RCX: u32 = 0x0002_0001;
    pub(crate) const RDX: u32 = 0x0002_0002;
    pub(crate) const RBX: u32 = 0x0002_0003;
    pub(crate) const RSP: u32 = 0x0002_0004;
    pub(crate) const R15: u32 = 0x0002_000f;
    pub(crate) const RIP: u32 = 0x0002_0010;
    pub(crate) const RFLAGS: u32 = 0x0002_0011;
    pub(crate) const CR0: u32 = 0x0004_0000;
    pub(crate) const CR8: u32 = 0x0004_0004;
    pub(crate) const ES: u32 = 0x0006_0000;
    pub(crate) const CS: u32 = 0x0006_0001;
    pub(crate) const SS: u32 = 0x0006_0002;
    pub(crate) const DS: u32 = 0x0006_0003;
    pub(crate) const FS: u32 = 0x0006_0004;
    pub(crate) const GS: u32 = 0x0006_0005;
    pub(crate) const TR: u32 = 0x0006_0007;
    pub(crate) const IDTR: u32 = 0x0007_0000;
    pub(crate) const GDTR: u32 = 0x0007_0001;
    pub(crate) const EFER: u32 = 0x0008_0001;
}

/// `HvCallAssertVirtualInterrupt` control flags: level-triggered, logical destination.
pub(crate) mod interrupt {
    pub(crate) const LEVEL_TRIGGERED: u32 = 1 << 0;
    pub(crate) const LOGICAL_DEST: u32 = 1 << 1;
    pub(crate) const FIXED: u32 = 0;
    pub(crate) const LOWEST_PRIORITY: u32 = 1;
    pub(crate) const NMI: u32 = 4;
    pub(crate) const INIT: u32 = 5;
    pub(crate) const SIPI: u32 = 6;
    pub(crate) const EXTINT: u32 = 7;
}

/// Bytes of `struct hv_synthetic_timers_state`: four 40-byte timers and 40 reserved bytes.
pub(crate) const SYNTHETIC_TIMERS_STATE_SIZE: usize = 200;

mod call;
mod ids;
mod input;
pub(crate) mod message;
pub(crate) mod regpage;
pub(crate) mod synic;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;

pub(crate) use call::{
    Control,
    HvError,
    HvResult, //
};
pub(crate) use ids::{
    PartitionId,
    VpIndex, //
};
pub(crate) use input::*;
