// SPDX-License-Identifier: GPL-2.0

//! The input and output layouts of the hypercalls the driver makes (TLFS; the `hv_input_*` and
//! `hv_output_*` structs of Linux's `include/hyperv/` headers).

/// A 128-bit register value (`union hv_register_value`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct HvRegisterValue {
    pub(crate) low: u64,
    pub(crate) high: u64,
}

/// A register name with its value (`struct hv_register_assoc`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct HvRegisterAssoc {
    pub(crate) name: u32,
    pub(crate) reserved1: u32,
    pub(crate) reserved2: u64,
    pub(crate) value: HvRegisterValue,
}

/// The head of `HvCallCreatePartition`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CreatePartitionIn {
    pub(crate) flags: u64,
    pub(crate) proximity_domain_info: u64,
    pub(crate) compatibility_version: u32,
    pub(crate) padding: u32,
    pub(crate) disabled_processor_features: [u64; 2],
    pub(crate) disabled_processor_xsave_features: u64,
    pub(crate) isolation_properties: u64,
}

/// Inputs made of a partition ID only (fast calls).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PartitionIdIn {
    pub(crate) partition_id: u64,
}

/// `HvCallGetPartitionProperty` and `HvCallSetPartitionProperty`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PartitionPropertyIn {
    pub(crate) partition_id: u64,
    pub(crate) property_code: u32,
    pub(crate) padding: u32,
    pub(crate) property_value: u64,
}

/// `HvCallGetPartitionPropertyEx` (`struct hv_input_get_partition_property_ex`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PartitionPropertyExIn {
    pub(crate) partition_id: u64,
    pub(crate) property_code: u32,
    pub(crate) padding: u32,
    pub(crate) arg: u64,
}

/// The VMM capabilities, an extended property (`struct hv_partition_property_vmm_capabilities`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct VmmCapabilities {
    pub(crate) bank_count: u16,
    pub(crate) reserved: [u16; 3],
    /// The banks of capability bits (`vmm_caps::*` in the first).
    pub(crate) banks: [u64; 1],
}

/// `HvCallGetSystemProperty` (`struct hv_input_get_system_property`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct SystemPropertyIn {
    pub(crate) property_id: u32,
    pub(crate) reserved: u32,
    pub(crate) arg: u64,
}

/// The head of `HvCallDepositMemory` and `HvCallWithdrawMemory` (a PFN list follows / is output).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct MemoryPoolIn {
    pub(crate) partition_id: u64,
    pub(crate) proximity_domain_info: u64,
}

/// The head of `HvCallMapGpaPages` (a PFN list follows) and `HvCallUnmapGpaPages`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GpaPagesIn {
    pub(crate) partition_id: u64,
    pub(crate) target_gpa_base: u64,
    pub(crate) flags: u32,
    pub(crate) padding: u32,
}

/// `HvCallCreateVp`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CreateVpIn {
    pub(crate) partition_id: u64,
    pub(crate) vp_index: u32,
    pub(crate) padding: [u8; 3],
    pub(crate) subnode_type: u8,
    pub(crate) subnode_id: u64,
    pub(crate) proximity_domain_info: u64,
    pub(crate) flags: u64,
}

/// `HvCallDeleteVp` (fast, 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct VpIn {
    pub(crate) partition_id: u64,
    pub(crate) vp_index: u32,
    pub(crate) reserved: u32,
}

/// The head of `HvCallGetVpRegisters` (names follow) and `HvCallSetVpRegisters` (associations
/// follow).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct VpRegistersIn {
    pub(crate) partition_id: u64,
    pub(crate) vp_index: u32,
    pub(crate) input_vtl: u8,
    pub(crate) rsvd_z8: u8,
    pub(crate) rsvd_z16: u16,
}

/// `HvCallMapVpStatePage` and `HvCallUnmapVpStatePage`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct VpStatePageIn {
    pub(crate) partition_id: u64,
    pub(crate) vp_index: u32,
    pub(crate) page_type: u16,
    pub(crate) input_vtl: u8,
    pub(crate) flags: u8,
    pub(crate) requested_map_location: u64,
}

/// The head of `HvCallGetVpState` and `HvCallSetVpState` (a PFN list or the data follow).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct VpStateIn {
    pub(crate) partition_id: u64,
    pub(crate) vp_index: u32,
    pub(crate) input_vtl: u8,
    pub(crate) rsvd0: u8,
    pub(crate) rsvd1: u16,
    pub(crate) state_type: u32,
    pub(crate) rsvd: u32,
    pub(crate) xsave_flags: u64,
    pub(crate) xsave_states: u64,
}

/// `HvCallInstallIntercept`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct InstallInterceptIn {
    pub(crate) partition_id: u64,
    pub(crate) access_type: u32,
    pub(crate) intercept_type: u32,
    pub(crate) parameter: u64,
}

/// `HvCallAssertVirtualInterrupt`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct AssertInterruptIn {
    pub(crate) partition_id: u64,
    pub(crate) interrupt_type: u32,
    pub(crate) control_flags: u32,
    pub(crate) dest_addr: u64,
    pub(crate) vector: u32,
    pub(crate) target_vtl: u8,
    pub(crate) rsvd_z0: u8,
    pub(crate) rsvd_z1: u16,
}

/// `HvCallDispatchVp`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct DispatchVpIn {
    pub(crate) partition_id: u64,
    pub(crate) vp_index: u32,
    pub(crate) flags: u32,
    pub(crate) time_slice: u64,
    pub(crate) spec_ctrl: u64,
}

/// The output of `HvCallDispatchVp`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct DispatchVpOut {
    pub(crate) dispatch_state: u32,
    pub(crate) dispatch_event: u32,
}

/// The head of `HvCallGetGpaPagesAccessStates` (one state byte per page is output).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GpaAccessStatesIn {
    pub(crate) partition_id: u64,
    pub(crate) flags: u64,
    pub(crate) gpa_page_number: u64,
}

plain_data!(
    HvRegisterValue = 16,
    HvRegisterAssoc = 32,
    CreatePartitionIn = 56,
    PartitionIdIn = 8,
    PartitionPropertyIn = 24,
    PartitionPropertyExIn = 24,
    VmmCapabilities = 16,
    SystemPropertyIn = 16,
    MemoryPoolIn = 16,
    GpaPagesIn = 24,
    CreateVpIn = 40,
    VpIn = 16,
    VpRegistersIn = 16,
    VpStatePageIn = 24,
    VpStateIn = 40,
    InstallInterceptIn = 24,
    AssertInterruptIn = 32,
    GpaAccessStatesIn = 24,
    DispatchVpIn = 32,
    DispatchVpOut = 8,
);
