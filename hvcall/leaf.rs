// SPDX-License-Identifier: GPL-2.0

//! The leaf: the one place a hypercall is issued.
//!
//! Production build: x86_64 inline assembly, as the TLFS calling convention has it: RCX = the
//! control word, RDX = the input page's GPA (or the first 8 input bytes of a fast call), R8 = the
//! output page's GPA (or the next 8 bytes), the result in RAX. `vmcall` on Intel, `vmmcall` on
//! AMD and Hygon, chosen once when the leaf is made.
//!
//! Why the raw instruction and not the kernel's exported static call `__SCT__hv_hypercall`
//! (the path of `hv_do_hypercall()`):
//!
//! - The static call exists to retarget hypercalls for isolated (SEV-SNP, TDX) partitions, where
//!   the instruction differs (a GHCB protocol, `tdcall`). A root or L1VH partition is never
//!   isolated, and [`crate::glue::platform`] refuses to load in an isolated one, so there is
//!   nothing to retarget. On a root the kernel's hypercall page holds the same `vmcall` or
//!   `vmmcall`: the hypervisor accepts the instruction wherever it executes, once the guest OS
//!   ID is registered, which the kernel does at boot (checked at load with
//!   `hv_is_hyperv_initialized()`).
//! - The static call is a macro on the C side and would need a C shim, an indirect call through
//!   a trampoline (retpolines, kCFI), and the hypercall page that `hv_hypercall_pg` is not
//!   exported for on x86_64. The raw instruction keeps the hot path (`HvCallDispatchVp` in the
//!   run loop) one instruction deep.
//! - What the raw instruction gives up: a future partition type whose hypercall instruction is
//!   neither `vmcall` nor `vmmcall`. Such a partition would be isolated, which the load check
//!   refuses; switching to the static call then is a change to this file only.
//!
//! Simulator build: the same control word and page addresses go to the simulated hypervisor
//! ([`crate::hvsim`]), which reads and writes the pages exactly as the hypervisor would.

#[cfg(mshv_sim)]
use kernel::prelude::*;

/// Issues hypercalls.
pub(crate) struct Leaf {
    /// Which instruction the CPU vendor uses.
    #[cfg(not(mshv_sim))]
    insn: Insn,
    /// The simulated hypervisor.
    #[cfg(mshv_sim)]
    sim: Pin<KBox<crate::hvsim::HvSim>>,
}

/// The hypercall instruction.
#[cfg(not(mshv_sim))]
#[derive(Clone, Copy)]
enum Insn {
    /// Intel VMX.
    Vmcall,
    /// AMD SVM (and Hygon).
    Vmmcall,
}

impl Leaf {
    /// Makes the leaf: picks the instruction of this CPU's vendor.
    #[cfg(not(mshv_sim))]
    pub(crate) fn new() -> kernel::error::Result<Self> {
        let v = core::arch::x86_64::__cpuid(0);
        let mut vendor = [0u8; 12];
        vendor[0..4].copy_from_slice(&v.ebx.to_le_bytes());
        vendor[4..8].copy_from_slice(&v.edx.to_le_bytes());
        vendor[8..12].copy_from_slice(&v.ecx.to_le_bytes());
        let insn = match &vendor {
            b"AuthenticAMD" | b"HygonGenuine" => Insn::Vmmcall,
            _ => Insn::Vmcall,
        };
        Ok(Self { insn })
    }

    /// Makes the leaf: a fresh simulated hypervisor.
    #[cfg(mshv_sim)]
    pub(crate) fn new() -> Result<Self> {
        let sim = KBox::pin_init(crate::hvsim::HvSim::new()?, GFP_KERNEL)?;
        sim.as_ref().start()?;
        Ok(Self { sim })
    }

    /// The simulated hypervisor below this leaf.
    #[cfg(mshv_sim)]
    pub(crate) fn sim(&self) -> &crate::hvsim::HvSim {
        &self.sim
    }

    /// CPUID `leaf` (subleaf 0): the instruction in production; in the simulator build what
    /// the simulated hypervisor's CPU answers, so that the host is found the same way in both.
    pub(crate) fn cpuid(&self, leaf: u32) -> core::arch::x86_64::CpuidResult {
        #[cfg(not(mshv_sim))]
        {
            core::arch::x86_64::__cpuid(leaf)
        }
        #[cfg(mshv_sim)]
        {
            self.sim.cpuid(leaf)
        }
    }

    /// Reads SynIC MSR `msr` of this CPU (the caller keeps from migrating).
    pub(crate) fn rdmsr(&self, msr: u32) -> u64 {
        #[cfg(not(mshv_sim))]
        {
            crate::glue::synic::rdmsr(msr)
        }
        #[cfg(mshv_sim)]
        {
            self.sim.rdmsr(crate::glue::synic::this_cpu(), msr)
        }
    }

    /// Writes SynIC MSR `msr` of this CPU (the caller keeps from migrating).
    pub(crate) fn wrmsr(&self, msr: u32, value: u64) {
        #[cfg(not(mshv_sim))]
        {
            crate::glue::synic::wrmsr(msr, value)
        }
        #[cfg(mshv_sim)]
        {
            self.sim.wrmsr(crate::glue::synic::this_cpu(), msr, value)
        }
    }

    /// Hooks the SynIC interrupt handler (`None` unhooks it): the hypervisor callback vector
    /// calls it in production, the simulator's irq_work in the simulator build, in hard-IRQ
    /// context both.
    pub(crate) fn set_isr(&self, isr: Option<unsafe extern "C" fn()>) {
        #[cfg(not(mshv_sim))]
        {
            crate::glue::synic::set_isr(isr)
        }
        #[cfg(mshv_sim)]
        {
            self.sim.set_isr(isr)
        }
    }

    /// Issues a hypercall with memory input and output; returns the raw result.
    ///
    /// # Safety
    ///
    /// `input_pa` and `output_pa` must be the physical addresses of pages the caller owns for
    /// the duration of the call, with interrupts off (the hypervisor reads the input page and
    /// may write the output page); the control word must describe input that fits in them.
    pub(crate) unsafe fn call(&self, control: u64, input_pa: u64, output_pa: u64) -> u64 {
        #[cfg(not(mshv_sim))]
        {
            // SAFETY: The caller owns the pages behind the addresses; the hypervisor accesses
            // nothing else. The instruction matches the CPU vendor.
            unsafe { self.issue(control, input_pa, output_pa) }
        }
        #[cfg(mshv_sim)]
        {
            // SAFETY: The caller's guarantees are the simulator's requirements.
            unsafe { self.sim.hypercall(control, input_pa, output_pa) }
        }
    }

    /// Issues a fast hypercall: up to 16 input bytes in registers, no memory access. The FAST
    /// bit is set here, so RDX and R8 can never be taken for page addresses.
    pub(crate) fn call_fast(&self, control: u64, rdx: u64, r8: u64) -> u64 {
        let control = control | crate::abi::hv::control::FAST;
        #[cfg(not(mshv_sim))]
        {
            // SAFETY: A fast hypercall (the FAST bit is set above) passes its input in registers
            // and accesses no memory of ours.
            unsafe { self.issue(control, rdx, r8) }
        }
        #[cfg(mshv_sim)]
        {
            self.sim.hypercall_fast(control, rdx, r8)
        }
    }

    /// The instruction itself.
    ///
    /// # Safety
    ///
    /// As [`Leaf::call`] for memory hypercalls; for fast hypercalls always safe.
    #[cfg(not(mshv_sim))]
    unsafe fn issue(&self, control: u64, rdx: u64, r8: u64) -> u64 {
        let result: u64;
        match self.insn {
            // SAFETY: The caller guarantees the pages; the hypervisor preserves every register
            // but RAX. RCX, RDX, R8 and the call-clobbered R9-R11 are declared clobbered anyway,
            // as the kernel's own hypercall path does. Memory is not `nomem`: the hypervisor
            // writes the output page.
            Insn::Vmcall => unsafe {
                core::arch::asm!(
                    "vmcall",
                    inout("rcx") control => _,
                    inout("rdx") rdx => _,
                    inout("r8") r8 => _,
                    lateout("rax") result,
                    lateout("r9") _,
                    lateout("r10") _,
                    lateout("r11") _,
                    options(nostack),
                )
            },
            // SAFETY: As above, with AMD's instruction.
            Insn::Vmmcall => unsafe {
                core::arch::asm!(
                    "vmmcall",
                    inout("rcx") control => _,
                    inout("rdx") rdx => _,
                    inout("r8") r8 => _,
                    lateout("rax") result,
                    lateout("r9") _,
                    lateout("r10") _,
                    lateout("r11") _,
                    options(nostack),
                )
            },
        }
        result
    }
}
