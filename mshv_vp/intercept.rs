// SPDX-License-Identifier: GPL-2.0

//! The intercepts `MSHV_RUN_VP` handles in the kernel, the VP running on: the EOI of a resampled
//! interrupt, a fault on movable memory, and a port or MMIO write an ioeventfd matches (the VP
//! moved past it through the register page, or by hypercall when the page is not valid).

use kernel::prelude::*;

use super::{
    x86,
    Vp, //
};
use crate::{
    abi::hv::{
        message::{
            execution_state,
            AccessType,
            Decoded,
            InterceptHeader,
            IoPortIntercept,
            MemoryIntercept, //
        },
        reg,
        regpage::{
            class,
            RegisterPage, //
        },
        HvRegisterAssoc,
        HvRegisterValue, //
    },
    mshv_partition::ioeventfd::Bus,
};

/// A guest write the kernel may complete for an ioeventfd.
struct Write {
    bus: Bus,
    /// The port, or the guest physical address.
    addr: u64,
    /// Bytes written.
    size: u32,
    /// Where the value comes from.
    src: x86::Source,
    /// The writing instruction, and its length.
    rip: u64,
    len: u8,
}

impl Vp {
    /// Handles the intercept waiting in the message page in the kernel where it can: the EOI of
    /// a level-triggered interrupt an irqfd resamples (its resamplefd is signalled), a fault on
    /// movable memory (faulted in, the guest none the wiser; one that keeps coming back ends,
    /// like any loop here, with a signal) and a write an ioeventfd matches (RIP moves in the
    /// register page). Whether it did: if not, the message is userspace's.
    pub(super) fn handle_intercept(&self) -> Result<bool> {
        let pt = &self.partition;
        match self.msg_page.decode() {
            Decoded::ApicEoi(eoi) => pt.notify_eoi(self.index, eoi.interrupt_vector),
            Decoded::Memory { m, .. } => {
                let gfn = m.guest_physical_address >> 12;
                if let Some(access) = m.header.access() {
                    if pt.handle_gpa_fault(gfn, access)? {
                        return Ok(true);
                    }
                }
                self.mmio_write(&m)
            }
            Decoded::IoPort(io) => self.port_write(&io),
            Decoded::Other => Ok(false),
        }
    }

    /// Whether the write of intercept `h` may be completed here. A VP single-stepping
    /// (RFLAGS.TF), with debug registers active, or in an interrupt shadow must take the
    /// instruction's side effects (a #DB trap, the shadow's end) from an emulator: userspace.
    fn completable_write(h: &InterceptHeader) -> bool {
        const RFLAGS_TF: u64 = 1 << 8;
        h.access() == Some(AccessType::Write)
            && h.rflags & RFLAGS_TF == 0
            && h.execution_state
                & (execution_state::DEBUG_ACTIVE | execution_state::INTERRUPT_SHADOW)
                == 0
    }

    /// Signals the ioeventfd that the port write `io` matches, and moves the VP past the
    /// instruction; whether it did.
    fn port_write(&self, io: &IoPortIntercept) -> Result<bool> {
        // String and rep operations are not single writes.
        if !Self::completable_write(&io.header)
            || io.access_info & (IoPortIntercept::STRING_OP | IoPortIntercept::REP) != 0
        {
            return Ok(false);
        }
        let write = Write {
            bus: Bus::Pio,
            addr: io.port_number.into(),
            size: u32::from(io.access_info & IoPortIntercept::SIZE_MASK),
            src: x86::Source::Gpr {
                n: 0,
                high_byte: false,
            },
            rip: io.header.rip,
            len: io.header.instruction_length(),
        };
        self.complete_write(&write, Some(io.rax))
    }

    /// Signals the ioeventfd that the MMIO store `m` matches, and moves the VP past the
    /// instruction; whether it did. The store's length, size and source come from its
    /// instruction bytes.
    fn mmio_write(&self, m: &MemoryIntercept) -> Result<bool> {
        if !Self::completable_write(&m.header) {
            return Ok(false);
        }
        let mode = x86::Mode::of(m.header.execution_state, m.header.cs_segment.attributes);
        let Some(store) = x86::decode_store(m.instruction(), mode) else {
            return Ok(false);
        };
        // A write that crosses a page may be partly RAM: the VMM's to split.
        let (gva, gpa) = (m.guest_virtual_address, m.guest_physical_address);
        let size = u64::from(store.size);
        if (m.memory_access_info & MemoryIntercept::GVA_VALID != 0 && (gva & 0xfff) + size > 0x1000)
            || (gpa & 0xfff) + size > 0x1000
        {
            return Ok(false);
        }
        let write = Write {
            bus: Bus::Mmio,
            addr: gpa,
            size: store.size.into(),
            src: store.src,
            rip: m.header.rip,
            len: store.len,
        };
        self.complete_write(&write, None)
    }

    /// Completes `write` if an ioeventfd matches it: the VP moves past the instruction, then
    /// the eventfd is signalled. The value is read (`rax`, when the message carries it, or the
    /// source register) only when an ioeventfd must match it. Whether it was completed; if
    /// moving the VP fails, nothing is signalled.
    fn complete_write(&self, write: &Write, rax: Option<u64>) -> Result<bool> {
        let Some(table) = self.partition.ioeventfds()? else {
            return Ok(false);
        };
        let Some(needs_value) = table.wants(write.bus, write.addr, write.size) else {
            return Ok(false);
        };
        let value = match (needs_value, write.src, rax) {
            (false, ..) => 0,
            (true, x86::Source::Imm(v), _) => v,
            (true, x86::Source::Gpr { n: 0, .. }, Some(rax)) => rax,
            (true, x86::Source::Gpr { n, high_byte }, _) => {
                let v = self.gpr(n)?;
                if high_byte {
                    v >> 8
                } else {
                    v
                }
            }
        };
        let Some(e) = table.find(write.bus, write.addr, write.size, value) else {
            return Ok(false);
        };
        self.skip(write.rip, write.len)?;
        e.signal();
        Ok(true)
    }

    /// The VP's register page, while the hypervisor keeps it valid (between dispatches).
    fn valid_reg_page(&self) -> Option<&RegisterPage> {
        self.reg_page.as_ref().filter(|p| p.is_valid())
    }

    /// General-purpose register `n` (0 RAX ... 15 R15): from the register page when it is
    /// valid, else by hypercall.
    fn gpr(&self, n: u8) -> Result<u64> {
        if let Some(page) = self.valid_reg_page() {
            return Ok(page.gpr(usize::from(n)));
        }
        let pt = &self.partition;
        let mut v = [HvRegisterValue::default()];
        pt.hv
            .get_vp_registers(pt.id, self.index, &[reg::RAX + u32::from(n & 15)], &mut v)?;
        Ok(v[0].low)
    }

    /// Hands a RIP that is dirty in the register page (moved by [`Vp::skip`], or by the VMM) to
    /// the hypervisor by `HvCallSetVpRegisters`, and takes its dirty bit back: the hypervisor has
    /// it, and a later dispatch must not take the page's copy over a RIP the VMM sets meanwhile.
    pub(super) fn flush_ip(&self) -> Result {
        let Some(page) = self.valid_reg_page() else {
            return Ok(());
        };
        if page.dirty() & class::IP == 0 {
            return Ok(());
        }
        let pt = &self.partition;
        let regs = [HvRegisterAssoc {
            name: reg::RIP,
            value: HvRegisterValue {
                low: page.rip(),
                high: 0,
            },
            ..Default::default()
        }];
        pt.hv.set_vp_registers(pt.id, self.index, &regs)?;
        page.clear_dirty(class::IP);
        Ok(())
    }

    /// Moves the VP past the `len`-byte instruction at `rip`, as the VMM would after emulating
    /// it: through the register page (the next dispatch takes a dirty RIP), or by hypercall
    /// when the page is not valid.
    fn skip(&self, rip: u64, len: u8) -> Result {
        let pt = &self.partition;
        let rip = rip.wrapping_add(u64::from(len));
        if let Some(page) = self.valid_reg_page() {
            page.set_rip(rip);
            page.mark_dirty(class::IP);
            return Ok(());
        }
        let regs = [HvRegisterAssoc {
            name: reg::RIP,
            value: HvRegisterValue { low: rip, high: 0 },
            ..Default::default()
        }];
        pt.hv.set_vp_registers(pt.id, self.index, &regs)
    }
}
