// SPDX-License-Identifier: GPL-2.0

//! The synthetic interrupt controller (SynIC): its MSRs, the per-CPU message page the
//! hypervisor writes messages to (one 256-byte slot per SINT), and the messages the root gets
//! there (scheduler signals, intercept notifications).

use core::ptr::NonNull;

use kernel::transmute::FromBytes;

use super::message::Message;

/// The SynIC MSRs.
pub(crate) mod msr {
    pub(crate) const SCONTROL: u32 = 0x4000_0080;
    pub(crate) const SIEFP: u32 = 0x4000_0082;
    pub(crate) const SIMP: u32 = 0x4000_0083;
    pub(crate) const EOM: u32 = 0x4000_0084;
    pub(crate) const SIRBP: u32 = 0x4000_0085;
    pub(crate) const SINT0: u32 = 0x4000_0090;
    /// Bit 0 of SCONTROL, SIMP, SIEFP and SIRBP: enabled.
    pub(crate) const ENABLE: u64 = 1 << 0;
    /// Bits 63:12 of SIMP, SIEFP and SIRBP: the page's GPA.
    pub(crate) const PAGE_MASK: u64 = !0xfff;
}

/// Fields of a SINT MSR (`union hv_synic_sint`).
pub(crate) mod sint {
    pub(crate) const VECTOR_MASK: u64 = 0xff;
    pub(crate) const MASKED: u64 = 1 << 16;
    pub(crate) const AUTO_EOI: u64 = 1 << 17;
    pub(crate) const AS_INTERCEPT: u64 = 1 << 19;
    /// SINTs per CPU.
    pub(crate) const COUNT: usize = 16;
    /// Intercepts and scheduler messages to the root (`HV_SYNIC_INTERCEPTION_SINT_INDEX`).
    pub(crate) const INTERCEPTION: usize = 0;
    /// Doorbell notifications (`HV_SYNIC_DOORBELL_SINT_INDEX`, the first unused SINT).
    pub(crate) const DOORBELL: usize = 5;
}

/// `union hv_message_flags`, bit 0: another message waits behind this one (write EOM).
pub(crate) const MSG_PENDING: u8 = 1 << 0;

/// `HV_GENERIC_SET_SPARSE_4K`, the VP set format of scheduler messages.
pub(crate) const GENERIC_SET_SPARSE_4K: u64 = 0;

/// Banks of a scheduler bitset message: 64 VPs each, 1024 in all
/// (`HV_ROOT_SCHEDULER_MAX_VPS_PER_CHILD_PARTITION`).
pub(crate) const BITSET_BANKS: usize = 16;

/// `struct hv_vp_signal_bitset_scheduler_message`: VPs of one partition that became ready.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct VpSignalBitset {
    pub(crate) partition_id: u64,
    pub(crate) overflow_count: u32,
    pub(crate) vp_count: u16,
    pub(crate) reserved: u16,
    /// `struct hv_vpset`: the format, which banks are present, then the present banks in
    /// order.
    pub(crate) format: u64,
    pub(crate) valid_bank_mask: u64,
    pub(crate) banks: [u64; BITSET_BANKS],
}

/// (partition, VP) pairs of a pair message (`HV_MESSAGE_MAX_PARTITION_VP_PAIR_COUNT`).
pub(crate) const PAIRS: usize = 19;

/// `struct hv_vp_signal_pair_scheduler_message`: (partition, VP) pairs that became ready.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VpSignalPair {
    pub(crate) overflow_count: u32,
    pub(crate) vp_count: u8,
    pub(crate) reserved1: [u8; 3],
    pub(crate) partition_ids: [u64; PAIRS],
    pub(crate) vp_indexes: [u32; PAIRS],
    pub(crate) reserved2: [u8; 4],
}

/// `struct hv_opaque_intercept_message`: the intercept is in the VP's intercept message page.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct OpaqueIntercept {
    pub(crate) vp_index: u32,
}

/// `struct hv_async_completion_message_payload`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct AsyncCompletion {
    pub(crate) partition_id: u64,
    pub(crate) status: u32,
    pub(crate) completion_count: u32,
    pub(crate) sub_status: u64,
}

plain_data!(
    VpSignalBitset = 160,
    VpSignalPair = 240,
    OpaqueIntercept = 4,
    AsyncCompletion = 24,
);

/// A CPU's SynIC message page (`struct hv_message_page`): one message slot per SINT. Every
/// access is a volatile copy.
///
/// # Invariants
///
/// `ptr` is the kernel address of a page-aligned, mapped page of [`super::HV_PAGE_SIZE`] bytes
/// that stays mapped while this accessor exists.
#[derive(Clone, Copy)]
pub(crate) struct SynicMessagePage {
    ptr: NonNull<[Message; sint::COUNT]>,
}

// SAFETY: The accessor is an address; every access through it is volatile, and a slot belongs
// to whoever reads it on its CPU (the hypervisor writes a slot only while it is empty).
unsafe impl Send for SynicMessagePage {}
// SAFETY: As above.
unsafe impl Sync for SynicMessagePage {}

impl SynicMessagePage {
    /// An accessor for the message page at `page`.
    ///
    /// # Safety
    ///
    /// `page` must be the kernel address of a page-aligned page of [`super::HV_PAGE_SIZE`]
    /// bytes that stays mapped while the accessor exists.
    pub(crate) unsafe fn new(page: NonNull<u8>) -> Self {
        // INVARIANT: The caller's guarantees.
        Self { ptr: page.cast() }
    }

    /// The address of slot `sint` (`sint < sint::COUNT`).
    fn slot(&self, sint: usize) -> *mut Message {
        let sint = sint.min(sint::COUNT - 1);
        // SAFETY: By the type invariant the page holds `sint::COUNT` messages; `sint` is in
        // range.
        unsafe { core::ptr::addr_of_mut!((*self.ptr.as_ptr())[sint]) }
    }

    /// The type of the message in slot `sint` (`HVMSG_NONE` when empty).
    pub(crate) fn message_type(&self, sint: usize) -> u32 {
        // SAFETY: The slot is in the mapped page (`slot`); its first field is the `u32` type.
        unsafe { core::ptr::addr_of!((*self.slot(sint)).header.message_type).read_volatile() }
    }

    /// The message in slot `sint`.
    pub(crate) fn read(&self, sint: usize) -> Message {
        // SAFETY: The slot is in the mapped page and any bit pattern is a `Message`.
        unsafe { self.slot(sint).read_volatile() }
    }

    /// The payload of the message in slot `sint` as a `P`, whatever the type says.
    pub(crate) fn payload<P: FromBytes>(&self, sint: usize) -> Option<P> {
        let m = self.read(sint);
        let bytes = kernel::transmute::AsBytes::as_bytes(&m.payload);
        P::from_bytes_copy(bytes.get(..core::mem::size_of::<P>())?)
    }

    /// Writes `m` into slot `sint` (the simulator's side: the hypervisor delivers).
    pub(crate) fn write(&self, sint: usize, m: &Message) {
        // SAFETY: As in `read`.
        unsafe { self.slot(sint).write_volatile(*m) }
    }

    /// Frees slot `sint` (type `HVMSG_NONE`, as the TLFS has the guest do) and says whether
    /// another message was pending behind it.
    pub(crate) fn release(&self, sint: usize) -> bool {
        let slot = self.slot(sint);
        // SAFETY: The slot is in the mapped page; its header's fields are plain integers.
        unsafe {
            core::ptr::addr_of_mut!((*slot).header.message_type).write_volatile(super::msg::NONE);
        }
        // The type must be written before the flag is read: the hypervisor sets the flag on a
        // full slot only.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        // SAFETY: As above.
        let flags = unsafe { core::ptr::addr_of!((*slot).header.message_flags).read_volatile() };
        flags & MSG_PENDING != 0
    }

    /// Marks the message in slot `sint` as having another behind it (the simulator's side).
    pub(crate) fn set_pending(&self, sint: usize) {
        let slot = self.slot(sint);
        // SAFETY: As in `release`.
        unsafe {
            let flags = core::ptr::addr_of_mut!((*slot).header.message_flags);
            flags.write_volatile(flags.read_volatile() | MSG_PENDING);
        }
    }
}
