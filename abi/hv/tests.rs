// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `mshv_hv_abi`: every shared layout against the kernel's own Hyper-V headers
//! (`glue/hv_check.c` evaluates the C side), and the message types round-tripping.

use kernel::prelude::*;

use super::*;

/// The layouts' sizes and offsets, and the constants they use, under the C expression
/// `glue/hv_check.c` evaluates for each.
const C_MIRRORS: &[(&str, u64)] = {
    use core::mem::offset_of;
    use message::{
        ApicEoi,
        InterceptHeader,
        MemoryIntercept,
        Message,
        MessageHeader,
        SegmentRegister, //
    };
    use regpage::Layout as RegPage;
    const fn n(v: usize) -> u64 {
        v as u64
    }
    &[
        (
            "sizeof(struct hv_message_header)",
            n(size_of::<MessageHeader>()),
        ),
        (
            "offsetof(struct hv_message_header, payload_size)",
            n(offset_of!(MessageHeader, payload_size)),
        ),
        (
            "offsetof(struct hv_message_header, message_flags)",
            n(offset_of!(MessageHeader, message_flags)),
        ),
        (
            "offsetof(struct hv_message_header, sender)",
            n(offset_of!(MessageHeader, sender)),
        ),
        ("sizeof(struct hv_message)", n(size_of::<Message>())),
        (
            "offsetof(struct hv_message, u.payload)",
            n(offset_of!(Message, payload)),
        ),
        ("HV_MESSAGE_PAYLOAD_QWORD_COUNT", n(message::PAYLOAD_QWORDS)),
        (
            "sizeof(struct hv_x64_segment_register)",
            n(size_of::<SegmentRegister>()),
        ),
        (
            "offsetof(struct hv_x64_segment_register, limit)",
            n(offset_of!(SegmentRegister, limit)),
        ),
        (
            "offsetof(struct hv_x64_segment_register, selector)",
            n(offset_of!(SegmentRegister, selector)),
        ),
        (
            "offsetof(struct hv_x64_segment_register, attributes)",
            n(offset_of!(SegmentRegister, attributes)),
        ),
        (
            "sizeof(struct hv_x64_intercept_message_header)",
            n(size_of::<InterceptHeader>()),
        ),
        (
            "offsetof(struct hv_x64_intercept_message_header, intercept_access_type)",
            n(offset_of!(InterceptHeader, intercept_access_type)),
        ),
        (
            "offsetof(struct hv_x64_intercept_message_header, execution_state)",
            n(offset_of!(InterceptHeader, execution_state)),
        ),
        (
            "offsetof(struct hv_x64_intercept_message_header, cs_segment)",
            n(offset_of!(InterceptHeader, cs_segment)),
        ),
        (
            "offsetof(struct hv_x64_intercept_message_header, rip)",
            n(offset_of!(InterceptHeader, rip)),
        ),
        (
            "offsetof(struct hv_x64_intercept_message_header, rflags)",
            n(offset_of!(InterceptHeader, rflags)),
        ),
        (
            "sizeof(struct hv_x64_memory_intercept_message)",
            n(size_of::<MemoryIntercept>()),
        ),
        (
            "offsetof(struct hv_x64_memory_intercept_message, cache_type)",
            n(offset_of!(MemoryIntercept, cache_type)),
        ),
        (
            "offsetof(struct hv_x64_memory_intercept_message, instruction_byte_count)",
            n(offset_of!(MemoryIntercept, instruction_byte_count)),
        ),
        (
            "offsetof(struct hv_x64_memory_intercept_message, memory_access_info)",
            n(offset_of!(MemoryIntercept, memory_access_info)),
        ),
        (
            "offsetof(struct hv_x64_memory_intercept_message, guest_virtual_address)",
            n(offset_of!(MemoryIntercept, guest_virtual_address)),
        ),
        (
            "offsetof(struct hv_x64_memory_intercept_message, guest_physical_address)",
            n(offset_of!(MemoryIntercept, guest_physical_address)),
        ),
        (
            "offsetof(struct hv_x64_memory_intercept_message, instruction_bytes)",
            n(offset_of!(MemoryIntercept, instruction_bytes)),
        ),
        (
            "sizeof(struct hv_x64_apic_eoi_message)",
            n(size_of::<ApicEoi>()),
        ),
        (
            "offsetof(struct hv_x64_apic_eoi_message, interrupt_vector)",
            n(offset_of!(ApicEoi, interrupt_vector)),
        ),
        ("HVMSG_NONE", msg::NONE as u64),
        ("HVMSG_UNMAPPED_GPA", msg::UNMAPPED_GPA as u64),
        ("HVMSG_GPA_INTERCEPT", msg::GPA_INTERCEPT as u64),
        (
            "HVMSG_X64_IO_PORT_INTERCEPT",
            msg::X64_IO_PORT_INTERCEPT as u64,
        ),
        ("HVMSG_X64_HALT", msg::X64_HALT as u64),
        (
            "HVMSG_UNRECOVERABLE_EXCEPTION",
            msg::UNRECOVERABLE_EXCEPTION as u64,
        ),
        ("HVMSG_X64_APIC_EOI", msg::X64_APIC_EOI as u64),
        ("HV_INTERCEPT_ACCESS_READ", message::AccessType::Read as u64),
        (
            "HV_INTERCEPT_ACCESS_WRITE",
            message::AccessType::Write as u64,
        ),
        (
            "HV_INTERCEPT_ACCESS_EXECUTE",
            message::AccessType::Execute as u64,
        ),
        (
            "sizeof(struct hv_vp_register_page)",
            n(size_of::<RegPage>()),
        ),
        (
            "offsetof(struct hv_vp_register_page, isvalid)",
            n(offset_of!(RegPage, isvalid)),
        ),
        (
            "offsetof(struct hv_vp_register_page, dirty)",
            n(offset_of!(RegPage, dirty)),
        ),
        (
            "offsetof(struct hv_vp_register_page, gp_registers)",
            n(offset_of!(RegPage, gp_registers)),
        ),
        (
            "offsetof(struct hv_vp_register_page, rip)",
            n(offset_of!(RegPage, rip)),
        ),
        (
            "offsetof(struct hv_vp_register_page, rflags)",
            n(offset_of!(RegPage, rflags)),
        ),
        (
            "offsetof(struct hv_vp_register_page, xmm_registers)",
            n(offset_of!(RegPage, xmm_registers)),
        ),
        (
            "offsetof(struct hv_vp_register_page, segment_registers)",
            n(offset_of!(RegPage, segment_registers)),
        ),
        (
            "offsetof(struct hv_vp_register_page, cr0)",
            n(offset_of!(RegPage, cr0)),
        ),
        (
            "offsetof(struct hv_vp_register_page, xfem)",
            n(offset_of!(RegPage, xfem)),
        ),
        (
            "offsetof(struct hv_vp_register_page, interrupt_vectors)",
            n(offset_of!(RegPage, interrupt_vectors)),
        ),
        ("HV_VP_REGISTER_PAGE_VERSION_1", regpage::VERSION_1 as u64),
        (
            "HV_X64_REGISTER_CLASS_GENERAL",
            regpage::class::GENERAL.trailing_zeros() as u64,
        ),
        (
            "HV_X64_REGISTER_CLASS_IP",
            regpage::class::IP.trailing_zeros() as u64,
        ),
        (
            "HV_X64_REGISTER_CLASS_XMM",
            regpage::class::XMM.trailing_zeros() as u64,
        ),
        (
            "HV_X64_REGISTER_CLASS_SEGMENT",
            regpage::class::SEGMENT.trailing_zeros() as u64,
        ),
        (
            "HV_X64_REGISTER_CLASS_FLAGS",
            regpage::class::FLAGS.trailing_zeros() as u64,
        ),
        (
            "sizeof(union hv_register_value)",
            n(size_of::<HvRegisterValue>()),
        ),
        (
            "sizeof(struct hv_register_assoc)",
            n(size_of::<HvRegisterAssoc>()),
        ),
        (
            "sizeof(struct hv_input_create_partition)",
            n(size_of::<CreatePartitionIn>()),
        ),
        (
            "sizeof(struct hv_input_get_partition_property)",
            n(size_of::<PartitionPropertyIn>() - 8),
        ),
        (
            "sizeof(struct hv_input_set_partition_property)",
            n(size_of::<PartitionPropertyIn>()),
        ),
        (
            "sizeof(struct hv_input_withdraw_memory)",
            n(size_of::<MemoryPoolIn>()),
        ),
        (
            "sizeof(struct hv_input_map_gpa_pages)",
            n(size_of::<GpaPagesIn>()),
        ),
        (
            "sizeof(struct hv_input_unmap_gpa_pages)",
            n(size_of::<GpaPagesIn>()),
        ),
        (
            "sizeof(struct hv_input_get_vp_registers)",
            n(size_of::<VpRegistersIn>()),
        ),
        (
            "sizeof(struct hv_input_map_vp_state_page)",
            n(size_of::<VpStatePageIn>()),
        ),
        (
            "sizeof(struct hv_input_get_vp_state)",
            n(size_of::<VpStateIn>()),
        ),
        (
            "sizeof(struct hv_input_assert_virtual_interrupt)",
            n(size_of::<AssertInterruptIn>()),
        ),
        (
            "sizeof(struct hv_input_dispatch_vp)",
            n(size_of::<DispatchVpIn>()),
        ),
        (
            "sizeof(struct hv_output_dispatch_vp)",
            n(size_of::<DispatchVpOut>()),
        ),
        (
            "sizeof(struct hv_input_get_gpa_pages_access_state)",
            n(size_of::<GpaAccessStatesIn>()),
        ),
        (
            "sizeof(struct hv_input_get_partition_property_ex)",
            n(size_of::<PartitionPropertyExIn>()),
        ),
        (
            "offsetof(struct hv_input_get_partition_property_ex, arg)",
            n(offset_of!(PartitionPropertyExIn, arg)),
        ),
        (
            "sizeof(struct hv_partition_property_vmm_capabilities)",
            n(size_of::<VmmCapabilities>()),
        ),
        (
            "offsetof(struct hv_partition_property_vmm_capabilities, as_uint64)",
            n(offset_of!(VmmCapabilities, banks)),
        ),
        (
            "HV_PARTITION_VMM_CAPABILITIES_BANK_COUNT",
            vmm_caps::BANK_COUNT as u64,
        ),
        (
            "HV_PARTITION_PROPERTY_VMM_CAPABILITIES",
            property::VMM_CAPABILITIES as u64,
        ),
        (
            "HV_PARTITION_PROPERTY_INTEGRATED_SCHEDULER_ENABLED",
            property::INTEGRATED_SCHEDULER_ENABLED as u64,
        ),
        (
            "sizeof(struct hv_input_get_system_property)",
            n(size_of::<SystemPropertyIn>()),
        ),
        // The scheduler type is the first 4 bytes of an 8-byte union.
        ("sizeof(struct hv_output_get_system_property)", 8),
        (
            "HVCALL_GET_SYSTEM_PROPERTY",
            code::GET_SYSTEM_PROPERTY as u64,
        ),
        (
            "HV_SYSTEM_PROPERTY_SCHEDULER_TYPE",
            system_property::SCHEDULER_TYPE as u64,
        ),
        ("HV_SCHEDULER_TYPE_LP", scheduler::LP as u64),
        ("HV_SCHEDULER_TYPE_LP_SMT", scheduler::LP_SMT as u64),
        ("HV_SCHEDULER_TYPE_CORE_SMT", scheduler::CORE_SMT as u64),
        ("HV_SCHEDULER_TYPE_ROOT", scheduler::ROOT as u64),
        (
            "sizeof(struct hv_vp_signal_bitset_scheduler_message)",
            n(size_of::<synic::VpSignalBitset>()),
        ),
        (
            "offsetof(struct hv_vp_signal_bitset_scheduler_message, vp_bitset)",
            n(offset_of!(synic::VpSignalBitset, format)),
        ),
        (
            "sizeof(struct hv_vp_signal_pair_scheduler_message)",
            n(size_of::<synic::VpSignalPair>()),
        ),
        (
            "offsetof(struct hv_vp_signal_pair_scheduler_message, partition_ids)",
            n(offset_of!(synic::VpSignalPair, partition_ids)),
        ),
        (
            "offsetof(struct hv_vp_signal_pair_scheduler_message, vp_indexes)",
            n(offset_of!(synic::VpSignalPair, vp_indexes)),
        ),
        (
            "HV_MESSAGE_MAX_PARTITION_VP_PAIR_COUNT",
            synic::PAIRS as u64,
        ),
        (
            "sizeof(struct hv_opaque_intercept_message)",
            n(size_of::<synic::OpaqueIntercept>()),
        ),
        (
            "sizeof(struct hv_async_completion_message_payload)",
            n(size_of::<synic::AsyncCompletion>()),
        ),
        ("HVMSG_OPAQUE_INTERCEPT", msg::OPAQUE_INTERCEPT as u64),
        (
            "HVMSG_SYNIC_SINT_INTERCEPT",
            msg::SYNIC_SINT_INTERCEPT as u64,
        ),
        (
            "HVMSG_ASYNC_CALL_COMPLETION",
            msg::ASYNC_CALL_COMPLETION as u64,
        ),
        (
            "HVMSG_SCHEDULER_VP_SIGNAL_BITSET",
            msg::SCHEDULER_VP_SIGNAL_BITSET as u64,
        ),
        (
            "HVMSG_SCHEDULER_VP_SIGNAL_PAIR",
            msg::SCHEDULER_VP_SIGNAL_PAIR as u64,
        ),
        ("HV_GENERIC_SET_SPARSE_4K", synic::GENERIC_SET_SPARSE_4K),
        ("HV_SYNIC_SINT_COUNT", synic::sint::COUNT as u64),
        (
            "HV_SYNIC_INTERCEPTION_SINT_INDEX",
            synic::sint::INTERCEPTION as u64,
        ),
        ("HV_SYNIC_DOORBELL_SINT_INDEX", synic::sint::DOORBELL as u64),
        ("HV_SYNIC_SINT_MASKED", synic::sint::MASKED),
        ("HV_SYNIC_SINT_AUTO_EOI", synic::sint::AUTO_EOI),
        ("HV_SYNIC_SINT_VECTOR_MASK", synic::sint::VECTOR_MASK),
        ("HV_SYNIC_SIMP_ENABLE", synic::msr::ENABLE),
        ("HV_SYNIC_CONTROL_ENABLE", synic::msr::ENABLE),
        ("HV_X64_MSR_SCONTROL", synic::msr::SCONTROL as u64),
        ("HV_X64_MSR_SIEFP", synic::msr::SIEFP as u64),
        ("HV_X64_MSR_SIMP", synic::msr::SIMP as u64),
        ("HV_X64_MSR_EOM", synic::msr::EOM as u64),
        ("HV_X64_MSR_SIRBP", synic::msr::SIRBP as u64),
        ("HV_X64_MSR_SINT0", synic::msr::SINT0 as u64),
    ]
};

#[kunit_tests(mshv_hv_abi)]
mod t {
    use super::*;

    #[test]
    fn every_layout_is_the_kernel_headers() {
        let mut count = 0;
        for (name, value) in crate::glue::c_tables::hv() {
            let rust = C_MIRRORS
                .iter()
                .find(|(n, _)| n.as_bytes() == name.to_bytes())
                .map(|&(_, v)| v);
            if rust != Some(value) {
                kernel::pr_err!("{:?}: C {} Rust {:?}\n", name, value, rust);
            }
            assert_eq!(rust, Some(value));
            count += 1;
        }
        assert_eq!(count, C_MIRRORS.len());
    }

    #[test]
    fn messages_round_trip_through_their_types() -> Result {
        let eoi = message::ApicEoi {
            vp_index: 3,
            interrupt_vector: 0x51,
        };
        let m = message::Message::new(msg::X64_APIC_EOI, &eoi);
        assert_eq!(m.header.payload_size, 8);
        // Through a page, as the simulator writes it and the driver reads it.
        let page = crate::glue::alloc_zeroed_page()?;
        // SAFETY: The page was just allocated, is page-aligned and stays mapped (and nothing
        // else writes it) until it is dropped at the end of this test, after the accessor.
        let mp = unsafe { message::MessagePage::new(crate::glue::page_address(&page)) };
        mp.write(&m);
        match mp.decode() {
            message::Decoded::ApicEoi(e) => assert_eq!((e.vp_index, e.interrupt_vector), (3, 0x51)),
            _ => panic!("not an EOI"),
        }
        mp.write(&message::Message::new(msg::X64_HALT, &eoi));
        assert!(matches!(mp.decode(), message::Decoded::Other));
        let seg = message::SegmentRegister {
            base: 0xffff_0000,
            limit: 0xffff,
            selector: 0xf000,
            attributes: 0x9b,
        };
        assert_eq!(
            message::SegmentRegister::from(HvRegisterValue::from(seg)),
            seg
        );
        Ok(())
    }
}
