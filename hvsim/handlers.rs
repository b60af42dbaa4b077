// SPDX-License-Identifier: GPL-2.0

//! The simulated hypercalls: each call's input shape, and what it does.
//!
//! A handler gets input already checked against its [`Spec`] (the control word's rep count,
//! variable header and fast bit; the input and output sizes) and returns the reps completed, or a
//! status with the reps completed before it.

use kernel::prelude::*;

mod memory;

use super::{
    rd,
    wr,
    Partition,
    SimState,
    State,
    Vp,
    INIT_PAGES,
    MAX_VPS,
    PARTITION_PAGES,
    VP_PAGES, //
};
use crate::{
    abi::hv::{
        code,
        dispatch,
        intercept,
        message::MessagePage,
        property,
        reg,
        status,
        vp_state,
        vp_state_page,
        AssertInterruptIn,
        Control,
        CreatePartitionIn,
        CreateVpIn,
        DispatchVpIn,
        DispatchVpOut,
        GpaAccessStatesIn,
        GpaPagesIn,
        HvRegisterAssoc,
        InstallInterceptIn,
        MemoryPoolIn,
        PartitionIdIn,
        PartitionPropertyIn,
        VpIn,
        VpRegistersIn,
        VpStateIn,
        VpStatePageIn,
        HV_PAGE_SIZE,
        HV_PARTITION_ID_SELF, //
    },
    glue,
};
use memory::{
    access_states,
    map_gpa,
    unmap_gpa, //
};

/// A handler's outcome: reps completed, or a status and the reps completed before it.
pub(super) type Outcome = Result<usize, (u16, usize)>;

/// The shape of a call's input and output, and its handler.
pub(super) struct Spec {
    /// A rep call (rep count nonzero) rather than a simple one.
    pub(super) rep: bool,
    /// A variable header may follow the fixed header.
    pub(super) varhead: bool,
    /// May be issued with register input.
    pub(super) fast: bool,
    /// Fixed header bytes.
    pub(super) head: usize,
    /// Input bytes per rep.
    pub(super) elem_in: usize,
    /// Output bytes per rep.
    pub(super) elem_out: usize,
    /// Output bytes of a simple call.
    pub(super) out: usize,
    pub(super) run: fn(&mut SimState, Control, &[u8], &mut [u8]) -> Outcome,
}

const fn simple(
    head: usize,
    out: usize,
    run: fn(&mut SimState, Control, &[u8], &mut [u8]) -> Outcome,
) -> Spec {
    Spec {
        rep: false,
        varhead: false,
        fast: false,
        head,
        elem_in: 0,
        elem_out: 0,
        out,
        run,
    }
}

const fn rep(
    head: usize,
    elem_in: usize,
    elem_out: usize,
    run: fn(&mut SimState, Control, &[u8], &mut [u8]) -> Outcome,
) -> Spec {
    Spec {
        rep: true,
        varhead: false,
        fast: false,
        head,
        elem_in,
        elem_out,
        out: 0,
        run,
    }
}

/// The calls the simulator knows.
pub(super) fn spec(call: u16) -> Option<Spec> {
    use core::mem::size_of;
    let fast8 = |run| Spec {
        fast: true,
        ..simple(8, 0, run)
    };
    Some(match call {
        code::CREATE_PARTITION => simple(size_of::<CreatePartitionIn>(), 8, create_partition),
        code::INITIALIZE_PARTITION => fast8(initialize_partition),
        code::FINALIZE_PARTITION => fast8(finalize_partition),
        code::DELETE_PARTITION => fast8(delete_partition),
        code::GET_PARTITION_PROPERTY => simple(16, 8, get_property),
        code::GET_PARTITION_PROPERTY_EX => simple(16, 0, get_property_ex),
        code::SET_PARTITION_PROPERTY => simple(size_of::<PartitionPropertyIn>(), 0, set_property),
        code::DEPOSIT_MEMORY => rep(size_of::<PartitionIdIn>(), 8, 0, deposit),
        code::WITHDRAW_MEMORY => rep(size_of::<MemoryPoolIn>(), 0, 8, withdraw),
        code::MAP_GPA_PAGES => rep(size_of::<GpaPagesIn>(), 8, 0, map_gpa),
        code::UNMAP_GPA_PAGES => rep(size_of::<GpaPagesIn>(), 0, 0, unmap_gpa),
        code::CREATE_VP => simple(size_of::<CreateVpIn>(), 0, create_vp),
        code::DELETE_VP => Spec {
            fast: true,
            ..simple(size_of::<VpIn>(), 0, delete_vp)
        },
        code::GET_VP_REGISTERS => rep(size_of::<VpRegistersIn>(), 4, 16, get_registers),
        code::SET_VP_REGISTERS => rep(size_of::<VpRegistersIn>(), 32, 0, set_registers),
        code::MAP_VP_STATE_PAGE => simple(size_of::<VpStatePageIn>(), 8, map_state_page),
        code::UNMAP_VP_STATE_PAGE => simple(size_of::<VpStatePageIn>(), 0, unmap_state_page),
        code::GET_VP_STATE | code::SET_VP_STATE => Spec {
            varhead: true,
            ..simple(size_of::<VpStateIn>(), 0, vp_state)
        },
        code::INSTALL_INTERCEPT => simple(size_of::<InstallInterceptIn>(), 0, install_intercept),
        code::ASSERT_VIRTUAL_INTERRUPT => {
            simple(size_of::<AssertInterruptIn>(), 0, assert_interrupt)
        }
        code::DISPATCH_VP => simple(
            size_of::<DispatchVpIn>(),
            size_of::<DispatchVpOut>(),
            dispatch_vp,
        ),
        code::GET_GPA_PAGES_ACCESS_STATES => {
            rep(size_of::<GpaAccessStatesIn>(), 0, 1, access_states)
        }
        _ => return None,
    })
}

/// A failure before any rep completed.
pub(super) fn bad(s: u16, c: Control) -> (u16, usize) {
    (s, c.rep_start())
}

/// Reads the fixed header.
pub(super) fn head<T: kernel::transmute::FromBytes>(input: &[u8]) -> T {
    // PANIC: The dispatcher checked that the input holds the header.
    rd(input, 0).expect("header checked by dispatch")
}

/// The range of reps to run now: from the start index, as many as the quota allows.
pub(super) fn reps(st: &mut SimState, c: Control) -> core::ops::Range<usize> {
    let start = c.rep_start();
    start..start + st.rep_quota(c.rep_count() - start)
}

/// Checks the state of a partition.
pub(super) fn require(p: &Partition, states: &[State], c: Control) -> Result<(), (u16, usize)> {
    if states.contains(&p.state) {
        Ok(())
    } else {
        Err(bad(status::INVALID_PARTITION_STATE, c))
    }
}

fn create_partition(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let i: CreatePartitionIn = head(input);
    // Non-isolated partitions only; the padding is reserved; the one compatibility version
    // the simulator implements (HV_COMPATIBILITY_21_H2).
    if i.isolation_properties != 0 || i.padding != 0 || i.compatibility_version != 0x609 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    st.root.charge(PARTITION_PAGES).map_err(|s| bad(s, c))?;
    let p = Partition {
        state: State::Created,
        pool: Default::default(),
        props: KVec::new(),
        vps: KVec::new(),
        gpa: Default::default(),
        intercepts: KVec::new(),
    };
    let pushed = KBox::new(p, GFP_ATOMIC)
        .ok()
        .and_then(|b| st.partitions.push(Some(b), GFP_ATOMIC).ok());
    if pushed.is_none() {
        st.root.release(PARTITION_PAGES);
        return Err(bad(status::INSUFFICIENT_MEMORY, c));
    }
    wr(out, 0, &(st.partitions.len() as u64));
    Ok(0)
}

pub(super) fn partition_of<'a>(
    st: &'a mut SimState,
    input: &[u8],
    c: Control,
) -> Result<&'a mut Partition, (u16, usize)> {
    let id: u64 = head(input);
    st.partition(id).map_err(|s| bad(s, c))
}

fn initialize_partition(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let p = partition_of(st, input, c)?;
    require(p, &[State::Created], c)?;
    p.pool.charge(INIT_PAGES).map_err(|s| bad(s, c))?;
    p.state = State::Initialized;
    Ok(0)
}

fn finalize_partition(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let p = partition_of(st, input, c)?;
    require(p, &[State::Created, State::Initialized], c)?;
    p.release_all();
    p.state = State::Finalized;
    Ok(0)
}

fn delete_partition(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let id: u64 = head(input);
    let p = st.partition(id).map_err(|s| bad(s, c))?;
    // Rule of this simulator: the driver must finalize and withdraw everything first.
    require(p, &[State::Finalized], c)?;
    if !p.pool.pfns.is_empty() {
        return Err(bad(status::INVALID_PARTITION_STATE, c));
    }
    st.partitions[(id - 1) as usize] = None;
    st.root.release(PARTITION_PAGES);
    Ok(0)
}

/// Properties: (code, default, settable, settable only before initialization).
const PROPERTIES: &[(u32, u64, bool, bool)] = &[
    (property::PRIVILEGE_FLAGS, 0, false, false),
    (property::SYNTHETIC_PROC_FEATURES, 0, true, true),
    (property::GPA_PAGE_ACCESS_TRACKING, 0, true, false),
    (property::UNIMPLEMENTED_MSR_ACTION, 0, true, false),
    (property::XSAVE_STATES, 0x3, false, false),
    (
        property::MAX_XSAVE_DATA_SIZE,
        HV_PAGE_SIZE as u64,
        false,
        false,
    ),
    (property::PROCESSOR_FEATURES0, 0, false, false),
    (property::PROCESSOR_FEATURES1, 0, false, false),
];

/// `HvCallGetPartitionPropertyEx`: the simulated hypervisor has no extended properties and
/// answers as hypervisors before them do (VMMs read this as "no VMM capabilities").
fn get_property_ex(_st: &mut SimState, c: Control, _input: &[u8], _out: &mut [u8]) -> Outcome {
    Err(bad(status::ACCESS_DENIED, c))
}

fn get_property(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let id: u64 = head(input);
    let code: u32 = rd(input, 8).unwrap_or_default();
    let pad: u32 = rd(input, 12).unwrap_or_default();
    if pad != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let Some(&(_, default, ..)) = PROPERTIES.iter().find(|p| p.0 == code) else {
        return Err(bad(status::UNKNOWN_PROPERTY, c));
    };
    let value = if id == HV_PARTITION_ID_SELF {
        default
    } else {
        let p = st.partition(id).map_err(|s| bad(s, c))?;
        p.props
            .iter()
            .find(|(k, _)| *k == code)
            .map_or(default, |&(_, v)| v)
    };
    wr(out, 0, &value);
    Ok(0)
}

fn set_property(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: PartitionPropertyIn = head(input);
    if i.padding != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let Some(&(_, _, settable, early)) = PROPERTIES.iter().find(|p| p.0 == i.property_code) else {
        return Err(bad(status::UNKNOWN_PROPERTY, c));
    };
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    if !settable {
        return Err(bad(status::ACCESS_DENIED, c));
    }
    let allowed: &[State] = if early {
        &[State::Created]
    } else {
        &[State::Created, State::Initialized]
    };
    require(p, allowed, c)?;
    if i.property_code == property::GPA_PAGE_ACCESS_TRACKING && i.property_value > 1 {
        return Err(bad(status::PROPERTY_VALUE_OUT_OF_RANGE, c));
    }
    match p.props.iter_mut().find(|(k, _)| *k == i.property_code) {
        Some(slot) => slot.1 = i.property_value,
        None => p
            .props
            .push((i.property_code, i.property_value), GFP_ATOMIC)
            .map_err(|_| bad(status::INSUFFICIENT_MEMORY, c))?,
    }
    Ok(0)
}

fn deposit(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let id: u64 = head(input);
    let range = reps(st, c);
    let pool = st.pool(id).map_err(|s| bad(s, c))?;
    for r in range.clone() {
        let pfn: u64 = rd(input, 8 + r * 8).unwrap_or_default();
        // A page deposited twice would be withdrawn (and freed) twice.
        if !glue::pfn_valid(pfn) || pool.pfns.contains(&pfn) {
            return Err((status::INVALID_PARAMETER, r));
        }
        pool.deposit(pfn).map_err(|s| (s, r))?;
    }
    Ok(range.end)
}

fn withdraw(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let i: MemoryPoolIn = head(input);
    if i.proximity_domain_info != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let range = reps(st, c);
    let forged = st.forged.withdraw.take();
    let pool = st.pool(i.partition_id).map_err(|s| bad(s, c))?;
    for r in range.clone() {
        // A lie armed by a test: a page the pool never had, the pool's own kept.
        if let Some(pfn) = forged.filter(|_| r == range.start) {
            wr(out, r * 8, &pfn);
            continue;
        }
        let Some(pfn) = pool.withdraw() else {
            return Err((status::NO_RESOURCES, r));
        };
        wr(out, r * 8, &pfn);
    }
    Ok(range.end)
}

fn create_vp(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
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
        for (name, value) in super::cpu::RESET {
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
    pub(super) fn vp(&mut self, vp: u32) -> Result<&mut Vp, u16> {
        self.vps
            .get_mut(vp as usize)
            .and_then(|v| v.as_deref_mut())
            .ok_or(status::INVALID_VP_INDEX)
    }
}

fn delete_vp(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
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
fn known_register(name: u32) -> bool {
    matches!(name,
        reg::EXPLICIT_SUSPEND | reg::INTERCEPT_SUSPEND
        | reg::RAX..=reg::RFLAGS
        | reg::CR0..=reg::CR8
        | reg::ES..=reg::TR
        | reg::IDTR | reg::GDTR | reg::EFER)
}

/// The VP a register call names, after checking its header.
fn vp_of<'a>(st: &'a mut SimState, input: &[u8], c: Control) -> Result<&'a mut Vp, (u16, usize)> {
    let i: VpRegistersIn = head(input);
    // Only the VP's own VTL: no target VTL, or target VTL 0 explicitly.
    if (i.input_vtl != 0 && i.input_vtl != 0x10) || i.rsvd_z8 != 0 || i.rsvd_z16 != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    p.vp(i.vp_index).map_err(|s| bad(s, c))
}

fn get_registers(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let range = reps(st, c);
    let vp = vp_of(st, input, c)?;
    for r in range.clone() {
        let name: u32 = rd(input, 16 + r * 4).unwrap_or_default();
        if !known_register(name) {
            return Err((status::INVALID_PARAMETER, r));
        }
        let v = vp
            .regs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_default();
        wr(out, r * 16, &v);
    }
    Ok(range.end)
}

fn set_registers(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let range = reps(st, c);
    let vp = vp_of(st, input, c)?;
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
    // The registers set before a failure are set: the register page shows them too.
    super::cpu::publish(vp);
    result
}

/// The VP a state-page call names, after checking its header.
fn state_page_vp<'a>(
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

fn map_state_page(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
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
            super::cpu::publish(vp);
            pfn
        }
    };
    wr(out, 0, &pfn);
    Ok(0)
}

fn unmap_state_page(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
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

fn vp_state(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
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
            let n = super::TIMERS_STATE_SIZE;
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

fn install_intercept(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
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

fn assert_interrupt(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: AssertInterruptIn = head(input);
    if i.target_vtl != 0 || i.rsvd_z0 != 0 || i.rsvd_z1 != 0 || i.control_flags & !0x3 != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    // Fixed and lowest-priority interrupts need a vector above the exception range.
    if i.interrupt_type > 7 || (i.interrupt_type <= 1 && !(16..=255).contains(&i.vector)) {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    // Physical destination: the APIC ID is the VP index.
    let dest = u32::try_from(i.dest_addr).map_err(|_| bad(status::INVALID_VP_INDEX, c))?;
    let vp = p.vp(dest).map_err(|s| bad(s, c))?;
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
    Ok(0)
}

/// Instructions one dispatch runs before it returns to the root (a time slice).
const DISPATCH_BUDGET: usize = 4096;

fn dispatch_vp(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
    let i: DispatchVpIn = head(input);
    if i.flags & !dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND != 0 {
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
    // Register classes userspace changed through the register page go in first; the page shows
    // the registers as they are when the dispatch returns.
    super::cpu::load_dirty(vp).map_err(|s| bad(s, c))?;
    let ran = super::cpu::run(gpa, vp, i.vp_index, DISPATCH_BUDGET);
    super::cpu::publish(vp);
    let (state, event) = match ran.map_err(|s| bad(s, c))? {
        Some(message) => {
            // SAFETY: The intercept message page is deposited memory the simulator handed out
            // as the VP's state page: it stays mapped while the module is loaded, and the
            // driver reads it only between dispatches.
            unsafe { MessagePage::new(page) }.write(&message);
            vp.suspended = true;
            (dispatch::STATE_READY, dispatch::EVENT_INTERCEPT)
        }
        None => (dispatch::STATE_READY, dispatch::EVENT_SUSPEND),
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
