// SPDX-License-Identifier: GPL-2.0

//! Synthetic messages (`struct hv_message`): the header, the x64 intercept payloads the driver
//! reads, and [`MessagePage`], the one place that touches a VP's intercept message page.
//!
//! The hypervisor writes a message; the driver reads it and the simulator writes it through
//! these types, so the layout exists once. A message is untrusted input: a payload is decoded
//! only when its type says which one it is, and a decoded field is only a number to check.

use core::ptr::NonNull;

use kernel::transmute::{
    AsBytes,
    FromBytes, //
};

use super::{
    msg,
    HvRegisterValue, //
};

/// `struct hv_message_header`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct MessageHeader {
    /// `HVMSG_*`.
    pub(crate) message_type: u32,
    /// Bytes of the payload that are the message's.
    pub(crate) payload_size: u8,
    /// `union hv_message_flags`: bit 0, another message is pending.
    pub(crate) message_flags: u8,
    pub(crate) reserved: [u8; 2],
    /// The sender, or the port of a port message.
    pub(crate) sender: u64,
}

/// 64-bit words of a message's payload (`HV_MESSAGE_PAYLOAD_QWORD_COUNT`).
pub(crate) const PAYLOAD_QWORDS: usize = 30;

/// `struct hv_message`: 256 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Message {
    pub(crate) header: MessageHeader,
    /// The payload, 8-byte aligned as in the C union.
    pub(crate) payload: [u64; PAYLOAD_QWORDS],
}

impl Message {
    /// A message of type `message_type` carrying `payload` (the rest of the payload is zero).
    pub(crate) fn new<P: AsBytes>(message_type: u32, payload: &P) -> Self {
        let mut m = Message::default();
        let bytes = payload.as_bytes();
        let n = bytes.len().min(size_of::<[u64; PAYLOAD_QWORDS]>());
        m.payload.as_bytes_mut()[..n].copy_from_slice(&bytes[..n]);
        m.header.message_type = message_type;
        // The payloads here are at most 240 bytes, the payload's size.
        m.header.payload_size = u8::try_from(n).unwrap_or(u8::MAX);
        m
    }
}

/// A message by its type, with its payload.
pub(crate) enum Decoded {
    /// `HVMSG_X64_IO_PORT_INTERCEPT`.
    IoPort(IoPortIntercept),
    /// `HVMSG_GPA_INTERCEPT`, or `HVMSG_UNMAPPED_GPA` when `unmapped`.
    Memory { unmapped: bool, m: MemoryIntercept },
    /// `HVMSG_X64_APIC_EOI`.
    ApicEoi(ApicEoi),
    /// Anything else: userspace's to read.
    Other,
}

/// `enum hv_intercept_access_type`: what the intercepted access was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum AccessType {
    Read = 0,
    Write = 1,
    Execute = 2,
}

impl AccessType {
    /// The access type of a raw message field; `None` for a value the TLFS does not define.
    pub(crate) fn from_raw(raw: u8) -> Option<Self> {
        match raw {
            0 => Some(Self::Read),
            1 => Some(Self::Write),
            2 => Some(Self::Execute),
            _ => None,
        }
    }
}

/// `struct hv_x64_segment_register`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct SegmentRegister {
    pub(crate) base: u64,
    pub(crate) limit: u32,
    pub(crate) selector: u16,
    /// Type, S, DPL, P, AVL, L (bit 13), D/B (bit 14), G.
    pub(crate) attributes: u16,
}

impl SegmentRegister {
    /// The code segment's L bit: a 64-bit segment.
    pub(crate) const LONG: u16 = 1 << 13;
    /// The code segment's D bit: 32-bit default operand size.
    pub(crate) const DEFAULT_BIG: u16 = 1 << 14;
}

impl From<HvRegisterValue> for SegmentRegister {
    /// A segment register's value as `union hv_register_value` holds it.
    fn from(v: HvRegisterValue) -> Self {
        Self {
            base: v.low,
            limit: v.high as u32,
            selector: (v.high >> 32) as u16,
            attributes: (v.high >> 48) as u16,
        }
    }
}

impl From<SegmentRegister> for HvRegisterValue {
    fn from(s: SegmentRegister) -> Self {
        Self {
            low: s.base,
            high: u64::from(s.limit)
                | (u64::from(s.selector) << 32)
                | (u64::from(s.attributes) << 48),
        }
    }
}

/// Bits of `union hv_x64_vp_execution_state`.
pub(crate) mod execution_state {
    pub(crate) const CR0_PE: u16 = 1 << 2;
    pub(crate) const EFER_LMA: u16 = 1 << 4;
    pub(crate) const DEBUG_ACTIVE: u16 = 1 << 5;
    pub(crate) const INTERRUPT_SHADOW: u16 = 1 << 12;
}

/// `struct hv_x64_intercept_message_header`: how every x64 intercept payload starts.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct InterceptHeader {
    pub(crate) vp_index: u32,
    /// Bits 3:0 the intercepted instruction's length, bits 7:4 CR8 (exo partitions only).
    pub(crate) instruction_length_cr8: u8,
    /// [`AccessType`], raw.
    pub(crate) intercept_access_type: u8,
    /// [`execution_state`] bits.
    pub(crate) execution_state: u16,
    pub(crate) cs_segment: SegmentRegister,
    pub(crate) rip: u64,
    pub(crate) rflags: u64,
}

impl InterceptHeader {
    /// The intercepted instruction's length (0 where the hypervisor does not say).
    pub(crate) fn instruction_length(&self) -> u8 {
        self.instruction_length_cr8 & 0xf
    }

    /// The access type, `None` for one the TLFS does not define.
    pub(crate) fn access(&self) -> Option<AccessType> {
        AccessType::from_raw(self.intercept_access_type)
    }
}

/// `struct hv_x64_io_port_intercept_message` (TLFS; Linux's headers do not define it).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct IoPortIntercept {
    pub(crate) header: InterceptHeader,
    pub(crate) port_number: u16,
    /// [`IoPortIntercept::SIZE_MASK`], [`IoPortIntercept::STRING_OP`], [`IoPortIntercept::REP`].
    pub(crate) access_info: u8,
    pub(crate) instruction_byte_count: u8,
    pub(crate) reserved: u32,
    pub(crate) rax: u64,
    pub(crate) instruction_bytes: [u8; 16],
    pub(crate) ds_segment: SegmentRegister,
    pub(crate) es_segment: SegmentRegister,
    pub(crate) rcx: u64,
    pub(crate) rsi: u64,
    pub(crate) rdi: u64,
}

impl IoPortIntercept {
    /// `access_info` bits 2:0: the access size in bytes.
    pub(crate) const SIZE_MASK: u8 = 0x7;
    /// `access_info` bit 3: a string instruction (`ins`, `outs`).
    pub(crate) const STRING_OP: u8 = 1 << 3;
    /// `access_info` bit 4: with a REP prefix.
    pub(crate) const REP: u8 = 1 << 4;
}

/// `struct hv_x64_memory_intercept_message`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct MemoryIntercept {
    pub(crate) header: InterceptHeader,
    pub(crate) cache_type: u32,
    /// How many of `instruction_bytes` are valid.
    pub(crate) instruction_byte_count: u8,
    /// [`MemoryIntercept::GVA_VALID`], [`MemoryIntercept::GVA_GPA_VALID`].
    pub(crate) memory_access_info: u8,
    pub(crate) tpr_priority: u8,
    pub(crate) reserved1: u8,
    pub(crate) guest_virtual_address: u64,
    pub(crate) guest_physical_address: u64,
    pub(crate) instruction_bytes: [u8; 16],
}

impl MemoryIntercept {
    /// `memory_access_info` bit 0: `guest_virtual_address` is valid.
    pub(crate) const GVA_VALID: u8 = 1 << 0;
    /// `memory_access_info` bit 1: the GVA translated to the GPA.
    pub(crate) const GVA_GPA_VALID: u8 = 1 << 1;

    /// The valid instruction bytes.
    pub(crate) fn instruction(&self) -> &[u8] {
        let n = usize::from(self.instruction_byte_count).min(self.instruction_bytes.len());
        &self.instruction_bytes[..n]
    }
}

/// `struct hv_x64_apic_eoi_message`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct ApicEoi {
    pub(crate) vp_index: u32,
    pub(crate) interrupt_vector: u32,
}

plain_data!(
    MessageHeader = 16,
    Message = msg::SIZE,
    SegmentRegister = 16,
    InterceptHeader = 40,
    IoPortIntercept = 128,
    MemoryIntercept = 80,
    ApicEoi = 8,
);

/// A VP's intercept message page (`HV_VP_STATE_PAGE_INTERCEPT_MESSAGE`): the hypervisor writes
/// a message at its start when a dispatch ends in an intercept. Every access to the page is a
/// volatile copy of the whole message made here.
///
/// # Invariants
///
/// `ptr` is the kernel address of a page-aligned page of at least [`super::HV_PAGE_SIZE`]
/// bytes that stays mapped while this accessor exists, and that nothing but the hypervisor
/// and the holders of this accessor writes.
pub(crate) struct MessagePage {
    ptr: NonNull<Message>,
}

// SAFETY: The accessor is an address; every access through it is a volatile copy, whose
// exclusion from the hypervisor's writes is the owner's duty (see `MessagePage::new`).
unsafe impl Send for MessagePage {}
// SAFETY: As above.
unsafe impl Sync for MessagePage {}

impl MessagePage {
    /// An accessor for the message page at `page`.
    ///
    /// # Safety
    ///
    /// `page` must be the kernel address of a page-aligned page of [`super::HV_PAGE_SIZE`]
    /// bytes that stays mapped while the accessor exists; the owner must not read or write it
    /// through the accessor while the hypervisor may write it (while the VP is dispatched).
    pub(crate) unsafe fn new(page: NonNull<u8>) -> Self {
        // INVARIANT: The caller's guarantees.
        Self { ptr: page.cast() }
    }

    /// The type of the message in the page.
    pub(crate) fn message_type(&self) -> u32 {
        // SAFETY: By the type invariant the page is mapped, aligned and holds a `Message`,
        // whose first field is the `u32` type.
        unsafe { core::ptr::addr_of!((*self.ptr.as_ptr()).header.message_type).read_volatile() }
    }

    /// The message in the page decoded, reading only the header and the payload its type
    /// names (the exit path reads the whole message only when it goes to userspace).
    pub(crate) fn decode(&self) -> Decoded {
        let message_type = self.message_type();
        match message_type {
            msg::X64_IO_PORT_INTERCEPT => self.payload().map_or(Decoded::Other, Decoded::IoPort),
            msg::GPA_INTERCEPT | msg::UNMAPPED_GPA => {
                self.payload().map_or(Decoded::Other, |m| Decoded::Memory {
                    unmapped: message_type == msg::UNMAPPED_GPA,
                    m,
                })
            }
            msg::X64_APIC_EOI => self.payload().map_or(Decoded::Other, Decoded::ApicEoi),
            _ => Decoded::Other,
        }
    }

    /// The message in the page.
    pub(crate) fn read(&self) -> Message {
        // SAFETY: By the type invariant the page is mapped, aligned and large enough for a
        // `Message`, and any bit pattern is one (`FromBytes`).
        unsafe { self.ptr.as_ptr().read_volatile() }
    }

    /// Writes `m` into the page (the simulator's side of the ABI).
    #[cfg_attr(not(any(mshv_sim, CONFIG_KUNIT = "y")), expect(dead_code))]
    pub(crate) fn write(&self, m: &Message) {
        // SAFETY: As in `read`.
        unsafe { self.ptr.as_ptr().write_volatile(*m) }
    }

    /// The payload of the message in the page as a `P`, whatever the type says: [`decode`]
    /// looks at the type first.
    ///
    /// [`decode`]: MessagePage::decode
    fn payload<P: FromBytes>(&self) -> Option<P> {
        // A payload type that does not fit the payload, or would be misaligned there, is not
        // one.
        if size_of::<P>() > size_of::<[u64; PAYLOAD_QWORDS]>() || align_of::<P>() > 8 {
            return None;
        }
        // SAFETY: By the type invariant the page is mapped and holds a `Message`, whose payload
        // is 8-byte aligned and `size_of::<P>()` or more bytes long (checked above); any bit
        // pattern is a `P` (`FromBytes`).
        Some(unsafe {
            core::ptr::addr_of!((*self.ptr.as_ptr()).payload)
                .cast::<P>()
                .read_volatile()
        })
    }
}
