// SPDX-License-Identifier: GPL-2.0

//! The simulated hypercalls on VPs: create and delete, registers, state pages and state,
//! intercepts, interrupts, and dispatch (the guest CPU runs in `hvsim/cpu.rs`).

use super::*;
use crate::hvsim::{
    cpu::Ran,
    Signal, //
};

pub(super) fn create_vp(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: CreateVpIn = head(input);
    if i.padding != [0; 3] || i.flags != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = partition_of(st, input, c)?;
    require(p, &[State::Initialized], c)?;
    if i.vp_index >= MAX_VPS {
        return Err(bad(status::INVALID_VP_INDEX, c));
    }
    let idx = i.vp_index as usize;
    // Rule of this simulator: creating a VP that exists is an invalid VP index.
    if p.vps.get(idx).is_some_and(|v| v.is_some()) {
        return Err(bad(status::INVALID_VP_INDEX, c));
    }
    p.pool.charge(VP_PAGES).map_err(|s| bad(s, c))?;
    let made = (|| -> Result<(), kernel::alloc::AllocError> {
        while p.vps.len() <= idx {
            p.vps.push(None, GFP_ATOMIC)?;
        }
        let mut vp = KBox::new(Vp::default(), GFP_ATOMIC)?;
        for (name, value) in crate::hvsim::cpu::RESET {
            vp.set_register(name, value)
                .map_err(|_| kernel::alloc::AllocError)?;
        }
        p.vps[idx] = Some(vp);
        Ok(())
    })();
    if made.is_err() {
        p.pool.release(VP_PAGES);
        return Err(bad(status::INSUFFICIENT_MEMORY, c));
    }
    Ok(0)
}

impl Partition {
    /// Looks a VP up.
    pub(in crate::hvsim) fn vp(&mut self, vp: u32) -> Result<&mut Vp, u16> {
        self.vps
            .get_mut(vp as usize)
            .and_then(|v| v.as_deref_mut())
            .ok_or(status::INVALID_VP_INDEX)
    }
}

pub(super) fn delete_vp(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: VpIn = head(input);
    if i.reserved != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = partition_of(st, input, c)?;
    require(p, &[State::Initialized], c)?;
    p.vp(i.vp_index).map_err(|s| bad(s, c))?;
    // Room in the pool for the VP's state pages first, so none is lost from the accounting.
    let pages = vp_state_page::COUNT as usize;
    p.pool
        .pfns
        .reserve(pages, GFP_ATOMIC)
        .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?;
    // PANIC: The VP was just found.
    let vp = p.vps[i.vp_index as usize].take().expect("VP exists");
    for pfn in vp.state_pages.into_iter().flatten() {
        let _ = p.pool.pfns.push_within_capacity(pfn);
    }
    p.pool.release(VP_PAGES);
    Ok(0)
}

/// Whether the simulator models register `name`.
pub(super) fn known_register(name: u32) -> bool {
    matches!(name,
        reg::EXPLICIT_SUSPEND | reg::INTERCEPT_SUSPEND
        | reg::RAX..=reg::RFLAGS
        | reg::CR0..=reg::CR8
        | reg::ES..=reg::TR
        | reg::IDTR | reg::GDTR | reg::EFER)
}

/// The VP a register call names, after checking its header.
pub(super) fn vp_of<'a>(
    st: &'a mut SimState,
    input: &[u8],
    c: Control,
) -> Result<&'a mut Vp, (u16, usize)> {
    let i: VpRegistersIn = head(input);
    // Only the VP's own VTL: no target VTL, or target VTL 0 explicitly.
    if (i.input_vtl != 0 && i.input_vtl != 0x10) || i.rsvd_z8 != 0 || i.rsvd_z16 != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    p.vp(i.vp_index).map_err(|s| bad(s, c))
}

pub(super) fn get_registers(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    out: &mut [u8],
) -> Outcome {
    let range = reps(st, c);
    let vp = vp_of(st, input, c)?;
    for r in range.clone() {
        let name: u32 = rd(input, 16 + r * 4).unwrap_or_default();
        if !known_register(name) {
            return Err((status::INVALID_PARAMETER, r));
        }
        wr(out, r * 16, &vp.register(name));
    }
    Ok(range.end)
}

pub(super) fn set_registers(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: VpRegistersIn = head(input);
    let range = reps(st, c);
    let dispatches = st.host.parent_dispatches();
    let vp = vp_of(st, input, c)?;
    let was_suspended = vp.register(reg::EXPLICIT_SUSPEND).low & 1 != 0;
    let mut result = Ok(range.end);
    for r in range.clone() {
        let a: HvRegisterAssoc = rd(input, 16 + r * 32).unwrap_or_default();
        if !known_register(a.name) || a.reserved1 != 0 || a.reserved2 != 0 {
            result = Err((status::INVALID_PARAMETER, r));
            break;
        }
        if let Err(s) = vp.set_register(a.name, a.value) {
            result = Err((s, r));
            break;
        }
    }
    // The registers set before a failure are set: the register page shows them too, but for
    // the classes userspace marked dirty there, which the next dispatch takes.
    crate::hvsim::cpu::publish_keeping_dirty(vp);
    // A VP the root scheduler left blocked on its explicit suspend can run again: the root is
    // told, as for any blocked VP that becomes ready. Under the hypervisor's scheduler a VP with
    // neither suspend set runs on its own.
    let resumed = was_suspended && vp.register(reg::EXPLICIT_SUSPEND).low & 1 == 0;
    let runnable = runnable(vp);
    if resumed && dispatches {
        signal(st, i.partition_id, i.vp_index, c)?;
    } else if runnable && !dispatches {
        st.wake_runner = true;
    }
    result
}

/// Tells the root that VP `vp` of partition `pt` is ready to be dispatched again (a scheduler
/// message, posted when the call returns).
fn signal(st: &mut SimState, pt: u64, vp: u32, c: Control) -> Result<(), (u16, usize)> {
    st.outbox
        .push(Signal::Ready { pt, vp }, GFP_ATOMIC)
        .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))
}

/// Whether the hypervisor's scheduler runs VP `vp`: neither suspend set, not blocked in `hlt`
/// without an interrupt, and with its intercept message page (where its intercepts go).
fn runnable(vp: &Vp) -> bool {
    vp.register(reg::EXPLICIT_SUSPEND).low & 1 == 0
        && !vp.suspended
        && !(vp.halted && vp.pending.is_empty())
        && vp.state_pages[vp_state_page::INTERCEPT_MESSAGE as usize].is_some()
}

/// The hypervisor's scheduler: runs one time slice of every runnable VP (a VP that stops on an
/// intercept is intercept-suspended, with its message in its intercept message page and the
/// parent notified). Returns whether any VP is still runnable.
pub(in crate::hvsim) fn run_resumed(st: &mut SimState) -> bool {
    let mut again = false;
    let SimState {
        partitions, outbox, ..
    } = st;
    for (idx, p) in partitions.iter_mut().enumerate() {
        let Some(p) = p.as_deref_mut().filter(|p| p.state == State::Initialized) else {
            continue;
        };
        let pt = idx as u64 + 1;
        let Partition { vps, gpa, .. } = p;
        for (vp_index, vp) in vps.iter_mut().enumerate() {
            let Some(vp) = vp.as_deref_mut().filter(|v| runnable(v)) else {
                continue;
            };
            let vp_index = vp_index as u32;
            let Some(page) = vp.state_pages[vp_state_page::INTERCEPT_MESSAGE as usize]
                .and_then(|pfn| glue::phys_to_virt(pfn << 12))
            else {
                continue;
            };
            vp.halted = false;
            if crate::hvsim::cpu::load_dirty(vp).is_err() {
                continue;
            }
            let ran = crate::hvsim::cpu::run(gpa, vp, vp_index, DISPATCH_BUDGET);
            crate::hvsim::cpu::publish(vp);
            match ran {
                Ok(Ran::Intercept(message)) => {
                    // SAFETY: As in `dispatch_vp`: the VP's own intercept message page, which
                    // the parent reads only once notified, while the VP is suspended.
                    unsafe { MessagePage::new(page) }.write(&message);
                    vp.suspended = true;
                    let _ = outbox.push(Signal::Intercept { pt, vp: vp_index }, GFP_ATOMIC);
                }
                Ok(Ran::Slice) => again = true,
                Ok(Ran::Idle) => vp.halted = true,
                Err(_) => {}
            }
        }
    }
    again
}

/// The VP a state-page call names, after checking its header.
pub(super) fn state_page_vp<'a>(
    st: &'a mut SimState,
    input: &[u8],
    c: Control,
) -> Result<(&'a mut Partition, VpStatePageIn), (u16, usize)> {
    let i: VpStatePageIn = head(input);
    // The GHCB exists only for isolated partitions; no caller-provided location, no VTL.
    if i.page_type >= vp_state_page::GHCB
        || i.flags != 0
        || i.input_vtl != 0
        || i.requested_map_location != 0
    {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    p.vp(i.vp_index).map_err(|s| bad(s, c))?;
    Ok((p, i))
}

pub(super) fn map_state_page(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    out: &mut [u8],
) -> Outcome {
    let forged = st.forged.state_page.take();
    let (p, i) = state_page_vp(st, input, c)?;
    // A lie armed by a test: a page that is not the VP's (nor recorded as one).
    if let Some(pfn) = forged {
        wr(out, 0, &pfn);
        return Ok(0);
    }
    let slot = i.page_type as usize;
    // PANIC: `state_page_vp` found the VP.
    let pfn = match p.vp(i.vp_index).expect("VP exists").state_pages[slot] {
        // Mapping again returns the same page.
        Some(pfn) => pfn,
        None => {
            // The page comes out of the partition's pool: it is deposited memory.
            let pfn = p.pool.take().map_err(|s| bad(s, c))?;
            if let Some(page) = glue::phys_to_virt(pfn << 12) {
                // SAFETY: The page was deposited, so the hypervisor (this simulator) owns it.
                unsafe { core::ptr::write_bytes(page.as_ptr(), 0, HV_PAGE_SIZE) };
            }
            let vp = p.vp(i.vp_index).expect("VP exists");
            vp.state_pages[slot] = Some(pfn);
            crate::hvsim::cpu::publish(vp);
            pfn
        }
    };
    wr(out, 0, &pfn);
    Ok(0)
}

pub(super) fn unmap_state_page(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    _: &mut [u8],
) -> Outcome {
    let (p, i) = state_page_vp(st, input, c)?;
    // PANIC: `state_page_vp` found the VP.
    let taken = p.vp(i.vp_index).expect("VP exists").state_pages[i.page_type as usize].take();
    let Some(pfn) = taken else {
        return Err(bad(status::INVALID_PARAMETER, c));
    };
    p.pool
        .pfns
        .push(pfn, GFP_ATOMIC)
        .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?;
    Ok(0)
}

pub(super) fn vp_state(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let i: VpStateIn = head(input);
    if i.input_vtl != 0 || i.rsvd0 != 0 || i.rsvd1 != 0 || i.rsvd != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let set = c.code() == code::SET_VP_STATE;
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    let vp = p.vp(i.vp_index).map_err(|s| bad(s, c))?;
    let header = core::mem::size_of::<VpStateIn>();
    // The PFN-passed states are one page each (XSAVE as MAX_XSAVE_DATA_SIZE says); the
    // synthetic timers travel in the input or output page itself.
    let slot = match i.state_type {
        vp_state::LAPIC => 0,
        vp_state::XSAVE => 1,
        vp_state::SIM_PAGE => 2,
        vp_state::SIEF_PAGE => 3,
        vp_state::SYNTHETIC_TIMERS => {
            let n = crate::hvsim::TIMERS_STATE_SIZE;
            // Set: the state is the variable header. Get: it comes back in the output page.
            let expected = if set { n.div_ceil(8) * 8 } else { 0 };
            if c.varhead_bytes() != expected {
                return Err(bad(status::INVALID_HYPERCALL_INPUT, c));
            }
            if set {
                let data = input
                    .get(header..header + n)
                    .ok_or(bad(status::INVALID_PARAMETER, c))?;
                vp.timers.copy_from_slice(data);
            } else {
                let dst = out.get_mut(..n).ok_or(bad(status::INVALID_PARAMETER, c))?;
                dst.copy_from_slice(&vp.timers);
            }
            return Ok(0);
        }
        _ => return Err(bad(status::INVALID_PARAMETER, c)),
    };
    // At least the one page the state needs; further pages are not used.
    if c.varhead_bytes() < 8 {
        return Err(bad(status::INVALID_HYPERCALL_INPUT, c));
    }
    let pfn: u64 = rd(input, header).unwrap_or_default();
    let Some(page) = glue::phys_to_virt(pfn << 12) else {
        return Err(bad(status::INVALID_PARAMETER, c));
    };
    if set {
        let mut buf: KBox<[u8; HV_PAGE_SIZE]> = KBox::init(pin_init::init_zeroed(), GFP_ATOMIC)
            .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?;
        // SAFETY: The caller lent the page named in the PFN list for the call.
        unsafe { core::ptr::copy_nonoverlapping(page.as_ptr(), buf.as_mut_ptr(), HV_PAGE_SIZE) };
        vp.states[slot] = Some(buf);
    } else {
        let src = vp.states[slot].as_deref();
        // SAFETY: The caller lent the page named in the PFN list for the call.
        unsafe {
            match src {
                Some(s) => core::ptr::copy_nonoverlapping(s.as_ptr(), page.as_ptr(), HV_PAGE_SIZE),
                None => core::ptr::write_bytes(page.as_ptr(), 0, HV_PAGE_SIZE),
            }
        }
    }
    Ok(0)
}

pub(super) fn install_intercept(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    _: &mut [u8],
) -> Outcome {
    let i: InstallInterceptIn = head(input);
    if i.intercept_type >= intercept::MAX
        || i.intercept_type == 4
        || i.intercept_type == 0xa
        || i.access_type & !intercept::ACCESS_MASK != 0
    {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Created, State::Initialized], c)?;
    p.intercepts
        .push(i, GFP_ATOMIC)
        .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?;
    Ok(0)
}

pub(super) fn assert_interrupt(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    _: &mut [u8],
) -> Outcome {
    let i: AssertInterruptIn = head(input);
    if i.target_vtl != 0 || i.rsvd_z0 != 0 || i.rsvd_z1 != 0 || i.control_flags & !0x3 != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    // Fixed and lowest-priority interrupts need a vector above the exception range.
    if i.interrupt_type > 7 || (i.interrupt_type <= 1 && !(16..=255).contains(&i.vector)) {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let dispatches = st.host.parent_dispatches();
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    // Physical destination: the APIC ID is the VP index.
    let dest = u32::try_from(i.dest_addr).map_err(|_| bad(status::INVALID_VP_INDEX, c))?;
    let vp = p.vp(dest).map_err(|s| bad(s, c))?;
    // A VP blocked in `hlt` becomes ready: the root scheduler is told.
    let wake = vp.halted && dispatches;
    if !vp.pending.contains(&i.vector) {
        vp.pending
            .push(i.vector, GFP_ATOMIC)
            .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?;
    }
    // Level-triggered (control bit 0), even if it was pending edge-triggered: its EOI is
    // reported.
    if i.control_flags & 1 != 0 && !vp.level.contains(&i.vector) {
        vp.level
            .push(i.vector, GFP_ATOMIC)
            .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?;
    }
    let run = !dispatches && runnable(vp);
    if wake {
        signal(st, i.partition_id, dest, c)?;
    } else if run {
        st.wake_runner = true;
    }
    Ok(0)
}

/// Instructions one dispatch runs before it returns to the root (a time slice).
const DISPATCH_BUDGET: usize = 4096;

pub(super) fn dispatch_vp(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let i: DispatchVpIn = head(input);
    // Rule of this simulator: only a parent that schedules VPs itself may dispatch them.
    if !st.host.parent_dispatches() {
        return Err(bad(status::ACCESS_DENIED, c));
    }
    let known = dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND | dispatch::FLAG_SCAN_INTERRUPT_INJECTION;
    if i.flags & !known != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    let Partition { vps, gpa, .. } = p;
    let vp = vps
        .get_mut(i.vp_index as usize)
        .and_then(|v| v.as_deref_mut())
        .ok_or(bad(status::INVALID_VP_INDEX, c))?;
    // Rule of this simulator: after an intercept the VP stays suspended until a dispatch clears
    // it, and messages need the intercept message page.
    let page = vp.state_pages[vp_state_page::INTERCEPT_MESSAGE as usize];
    let page = page.and_then(|pfn| glue::phys_to_virt(pfn << 12));
    let clear = i.flags & dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND != 0;
    let Some(page) = page.filter(|_| !vp.suspended || clear) else {
        return Err(bad(status::INVALID_VP_STATE, c));
    };
    vp.suspended = false;
    let (state, event) = if vp.register(reg::EXPLICIT_SUSPEND).low & 1 != 0 {
        // Explicitly suspended (as every VP starts): blocked until the root clears it.
        (dispatch::STATE_BLOCKED, dispatch::EVENT_SUSPEND)
    } else if vp.halted && vp.pending.is_empty() {
        // Still in `hlt`: nothing to run until an interrupt comes.
        (dispatch::STATE_BLOCKED, dispatch::EVENT_NONE)
    } else {
        vp.halted = false;
        // Register classes userspace changed through the register page go in first; the page
        // shows the registers as they are when the dispatch returns.
        crate::hvsim::cpu::load_dirty(vp).map_err(|s| bad(s, c))?;
        let ran = crate::hvsim::cpu::run(gpa, vp, i.vp_index, DISPATCH_BUDGET);
        crate::hvsim::cpu::publish(vp);
        match ran.map_err(|s| bad(s, c))? {
            Ran::Intercept(message) => {
                // SAFETY: The intercept message page is deposited memory the simulator handed
                // out as the VP's state page: it stays mapped while the module is loaded, and
                // the driver reads it only between dispatches.
                unsafe { MessagePage::new(page) }.write(&message);
                vp.suspended = true;
                (dispatch::STATE_READY, dispatch::EVENT_INTERCEPT)
            }
            Ran::Slice => (dispatch::STATE_READY, dispatch::EVENT_SUSPEND),
            Ran::Idle => {
                vp.halted = true;
                (dispatch::STATE_BLOCKED, dispatch::EVENT_NONE)
            }
        }
    };
    wr(
        out,
        0,
        &DispatchVpOut {
            dispatch_state: state,
            dispatch_event: event,
        },
    );
    Ok(0)
}
