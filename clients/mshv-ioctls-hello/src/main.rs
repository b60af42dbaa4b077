// SPDX-License-Identifier: GPL-2.0

//! A second client of `/dev/mshv`: rust-vmm's `mshv-ioctls` (crates.io, unchanged) runs the
//! hello guest the way its own `test_run_code` does, and prints what the guest writes to the
//! serial port. Then it routes a GSI, registers an irqfd for it and signals it, the way Cloud
//! Hypervisor delivers device interrupts, and registers an MMIO ioeventfd that a guest write
//! signals without an exit, the way it notifies virtio queues. It exits non-zero if anything
//! differs from what Hyper-V would do.

// The bindings name their constants in C style.

#![allow(non_upper_case_globals)]

use std::io::Write;

use mshv_bindings::*;
use mshv_ioctls::{set_bits, IoEventAddress, Mshv, VcpuFd, VmFd};
use vmm_sys_util::eventfd::EventFd;

const GUEST_PAGE: u64 = 0x1;

fn main() {
    if let Err(e) = run() {
        eprintln!("mshv-ioctls-hello: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mshv = Mshv::new().map_err(|e| format!("Mshv::new: {e}"))?;
    let vm = mshv.create_vm().map_err(|e| format!("create_vm: {e}"))?;
    vm.initialize().map_err(|e| format!("initialize: {e}"))?;
    let vcpu = vm.create_vcpu(0).map_err(|e| format!("create_vcpu: {e}"))?;

    #[rustfmt::skip]
    let code: [u8; 12] = [
        0xba, 0xf8, 0x03, /* mov $0x3f8, %dx */
        0x00, 0xd8,       /* add %bl, %al */
        0x04, b'0',       /* add $'0', %al */
        0xee,             /* out %al, (%dx) */
        0xb0, b'\n',      /* mov $'\n', %al */
        0xee,             /* out %al, (%dx) */
        0xf4,             /* hlt */
    ];
    let mem_size = 0x1000;
    // SAFETY: An anonymous mapping of our own, checked below.
    let mem = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            mem_size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_ANONYMOUS | libc::MAP_SHARED | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        return Err("mmap failed".into());
    }
    // SAFETY: `mem` is `mem_size` bytes of our mapping.
    let guest = unsafe { std::slice::from_raw_parts_mut(mem as *mut u8, mem_size) };
    guest[..code.len()].copy_from_slice(&code);
    vm.map_user_memory(mshv_user_mem_region {
        flags: set_bits!(u8, MSHV_SET_MEM_BIT_WRITABLE, MSHV_SET_MEM_BIT_EXECUTABLE),
        guest_pfn: GUEST_PAGE,
        size: mem_size as u64,
        userspace_addr: mem as u64,
        ..Default::default()
    })
    .map_err(|e| format!("map_user_memory: {e}"))?;

    // A VP starts in the x86 reset state: CS is not zero.
    let mut cs = hv_register_assoc {
        name: hv_register_name_HV_X64_REGISTER_CS,
        ..Default::default()
    };
    vcpu.get_reg(std::slice::from_mut(&mut cs))
        .map_err(|e| format!("get_reg: {e}"))?;
    // SAFETY: CS holds a segment value.
    unsafe {
        if { cs.value.segment.base } == 0 || { cs.value.segment.selector } == 0 {
            return Err("CS is not in the reset state".into());
        }
        cs.value.segment.base = 0;
        cs.value.segment.selector = 0;
    }
    let reg = |name, v| hv_register_assoc {
        name,
        value: hv_register_value { reg64: v },
        ..Default::default()
    };
    vcpu.set_reg(&[
        cs,
        reg(hv_register_name_HV_X64_REGISTER_RAX, 2),
        reg(hv_register_name_HV_X64_REGISTER_RBX, 3),
        reg(hv_register_name_HV_X64_REGISTER_RIP, GUEST_PAGE << 12),
        reg(hv_register_name_HV_X64_REGISTER_RFLAGS, 0x2),
    ])
    .map_err(|e| format!("set_reg: {e}"))?;

    let mut out = Vec::new();
    loop {
        let msg = vcpu.run().map_err(|e| format!("run: {e}"))?;
        match msg.header.message_type {
            hv_message_type_HVMSG_X64_HALT => break,
            hv_message_type_HVMSG_X64_IO_PORT_INTERCEPT => {
                let io = msg.to_ioport_info().map_err(|e| format!("to_ioport_info: {e}"))?;
                // SAFETY: Reading bitfields of a union filled by the hypervisor.
                let (size, string) = unsafe {
                    (
                        io.access_info.__bindgen_anon_1.access_size(),
                        io.access_info.__bindgen_anon_1.string_op(),
                    )
                };
                if io.port_number != 0x3f8 || size != 1 || string != 0 {
                    return Err(format!("unexpected IO intercept: port {:#x}", { io.port_number }));
                }
                if io.header.intercept_access_type != 1 {
                    return Err("an OUT that is not a write".into());
                }
                out.push(io.rax as u8);
                let len = u64::from(io.header.instruction_length());
                vcpu.set_reg(&[reg(hv_register_name_HV_X64_REGISTER_RIP, io.header.rip + len)])
                    .map_err(|e| format!("set_reg: {e}"))?;
            }
            t => return Err(format!("unexpected message {t:#x}")),
        }
    }
    if out != b"5\n" {
        return Err(format!("the guest wrote {out:?}, not \"5\\n\""));
    }
    print!("mshv-ioctls hello guest on port 0x3f8: ");
    std::io::stdout().write_all(&out).map_err(|e| e.to_string())?;
    irqfd(&vm)?;
    ioeventfd(&vm, &vcpu, guest)
}

/// The guest writes 7 to GPA 0x2000, which has no memory, then halts: with an ioeventfd on
/// the address (datamatch 7, one byte) the write signals it and never reaches userspace.
fn ioeventfd(vm: &VmFd, vcpu: &VcpuFd, guest: &mut [u8]) -> Result<(), String> {
    #[rustfmt::skip]
    let code: [u8; 6] = [
        0xb0, 0x07,       /* mov $7, %al */
        0xa2, 0x00, 0x20, /* mov %al, (0x2000) */
        0xf4,             /* hlt */
    ];
    guest[..code.len()].copy_from_slice(&code);
    let efd = EventFd::new(libc::EFD_NONBLOCK).map_err(|e| format!("EventFd: {e}"))?;
    let addr = IoEventAddress::Mmio(0x2000);
    vm.register_ioevent(&efd, &addr, 7u8)
        .map_err(|e| format!("register_ioevent: {e}"))?;
    if vm.register_ioevent(&efd, &addr, 7u8).is_ok() {
        return Err("the same ioeventfd registered twice".into());
    }
    let rip = hv_register_assoc {
        name: hv_register_name_HV_X64_REGISTER_RIP,
        value: hv_register_value {
            reg64: GUEST_PAGE << 12,
        },
        ..Default::default()
    };
    vcpu.set_reg(&[rip]).map_err(|e| format!("set_reg: {e}"))?;
    let msg = vcpu.run().map_err(|e| format!("run: {e}"))?;
    let message_type = msg.header.message_type;
    if message_type != hv_message_type_HVMSG_X64_HALT {
        return Err(format!("the MMIO write exited: message {message_type:#x}"));
    }
    if efd.read().map_err(|e| format!("eventfd read: {e}"))? != 1 {
        return Err("the ioeventfd was not signalled once".into());
    }
    println!("mshv-ioctls ioeventfd: the guest's write to 0x2000 signalled it, no exit");
    vm.unregister_ioevent(&efd, &addr, 7u8)
        .map_err(|e| format!("unregister_ioevent: {e}"))
}

/// The simulator's state file: it lists the interrupts asserted and not yet taken.
const SIM_STATE: &str = "/sys/kernel/debug/mshv/sim/state";

/// Routes GSI 5 to vector 0x30 on VP 0, registers an irqfd for it and signals it.
fn irqfd(vm: &VmFd) -> Result<(), String> {
    // `struct mshv_user_irq_table` with one entry, in u64s for alignment.
    let words = (std::mem::size_of::<mshv_user_irq_table>()
        + std::mem::size_of::<mshv_user_irq_entry>())
    .div_ceil(8);
    let mut buf = vec![0u64; words];
    // SAFETY: `buf` is zeroed, aligned and large enough for the header and one entry.
    let table = unsafe { &mut *(buf.as_mut_ptr() as *mut mshv_user_irq_table) };
    table.nr = 1;
    // SAFETY: There is room for one entry after the header.
    let entries = unsafe { table.entries.as_mut_slice(1) };
    entries[0] = mshv_user_irq_entry {
        gsi: 5,
        address_lo: 0xfee0_0000,
        address_hi: 0,
        data: 0x30,
    };
    vm.set_msi_routing(table)
        .map_err(|e| format!("set_msi_routing: {e}"))?;
    let efd = EventFd::new(libc::EFD_NONBLOCK).map_err(|e| format!("EventFd: {e}"))?;
    vm.register_irqfd(&efd, 5)
        .map_err(|e| format!("register_irqfd: {e}"))?;
    if vm.register_irqfd(&efd, 6).is_ok() {
        return Err("an eventfd registered twice".into());
    }
    efd.write(1).map_err(|e| format!("eventfd write: {e}"))?;
    if std::path::Path::new(SIM_STATE).exists() {
        let seen = (0..100).any(|_| {
            let state = std::fs::read_to_string(SIM_STATE).unwrap_or_default();
            let hit = state
                .lines()
                .any(|l| l.starts_with("pending ") && l.ends_with(" 0 0x30"));
            if !hit {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            hit
        });
        if !seen {
            return Err("the irqfd signal asserted no interrupt".into());
        }
        println!("mshv-ioctls irqfd: GSI 5 raised vector 0x30 on VP 0");
    }
    vm.unregister_irqfd(&efd, 5)
        .map_err(|e| format!("unregister_irqfd: {e}"))?;
    Ok(())
}
