// SPDX-License-Identifier: GPL-2.0

//! The simulated hypercalls: each call's input shape, and what it does.
//!
//! A handler gets input already checked against its [`Spec`] (the control word's rep count,
//! variable header and fast bit; the input and output sizes) and returns the reps completed, or a
//! status with the reps completed before it.

use kernel::prelude::*;

mod memory;
mod partition;
mod vp;

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
        system_property,
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
        PartitionPropertyExIn,
        PartitionPropertyIn,
        SystemPropertyIn,
        VmmCapabilities,
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
use partition::{
    create_partition,
    delete_partition,
    deposit,
    finalize_partition,
    get_property,
    get_property_ex,
    get_system_property,
    initialize_partition,
    set_property,
    withdraw, //
};
pub(super) use vp::run_resumed;
use vp::{
    assert_interrupt,
    create_vp,
    delete_vp,
    dispatch_vp,
    get_registers,
    install_intercept,
    map_state_page,
    set_registers,
    unmap_state_page,
    vp_state, //
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
        code::GET_PARTITION_PROPERTY_EX => simple(
            size_of::<PartitionPropertyExIn>(),
            size_of::<VmmCapabilities>(),
            get_property_ex,
        ),
        code::GET_SYSTEM_PROPERTY => simple(size_of::<SystemPropertyIn>(), 8, get_system_property),
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

pub(super) fn partition_of<'a>(
    st: &'a mut SimState,
    input: &[u8],
    c: Control,
) -> Result<&'a mut Partition, (u16, usize)> {
    let id: u64 = head(input);
    st.partition(id).map_err(|s| bad(s, c))
}
