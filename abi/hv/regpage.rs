// SPDX-License-Identifier: GPL-2.0

//! The x64 VP register page (`struct hv_vp_register_page`, `HV_VP_STATE_PAGE_REGISTERS`) and
//! [`RegisterPage`], the one place that touches it.
//!
//! Between dispatches the hypervisor publishes the VP's registers in the page and marks it
//! valid; the root may change registers in it and mark their class dirty, and the next dispatch
//! takes the dirty classes. The VMM maps the same page (`MSHV_VP_MMAP_OFFSET_REGISTERS`) and may
//! write it at any time, so every access is volatile and a value read is a number to check.

use core::{
    mem::offset_of,
    ptr::NonNull, //
};

use super::message::SegmentRegister;

/// `HV_VP_REGISTER_PAGE_VERSION_1`.
pub(crate) const VERSION_1: u16 = 1;

/// The dirty classes (`HV_X64_REGISTER_CLASS_*`, as mask bits).
pub(crate) mod class {
    pub(crate) const GENERAL: u32 = 1 << 0;
    pub(crate) const IP: u32 = 1 << 1;
    pub(crate) const XMM: u32 = 1 << 2;
    pub(crate) const SEGMENT: u32 = 1 << 3;
    pub(crate) const FLAGS: u32 = 1 << 4;
}

/// The segment registers' order in the page: ES, CS, SS, DS, FS, GS.
pub(crate) const SEGMENTS: usize = 6;

/// `struct hv_vp_register_page` (x64), as Linux 7.1 and later define it: eight reserved bytes
/// between RFLAGS and the XMM registers.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) version: u16,
    pub(crate) isvalid: u8,
    pub(crate) rsvdz: u8,
    /// [`class`] bits.
    pub(crate) dirty: u32,
    /// RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8 ... R15 ([`class::GENERAL`]).
    pub(crate) gp_registers: [u64; 16],
    pub(crate) rip: u64,
    pub(crate) rflags: u64,
    pub(crate) reserved: [u8; 8],
    /// XMM0 ... XMM5, low and high halves.
    pub(crate) xmm_registers: [[u64; 2]; 6],
    pub(crate) segment_registers: [SegmentRegister; SEGMENTS],
    pub(crate) cr0: u64,
    pub(crate) cr3: u64,
    pub(crate) cr4: u64,
    pub(crate) cr8: u64,
    pub(crate) efer: u64,
    pub(crate) dr7: u64,
    pub(crate) pending_interruption: u64,
    pub(crate) interrupt_state: u64,
    pub(crate) instruction_emulation_hints: u64,
    pub(crate) xfem: u64,
    pub(crate) reserved1: [u8; 0x100],
    /// `union hv_vp_register_page_interrupt_vectors`: a count and up to seven vectors the next
    /// dispatch injects.
    pub(crate) interrupt_vectors: u64,
}

plain_data!(Layout = 696);

/// A VP's register page.
///
/// # Invariants
///
/// `ptr` is the kernel address of a page-aligned page of at least [`super::HV_PAGE_SIZE`]
/// bytes that stays mapped while this accessor exists.
pub(crate) struct RegisterPage {
    ptr: NonNull<Layout>,
}

// SAFETY: The accessor is an address; every access through it is volatile, and the page may be
// written concurrently by userspace anyway (see the module documentation).
unsafe impl Send for RegisterPage {}
// SAFETY: As above.
unsafe impl Sync for RegisterPage {}

impl RegisterPage {
    /// An accessor for the register page at `page`.
    ///
    /// # Safety
    ///
    /// `page` must be the kernel address of a page-aligned page of [`super::HV_PAGE_SIZE`]
    /// bytes that stays mapped while the accessor exists.
    pub(crate) unsafe fn new(page: NonNull<u8>) -> Self {
        // INVARIANT: The caller's guarantees.
        Self { ptr: page.cast() }
    }

    /// The `T` at byte `offset` of the layout.
    fn read<T: Copy>(&self, offset: usize) -> T {
        debug_assert!(offset + size_of::<T>() <= size_of::<Layout>());
        // SAFETY: By the type invariant the page is mapped and larger than `Layout`; the
        // offsets come from `offset_of!` on `Layout`, whose fields are naturally aligned in a
        // page-aligned page, and every `T` used here is an integer type.
        unsafe {
            self.ptr
                .as_ptr()
                .cast::<u8>()
                .add(offset)
                .cast::<T>()
                .read_volatile()
        }
    }

    /// Writes the `T` at byte `offset` of the layout.
    fn write<T: Copy>(&self, offset: usize, v: T) {
        debug_assert!(offset + size_of::<T>() <= size_of::<Layout>());
        // SAFETY: As in `read`.
        unsafe {
            self.ptr
                .as_ptr()
                .cast::<u8>()
                .add(offset)
                .cast::<T>()
                .write_volatile(v)
        }
    }

    /// Whether the hypervisor published the registers (between dispatches).
    pub(crate) fn is_valid(&self) -> bool {
        self.read::<u8>(offset_of!(Layout, isvalid)) == 1
    }

    /// The dirty classes.
    pub(crate) fn dirty(&self) -> u32 {
        self.read::<u32>(offset_of!(Layout, dirty))
    }

    /// Marks the classes of `mask` dirty (the next dispatch takes them).
    pub(crate) fn mark_dirty(&self, mask: u32) {
        self.write(offset_of!(Layout, dirty), self.dirty() | mask);
    }

    /// Takes the classes of `mask` back: the page's copy of them is not to be taken.
    pub(crate) fn clear_dirty(&self, mask: u32) {
        self.write(offset_of!(Layout, dirty), self.dirty() & !mask);
    }

    /// General-purpose register `n` (0 RAX ... 15 R15; `n` is taken modulo 16).
    pub(crate) fn gpr(&self, n: usize) -> u64 {
        let off = offset_of!(Layout, gp_registers) + 8 * (n % 16);
        self.read::<u64>(off)
    }

    /// Sets general-purpose register `n` (modulo 16), without marking it dirty.
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn set_gpr(&self, n: usize, v: u64) {
        let off = offset_of!(Layout, gp_registers) + 8 * (n % 16);
        self.write(off, v);
    }

    /// RIP.
    pub(crate) fn rip(&self) -> u64 {
        self.read(offset_of!(Layout, rip))
    }

    /// Sets RIP, without marking it dirty.
    pub(crate) fn set_rip(&self, v: u64) {
        self.write(offset_of!(Layout, rip), v);
    }

    /// RFLAGS.
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn rflags(&self) -> u64 {
        self.read(offset_of!(Layout, rflags))
    }

    /// Sets RFLAGS, without marking it dirty.
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn set_rflags(&self, v: u64) {
        self.write(offset_of!(Layout, rflags), v);
    }

    /// Segment register `i` in page order (ES, CS, SS, DS, FS, GS; `i` modulo 6).
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn segment(&self, i: usize) -> SegmentRegister {
        let off = offset_of!(Layout, segment_registers) + size_of::<SegmentRegister>() * (i % 6);
        SegmentRegister {
            base: self.read(off + offset_of!(SegmentRegister, base)),
            limit: self.read(off + offset_of!(SegmentRegister, limit)),
            selector: self.read(off + offset_of!(SegmentRegister, selector)),
            attributes: self.read(off + offset_of!(SegmentRegister, attributes)),
        }
    }

    /// Sets segment register `i` in page order (modulo 6), without marking it dirty.
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn set_segment(&self, i: usize, s: SegmentRegister) {
        let off = offset_of!(Layout, segment_registers) + size_of::<SegmentRegister>() * (i % 6);
        self.write(off + offset_of!(SegmentRegister, base), s.base);
        self.write(off + offset_of!(SegmentRegister, limit), s.limit);
        self.write(off + offset_of!(SegmentRegister, selector), s.selector);
        self.write(off + offset_of!(SegmentRegister, attributes), s.attributes);
    }

    /// The interrupt vectors the parent listed for injection (`interrupt_vectors`): nonzero
    /// when there are some.
    pub(crate) fn interrupt_vectors(&self) -> u64 {
        self.read(offset_of!(Layout, interrupt_vectors))
    }

    /// Publishes the page: version 1, valid, nothing dirty (the hypervisor's side of the ABI).
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn publish(&self) {
        self.write(offset_of!(Layout, version), VERSION_1);
        self.write(offset_of!(Layout, isvalid), 1u8);
        self.write(offset_of!(Layout, dirty), 0u32);
    }
}
