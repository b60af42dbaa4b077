// SPDX-License-Identifier: GPL-2.0

//! The simulator's guest CPU: a small real-mode x86 interpreter that reads guest memory through
//! the GPA mappings the driver made and stops on what Hyper-V intercepts (IO port access,
//! unmapped or inaccessible GPAs, HLT), writing the message Hyper-V would write. A write to the
//! xAPIC EOI register ends the oldest pending interrupt, and the EOI of a level-triggered one is
//! reported (`HVMSG_X64_APIC_EOI`).
//!
//! Instructions: `mov r8/r16/r32, imm`, `add al, imm8`, `add r/m8, r8` (registers), `cmp al,
//! imm8`, `inc`/`dec` of 8- and 16-bit registers, `jmp`/`jz`/`jnz rel8`, `mov al/ax/eax,
//! [moffs16]` and `mov [moffs16], al/ax/eax`, `in`/`out` with an immediate port or DX (8, 16 and
//! 32 bits), `hlt`, `nop`, `cli`, `sti`, and the operand-size prefix. Anything else ends the run
//! with an unrecoverable-exception message. `hlt` with interrupts enabled (`sti`) and none
//! pending blocks the VP instead of being intercepted ([`Ran::Idle`]); with one pending it goes
//! on at once (there is no IDT: the guest ends the interrupt with an EOI).

use super::{
    gpa::GpaMap,
    Vp, //
};
use crate::{
    abi::hv::{
        map_flags,
        message::{
            AccessType,
            ApicEoi,
            InterceptHeader,
            IoPortIntercept,
            MemoryIntercept,
            Message,
            SegmentRegister as Seg, //
        },
        msg,
        reg,
        regpage::{
            class,
            RegisterPage,
            SEGMENTS, //
        },
        HvRegisterValue, //
    },
    glue,
};

use AccessType::{
    Execute as EXECUTE,
    Read as READ,
    Write as WRITE, //
};

/// RFLAGS bits the interpreter keeps.
const CF: u64 = 1 << 0;
const ZF: u64 = 1 << 6;
const SF: u64 = 1 << 7;
/// Interrupts enabled: `hlt` then waits for one (the VP blocks) instead of being intercepted.
const IF: u64 = 1 << 9;

/// The register values of a VP right after it is created: the x86 reset state, and explicitly
/// suspended, as Hyper-V creates VPs.
pub(super) const RESET: [(u32, HvRegisterValue); 4] = [
    (reg::EXPLICIT_SUSPEND, HvRegisterValue { low: 1, high: 0 }),
    (
        reg::RIP,
        HvRegisterValue {
            low: 0xfff0,
            high: 0,
        },
    ),
    (reg::RFLAGS, HvRegisterValue { low: 0x2, high: 0 }),
    (
        reg::CS,
        HvRegisterValue {
            low: 0xffff_0000,
            high: 0xffff | (0xf000 << 32) | (0x9b << 48),
        },
    ),
];

/// Why the guest stopped.
enum Exit {
    /// An IO port access: port, size in bytes, access type.
    Io {
        port: u16,
        size: u8,
        access: AccessType,
    },
    /// A guest physical address with no mapping, or one the access is not allowed through.
    Memory {
        unmapped: bool,
        gpa: u64,
        access: AccessType,
    },
    Halt,
    /// `hlt` with interrupts enabled: the VP waits for an interrupt (no intercept).
    Idle,
    /// An instruction the interpreter does not know.
    Unknown,
}

/// How a run ended.
// Returned by value once per dispatch; boxing the message would allocate for every intercept.
#[expect(clippy::large_enum_variant)]
pub(super) enum Ran {
    /// On an intercept, whose message this is.
    Intercept(Message),
    /// The budget (a time slice) ran out.
    Slice,
    /// In `hlt` with interrupts enabled and none pending: the VP is blocked, RIP past the
    /// `hlt`, until an interrupt is asserted.
    Idle,
}

/// The interpreter's view of a VP.
struct Cpu {
    gpr: [u64; 16],
    rip: u64,
    rflags: u64,
    cs: Seg,
    ds: Seg,
    es: Seg,
}

/// Guest memory, through the partition's GPA map.
struct Memory<'a> {
    gpa: &'a mut GpaMap,
    /// The guest wrote the local APIC's EOI register.
    eoi: bool,
}

/// The xAPIC EOI register, at its default base (the only APIC register simulated).
const APIC_EOI: u64 = 0xfee0_00b0;

impl Memory<'_> {
    /// Reads or writes one byte at `gpa`, as the guest's access `access` would.
    fn access(&mut self, gpa: u64, access: AccessType, value: Option<u8>) -> Result<u8, Exit> {
        if access == WRITE && (APIC_EOI..APIC_EOI + 4).contains(&gpa) {
            self.eoi = true;
            return Ok(0);
        }
        let gfn = gpa >> 12;
        let Some((pfn, flags)) = self.gpa.lookup(gfn) else {
            return Err(Exit::Memory {
                unmapped: true,
                gpa,
                access,
            });
        };
        let need = match access {
            READ => map_flags::READABLE,
            WRITE => map_flags::WRITABLE,
            EXECUTE => map_flags::KERNEL_EXECUTABLE,
        };
        let page = glue::phys_to_virt(pfn << 12);
        let (true, Some(page)) = (flags & map_flags::NO_ACCESS == 0 && flags & need != 0, page)
        else {
            return Err(Exit::Memory {
                unmapped: false,
                gpa,
                access,
            });
        };
        self.gpa.touch(gfn, access == WRITE);
        // SAFETY: `pfn` is mapped into the guest, so the driver keeps it alive (pinned, or
        // movable and taken back through this simulator before the host frees it; or it is
        // the hypervisor's own); the offset is inside the page.
        let byte = unsafe { page.as_ptr().add((gpa & 0xfff) as usize) };
        match value {
            // SAFETY: As above.
            Some(v) => unsafe { byte.write_volatile(v) },
            // SAFETY: As above.
            None => return Ok(unsafe { byte.read_volatile() }),
        }
        Ok(0)
    }
}

impl Cpu {
    fn load(vp: &Vp) -> Self {
        let get = |name| vp.register(name);
        let mut gpr = [0u64; 16];
        for (i, r) in gpr.iter_mut().enumerate() {
            *r = get(reg::RAX + i as u32).low;
        }
        Cpu {
            gpr,
            // Real mode: a 16-bit instruction pointer.
            rip: get(reg::RIP).low & 0xffff,
            rflags: get(reg::RFLAGS).low,
            cs: Seg::from(get(reg::CS)),
            ds: Seg::from(get(reg::DS)),
            es: Seg::from(get(reg::ES)),
        }
    }

    fn store(&self, vp: &mut Vp) -> Result<(), u16> {
        for (i, &r) in self.gpr.iter().enumerate() {
            vp.set_register(reg::RAX + i as u32, HvRegisterValue { low: r, high: 0 })?;
        }
        vp.set_register(
            reg::RIP,
            HvRegisterValue {
                low: self.rip,
                high: 0,
            },
        )?;
        vp.set_register(
            reg::RFLAGS,
            HvRegisterValue {
                low: self.rflags,
                high: 0,
            },
        )
    }

    /// An 8-bit register by its encoding (AL, CL, DL, BL, AH, CH, DH, BH).
    fn r8(&self, n: u8) -> u8 {
        let r = self.gpr[usize::from(n & 3)];
        if n < 4 {
            r as u8
        } else {
            (r >> 8) as u8
        }
    }

    fn set_r8(&mut self, n: u8, v: u8) {
        let r = &mut self.gpr[usize::from(n & 3)];
        if n < 4 {
            *r = (*r & !0xff) | u64::from(v);
        } else {
            *r = (*r & !0xff00) | (u64::from(v) << 8);
        }
    }

    /// Writes `v` into the low `bytes` of register `n`.
    fn set_r(&mut self, n: usize, bytes: u32, v: u64) {
        let mask = if bytes == 4 { 0xffff_ffff } else { 0xffff };
        // A 32-bit write zero-extends, as in 64-bit code; real mode keeps the upper half, which
        // is zero in these guests.
        self.gpr[n] = (self.gpr[n] & !mask) | (v & mask);
    }

    fn set_flags(&mut self, result: u8, carry: bool) {
        self.rflags &= !(CF | ZF | SF);
        if result == 0 {
            self.rflags |= ZF;
        }
        if result & 0x80 != 0 {
            self.rflags |= SF;
        }
        if carry {
            self.rflags |= CF;
        }
    }

    fn linear(&self, ip: u64) -> u64 {
        self.cs.base.wrapping_add(ip & 0xffff)
    }

    /// Runs one instruction; on an exit, returns it with the instruction's length (the exit's
    /// RIP is the instruction's).
    fn step(&mut self, mem: &mut Memory<'_>, d: &mut Decoder) -> Result<(), (Exit, u8)> {
        let mut op = d.byte(self, mem)?;
        let mut wide = 2u32;
        if op == 0x66 {
            wide = 4;
            op = d.byte(self, mem)?;
        }
        let io = |port: u16, size: u32, access: AccessType, len: u8| {
            Err((
                Exit::Io {
                    port,
                    size: size as u8,
                    access,
                },
                len,
            ))
        };
        let osize = |op: u8| if op & 1 == 0 { 1 } else { wide };
        match op {
            0x90 => {}
            0xfa => self.rflags &= !IF,
            0xfb => self.rflags |= IF,
            0xb0..=0xb7 => {
                let v = d.imm(self, mem, 1)? as u8;
                self.set_r8(op - 0xb0, v);
            }
            0xb8..=0xbf => {
                let v = d.imm(self, mem, wide)?;
                self.set_r(usize::from(op - 0xb8), wide, v);
            }
            0x04 => {
                let v = d.imm(self, mem, 1)? as u8;
                let (r, c) = self.r8(0).overflowing_add(v);
                self.set_r8(0, r);
                self.set_flags(r, c);
            }
            0x3c => {
                let v = d.imm(self, mem, 1)? as u8;
                let (r, c) = self.r8(0).overflowing_sub(v);
                self.set_flags(r, c);
            }
            0x00 => {
                let modrm = d.imm(self, mem, 1)? as u8;
                if modrm >> 6 != 3 {
                    return Err((Exit::Unknown, d.len));
                }
                let (dst, src) = (modrm & 7, (modrm >> 3) & 7);
                let (r, c) = self.r8(dst).overflowing_add(self.r8(src));
                self.set_r8(dst, r);
                self.set_flags(r, c);
            }
            0xfe => {
                let modrm = d.imm(self, mem, 1)? as u8;
                if modrm >> 6 != 3 || (modrm >> 3) & 7 > 1 {
                    return Err((Exit::Unknown, d.len));
                }
                let n = modrm & 7;
                let r = if (modrm >> 3) & 7 == 0 {
                    self.r8(n).wrapping_add(1)
                } else {
                    self.r8(n).wrapping_sub(1)
                };
                self.set_r8(n, r);
                let carry = self.rflags & CF != 0;
                self.set_flags(r, carry);
            }
            0x40..=0x4f => {
                let n = usize::from(op & 7);
                let v = self.gpr[n];
                let r = if op < 0x48 {
                    v.wrapping_add(1)
                } else {
                    v.wrapping_sub(1)
                };
                self.set_r(n, wide, r);
                // INC and DEC keep CF; ZF and SF come from the operand-size result.
                let (mask, sign) = if wide == 4 {
                    (0xffff_ffff, 1 << 31)
                } else {
                    (0xffff, 1 << 15)
                };
                let carry = self.rflags & CF != 0;
                self.rflags &= !(CF | ZF | SF);
                if r & mask == 0 {
                    self.rflags |= ZF;
                }
                if r & sign != 0 {
                    self.rflags |= SF;
                }
                if carry {
                    self.rflags |= CF;
                }
            }
            0xeb | 0x74 | 0x75 => {
                let rel = d.imm(self, mem, 1)? as u8 as i8;
                let taken = match op {
                    0x74 => self.rflags & ZF != 0,
                    0x75 => self.rflags & ZF == 0,
                    _ => true,
                };
                if taken {
                    self.rip = d.next().wrapping_add(i64::from(rel) as u64) & 0xffff;
                    return Ok(());
                }
            }
            0xa0..=0xa3 => {
                let off = d.imm(self, mem, 2)?;
                let gpa = self.ds.base.wrapping_add(off);
                let n = osize(op);
                if op < 0xa2 {
                    let mut v = 0u64;
                    for k in 0..n {
                        let b = mem
                            .access(gpa.wrapping_add(k.into()), READ, None)
                            .map_err(|e| (e, d.len))?;
                        v |= u64::from(b) << (8 * k);
                    }
                    if n == 1 {
                        self.set_r8(0, v as u8);
                    } else {
                        self.set_r(0, n, v);
                    }
                } else {
                    let v = self.gpr[0];
                    for k in 0..n {
                        let b = (v >> (8 * k)) as u8;
                        mem.access(gpa.wrapping_add(k.into()), WRITE, Some(b))
                            .map_err(|e| (e, d.len))?;
                    }
                }
            }
            0xe4 | 0xe5 => {
                let port = d.imm(self, mem, 1)? as u16;
                return io(port, osize(op), READ, d.len);
            }
            0xe6 | 0xe7 => {
                let port = d.imm(self, mem, 1)? as u16;
                return io(port, osize(op), WRITE, d.len);
            }
            0xec | 0xed => return io(self.gpr[2] as u16, osize(op), READ, d.len),
            0xee | 0xef => return io(self.gpr[2] as u16, osize(op), WRITE, d.len),
            0xf4 if self.rflags & IF != 0 => return Err((Exit::Idle, d.len)),
            0xf4 => return Err((Exit::Halt, d.len)),
            _ => return Err((Exit::Unknown, d.len)),
        }
        self.rip = d.next() & 0xffff;
        Ok(())
    }
}

/// Fetches the bytes of one instruction.
struct Decoder {
    start: u64,
    len: u8,
    bytes: [u8; 16],
}

impl Decoder {
    fn new(rip: u64) -> Self {
        Decoder {
            start: rip,
            len: 0,
            bytes: [0; 16],
        }
    }

    /// The address after the bytes fetched so far.
    fn next(&self) -> u64 {
        self.start.wrapping_add(u64::from(self.len))
    }

    /// Fetches the next byte of the instruction.
    fn byte(&mut self, cpu: &Cpu, mem: &mut Memory<'_>) -> Result<u8, (Exit, u8)> {
        let b = mem
            .access(cpu.linear(self.next()), EXECUTE, None)
            .map_err(|e| (e, self.len))?;
        if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
            *slot = b;
        }
        self.len += 1;
        Ok(b)
    }

    /// Fetches an `n`-byte little-endian immediate.
    fn imm(&mut self, cpu: &Cpu, mem: &mut Memory<'_>, n: u32) -> Result<u64, (Exit, u8)> {
        let mut v = 0u64;
        for i in 0..n {
            v |= u64::from(self.byte(cpu, mem)?) << (8 * i);
        }
        Ok(v)
    }
}

/// The intercept message for `exit` at `cpu` (RIP at the instruction).
fn message(vp_index: u32, cpu: &Cpu, exit: &Exit, len: u8, bytes: &[u8; 16]) -> Message {
    let access = match *exit {
        Exit::Io { access, .. } | Exit::Memory { access, .. } => access,
        Exit::Halt | Exit::Idle | Exit::Unknown => EXECUTE,
    };
    // The intercept header every intercept starts with.
    let header = InterceptHeader {
        vp_index,
        instruction_length_cr8: len & 0xf,
        intercept_access_type: access as u8,
        cs_segment: cpu.cs,
        rip: cpu.rip,
        rflags: cpu.rflags,
        ..Default::default()
    };
    let n = usize::from(len).min(16);
    let mut instruction_bytes = [0u8; 16];
    instruction_bytes[..n].copy_from_slice(&bytes[..n]);
    match *exit {
        Exit::Io { port, size, .. } => Message::new(
            msg::X64_IO_PORT_INTERCEPT,
            &IoPortIntercept {
                header,
                port_number: port,
                access_info: size & IoPortIntercept::SIZE_MASK,
                instruction_byte_count: len,
                rax: cpu.gpr[0],
                instruction_bytes,
                ds_segment: cpu.ds,
                es_segment: cpu.es,
                rcx: cpu.gpr[1],
                rsi: cpu.gpr[6],
                rdi: cpu.gpr[7],
                ..Default::default()
            },
        ),
        // Real mode has no paging: the GVA (the linear address) is the GPA, and both are valid.
        Exit::Memory { unmapped, gpa, .. } => Message::new(
            if unmapped {
                msg::UNMAPPED_GPA
            } else {
                msg::GPA_INTERCEPT
            },
            &MemoryIntercept {
                header,
                instruction_byte_count: len,
                memory_access_info: MemoryIntercept::GVA_VALID | MemoryIntercept::GVA_GPA_VALID,
                guest_virtual_address: gpa,
                guest_physical_address: gpa,
                instruction_bytes,
                ..Default::default()
            },
        ),
        Exit::Halt | Exit::Idle => Message::new(msg::X64_HALT, &header),
        Exit::Unknown => Message::new(msg::UNRECOVERABLE_EXCEPTION, &header),
    }
}

/// Runs VP `vp_index` for at most `budget` instructions.
pub(super) fn run(gpa: &mut GpaMap, vp: &mut Vp, vp_index: u32, budget: usize) -> Result<Ran, u16> {
    let mut cpu = Cpu::load(vp);
    let mut mem = Memory { gpa, eoi: false };
    for _ in 0..budget {
        let mut d = Decoder::new(cpu.rip);
        match cpu.step(&mut mem, &mut d) {
            Ok(()) => {}
            // An interrupt is pending: `hlt` ends at once (the interpreter has no IDT; the
            // guest goes on after it).
            Err((Exit::Idle, _)) if !vp.pending.is_empty() => cpu.rip = d.next() & 0xffff,
            Err((Exit::Idle, _)) => {
                cpu.rip = d.next() & 0xffff;
                cpu.store(vp)?;
                return Ok(Ran::Idle);
            }
            Err((exit, len)) => {
                cpu.store(vp)?;
                return Ok(Ran::Intercept(message(
                    vp_index, &cpu, &exit, len, &d.bytes,
                )));
            }
        }
        // An EOI ends the oldest pending interrupt; a level-triggered one is reported, after
        // the instruction (a trap, not a fault).
        if core::mem::take(&mut mem.eoi) {
            if let Some(vector) = super::HvSim::eoi(vp) {
                cpu.store(vp)?;
                let eoi = ApicEoi {
                    vp_index,
                    interrupt_vector: vector,
                };
                return Ok(Ran::Intercept(Message::new(msg::X64_APIC_EOI, &eoi)));
            }
        }
    }
    cpu.store(vp)?;
    Ok(Ran::Slice)
}

/// The segment registers in register-page order.
const PAGE_SEGMENTS: [u32; SEGMENTS] = [reg::ES, reg::CS, reg::SS, reg::DS, reg::FS, reg::GS];

/// The VP's register page, if mapped.
fn register_page(vp: &Vp) -> Option<RegisterPage> {
    let pfn = vp.state_pages[crate::abi::hv::vp_state_page::REGISTERS as usize]?;
    let page = glue::phys_to_virt(pfn << 12)?;
    // SAFETY: The register page is deposited memory the simulator handed out as the VP's state
    // page: it stays mapped (in the direct map) while the module is loaded.
    Some(unsafe { RegisterPage::new(page) })
}

/// Takes the register classes userspace marked dirty in the register page into the VP.
pub(super) fn load_dirty(vp: &mut Vp) -> Result<(), u16> {
    let Some(page) = register_page(vp) else {
        return Ok(());
    };
    let dirty = page.dirty();
    if dirty & class::GENERAL != 0 {
        for i in 0..16 {
            let low = page.gpr(i);
            vp.set_register(reg::RAX + i as u32, HvRegisterValue { low, high: 0 })?;
        }
    }
    if dirty & class::IP != 0 {
        let low = page.rip();
        vp.set_register(reg::RIP, HvRegisterValue { low, high: 0 })?;
    }
    if dirty & class::FLAGS != 0 {
        let low = page.rflags();
        vp.set_register(reg::RFLAGS, HvRegisterValue { low, high: 0 })?;
    }
    if dirty & class::SEGMENT != 0 {
        for (i, &name) in PAGE_SEGMENTS.iter().enumerate() {
            vp.set_register(name, page.segment(i).into())?;
        }
    }
    page.clear_dirty(u32::MAX);
    Ok(())
}

/// Publishes the VP's registers in its register page (valid, nothing dirty).
pub(super) fn publish(vp: &Vp) {
    publish_classes(vp, false);
}

/// Publishes the VP's registers in its register page but for the classes userspace marked
/// dirty, which stay as they are, to be taken at the next dispatch (after a register hypercall,
/// which takes nothing from the page).
pub(super) fn publish_keeping_dirty(vp: &Vp) {
    publish_classes(vp, true);
}

fn publish_classes(vp: &Vp, keep_dirty: bool) {
    let Some(page) = register_page(vp) else {
        return;
    };
    let dirty = if keep_dirty { page.dirty() } else { 0 };
    if dirty & class::GENERAL == 0 {
        for i in 0..16 {
            page.set_gpr(i, vp.register(reg::RAX + i as u32).low);
        }
    }
    if dirty & class::IP == 0 {
        page.set_rip(vp.register(reg::RIP).low);
    }
    if dirty & class::FLAGS == 0 {
        page.set_rflags(vp.register(reg::RFLAGS).low);
    }
    if dirty & class::SEGMENT == 0 {
        for (i, &name) in PAGE_SEGMENTS.iter().enumerate() {
            page.set_segment(i, vp.register(name).into());
        }
    }
    page.publish();
    if dirty != 0 {
        page.mark_dirty(dirty);
    }
}
