// SPDX-License-Identifier: GPL-2.0

//! The guest's MMIO stores, decoded from the instruction bytes of a memory intercept.
//!
//! An ioeventfd on an MMIO address is signalled by the guest's write, which the hypervisor
//! reports as a memory intercept: the address and the instruction's bytes, not the value or the
//! instruction's length. Only the stores a device driver uses for a doorbell are decoded: `MOV`
//! from a register (`88`, `89`), from the accumulator to an absolute address (`A2`, `A3`) and
//! of an immediate (`C6 /0`, `C7 /0`), with operand-size, address-size, segment and REX
//! prefixes. Anything else is not decoded, and the write goes to userspace as any MMIO does.

use kernel::prelude::*;

use crate::abi::hv::message::{
    execution_state as exec,
    SegmentRegister, //
};

/// How the guest's code segment runs: the default operand and address sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Real mode, or a 16-bit protected-mode segment.
    Bits16,
    /// A 32-bit protected-mode segment.
    Bits32,
    /// 64-bit mode.
    Bits64,
}

impl Mode {
    /// The mode of an intercepted VP, from the intercept message header's execution state
    /// (`cr0_pe`, `efer_lma`) and its CS attributes (the L and D bits).
    pub(crate) fn of(execution_state: u16, cs_attributes: u16) -> Self {
        let protected = execution_state & exec::CR0_PE != 0;
        let long = execution_state & exec::EFER_LMA != 0;
        if long && cs_attributes & SegmentRegister::LONG != 0 {
            Mode::Bits64
        } else if protected && cs_attributes & SegmentRegister::DEFAULT_BIG != 0 {
            Mode::Bits32
        } else {
            Mode::Bits16
        }
    }
}

/// Where a store's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// General-purpose register `n` (0 RAX ... 15 R15), bits 15:8 when `high_byte` (AH, CH,
    /// DH, BH).
    Gpr { n: u8, high_byte: bool },
    /// An immediate, already sign-extended to 64 bits where the instruction does so.
    Imm(u64),
}

/// A decoded store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Store {
    /// The instruction's length in bytes.
    pub(crate) len: u8,
    /// Bytes written: 1, 2, 4 or 8.
    pub(crate) size: u8,
    /// The value's source.
    pub(crate) src: Source,
}

/// The longest x86 instruction.
const MAX_LEN: usize = 15;

/// Decodes the store at the start of `bytes` in mode `mode`; `None` for anything else.
pub(crate) fn decode_store(bytes: &[u8], mode: Mode) -> Option<Store> {
    let bytes = bytes.get(..bytes.len().min(MAX_LEN))?;
    let (mut opsize, mut asize) = match mode {
        Mode::Bits16 => (2u8, 2usize),
        Mode::Bits32 => (4, 4),
        Mode::Bits64 => (4, 8),
    };
    let mut i = 0;
    let mut rex = 0u8;
    loop {
        match *bytes.get(i)? {
            0x66 => opsize = if mode == Mode::Bits16 { 4 } else { 2 },
            0x67 => {
                asize = match mode {
                    Mode::Bits16 => 4,
                    Mode::Bits32 => 2,
                    Mode::Bits64 => 4,
                }
            }
            0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 => {}
            // REX comes last, right before the opcode.
            b @ 0x40..=0x4f if mode == Mode::Bits64 => {
                rex = b;
                i += 1;
                break;
            }
            _ => break,
        }
        i += 1;
    }
    if rex & 0x8 != 0 {
        opsize = 8;
    }
    let op = *bytes.get(i)?;
    i += 1;
    let size = if op & 1 == 0 { 1 } else { opsize };
    let src = match op {
        0xa2 | 0xa3 => {
            i += asize;
            Source::Gpr {
                n: 0,
                high_byte: false,
            }
        }
        0x88 | 0x89 | 0xc6 | 0xc7 => {
            let modrm = *bytes.get(i)?;
            i += 1;
            let (md, reg, rm) = (modrm >> 6, (modrm >> 3) & 7, modrm & 7);
            // A register destination is no memory access; C6/C7 other than /0 are not MOV.
            if md == 3 || (op >= 0xc6 && reg != 0) {
                return None;
            }
            i += if asize == 2 {
                match (md, rm) {
                    (0, 6) | (2, _) => 2,
                    (1, _) => 1,
                    _ => 0,
                }
            } else {
                let mut n = 0;
                if rm == 4 {
                    let sib = *bytes.get(i)?;
                    n += 1;
                    if md == 0 && sib & 7 == 5 {
                        n += 4;
                    }
                }
                n + match (md, rm) {
                    (0, 5) | (2, _) => 4,
                    (1, _) => 1,
                    _ => 0,
                }
            };
            if op >= 0xc6 {
                // An immediate of the operand size, at most 32 bits (sign-extended to 64).
                let n = usize::from(size.min(4));
                let imm = bytes.get(i..i + n)?;
                i += n;
                let mut v = imm
                    .iter()
                    .rev()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                if size == 8 && v & (1 << 31) != 0 {
                    v |= 0xffff_ffff_0000_0000;
                }
                Source::Imm(v)
            } else {
                let n = reg | if rex & 0x4 != 0 { 8 } else { 0 };
                // Without REX, byte registers 4-7 are AH, CH, DH, BH.
                let high_byte = size == 1 && rex == 0 && (4..8).contains(&n);
                Source::Gpr {
                    n: if high_byte { n - 4 } else { n },
                    high_byte,
                }
            }
        }
        _ => return None,
    };
    if i > bytes.len() {
        return None;
    }
    Some(Store {
        len: u8::try_from(i).ok()?,
        size,
        src,
    })
}

#[kunit_tests(mshv_x86)]
mod tests {
    use super::*;

    fn gpr(n: u8) -> Source {
        Source::Gpr {
            n,
            high_byte: false,
        }
    }

    #[test]
    fn accumulator_to_absolute_address() {
        // mov %al,0x2000 (real mode)
        let s = decode_store(&[0xa2, 0x00, 0x20], Mode::Bits16);
        assert_eq!(
            s,
            Some(Store {
                len: 3,
                size: 1,
                src: gpr(0)
            })
        );
        // mov %eax,0x2000 with an operand-size prefix in real mode
        let s = decode_store(&[0x66, 0xa3, 0x00, 0x20], Mode::Bits16);
        assert_eq!(s.map(|s| (s.len, s.size)), Some((4, 4)));
        // 64-bit: movabs %rax, an 8-byte address
        let s = decode_store(&[0x48, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0], Mode::Bits64);
        assert_eq!(s.map(|s| (s.len, s.size)), Some((10, 8)));
    }

    #[test]
    fn register_sources() {
        // mov %ax,(%rdx): virtio's notify write
        let s = decode_store(&[0x66, 0x89, 0x02], Mode::Bits64);
        assert_eq!(
            s,
            Some(Store {
                len: 3,
                size: 2,
                src: gpr(0)
            })
        );
        // mov %r9d,0x10(%rax,%rbx,4)
        let s = decode_store(&[0x44, 0x89, 0x4c, 0x98, 0x10], Mode::Bits64);
        assert_eq!(s.map(|s| (s.len, s.size, s.src)), Some((5, 4, gpr(9))));
        // mov %ah,(%bx) in real mode: a high byte
        let s = decode_store(&[0x88, 0x27], Mode::Bits16);
        assert_eq!(
            s.map(|s| s.src),
            Some(Source::Gpr {
                n: 0,
                high_byte: true
            })
        );
        // mov %ecx,0x12345678 (disp32 without base)
        let s = decode_store(&[0x89, 0x0d, 0x78, 0x56, 0x34, 0x12], Mode::Bits32);
        assert_eq!(s.map(|s| (s.len, s.src)), Some((6, gpr(1))));
    }

    #[test]
    fn immediates() {
        // movl $0x1,0x8(%rdi)
        let s = decode_store(&[0xc7, 0x47, 0x08, 0x01, 0, 0, 0], Mode::Bits64);
        assert_eq!(
            s.map(|s| (s.len, s.size, s.src)),
            Some((7, 4, Source::Imm(1)))
        );
        // movq $-1,(%rax): sign-extended
        let s = decode_store(&[0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff], Mode::Bits64);
        assert_eq!(s.map(|s| s.src), Some(Source::Imm(u64::MAX)));
        // movb $0x5,0x1234 in real mode (disp16)
        let s = decode_store(&[0xc6, 0x06, 0x34, 0x12, 0x05], Mode::Bits16);
        assert_eq!(s.map(|s| (s.len, s.src)), Some((5, Source::Imm(5))));
    }

    #[test]
    fn not_stores() {
        // Loads, register destinations, truncated bytes, other C7 forms.
        assert_eq!(decode_store(&[0x8b, 0x02], Mode::Bits64), None);
        assert_eq!(decode_store(&[0x89, 0xc0], Mode::Bits64), None);
        assert_eq!(decode_store(&[0xa3, 0x00], Mode::Bits32), None);
        assert_eq!(decode_store(&[0xc7, 0x08, 1, 0, 0, 0], Mode::Bits64), None);
        assert_eq!(decode_store(&[], Mode::Bits64), None);
        assert_eq!(decode_store(&[0x66; 20], Mode::Bits64), None);
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::of(0, 0x9b), Mode::Bits16);
        assert_eq!(Mode::of(1 << 2, 1 << 14), Mode::Bits32);
        assert_eq!(Mode::of((1 << 2) | (1 << 4), 1 << 13), Mode::Bits64);
        // Long mode, compatibility segment: 32-bit.
        assert_eq!(Mode::of((1 << 2) | (1 << 4), 1 << 14), Mode::Bits32);
    }
}
