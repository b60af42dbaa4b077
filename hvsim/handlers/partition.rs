// SPDX-License-Identifier: GPL-2.0

//! The simulated hypercalls on partitions: create, initialize, finalize, delete, their
//! properties, and the memory pools deposits fill.

use super::*;

pub(super) fn create_partition(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    out: &mut [u8],
) -> Outcome {
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

pub(super) fn initialize_partition(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    _: &mut [u8],
) -> Outcome {
    let p = partition_of(st, input, c)?;
    require(p, &[State::Created], c)?;
    p.pool.charge(INIT_PAGES).map_err(|s| bad(s, c))?;
    p.state = State::Initialized;
    Ok(0)
}

pub(super) fn finalize_partition(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    _: &mut [u8],
) -> Outcome {
    let p = partition_of(st, input, c)?;
    require(p, &[State::Created, State::Initialized], c)?;
    p.release_all();
    p.state = State::Finalized;
    Ok(0)
}

pub(super) fn delete_partition(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    _: &mut [u8],
) -> Outcome {
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

/// `HvCallGetPartitionPropertyEx`: the caller's own VMM capabilities and, on L1VH, whether the
/// integrated scheduler is on. Rule of this simulator: no other extended property exists
/// (`UNKNOWN_PROPERTY`), and a hypervisor from before the VMM capabilities (`sim_no_vmm_caps`)
/// does not know the call.
pub(super) fn get_property_ex(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    out: &mut [u8],
) -> Outcome {
    let i: PartitionPropertyExIn = head(input);
    let host = st.host;
    if host.no_vmm_caps {
        return Err(bad(status::INVALID_HYPERCALL_CODE, c));
    }
    if i.padding != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    if i.partition_id != HV_PARTITION_ID_SELF {
        st.partition(i.partition_id).map_err(|s| bad(s, c))?;
        return Err(bad(status::UNKNOWN_PROPERTY, c));
    }
    match i.property_code {
        property::VMM_CAPABILITIES => wr(out, 0, &host.vmm_capabilities()),
        property::INTEGRATED_SCHEDULER_ENABLED if !host.is_root() => {
            wr(out, 0, &u64::from(host.parent_dispatches()))
        }
        _ => return Err(bad(status::UNKNOWN_PROPERTY, c)),
    }
    Ok(0)
}

/// `HvCallGetSystemProperty`: the scheduler type, to the root only. Rules of this simulator: an
/// L1VH caller is refused (`ACCESS_DENIED`), and a property it does not model is an
/// `INVALID_PARAMETER`.
pub(super) fn get_system_property(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    out: &mut [u8],
) -> Outcome {
    let i: SystemPropertyIn = head(input);
    if i.reserved != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    if !st.host.is_root() {
        return Err(bad(status::ACCESS_DENIED, c));
    }
    match i.property_id {
        system_property::SCHEDULER_TYPE => wr(out, 0, &u64::from(st.host.scheduler_type())),
        _ => return Err(bad(status::INVALID_PARAMETER, c)),
    }
    Ok(0)
}

pub(super) fn get_property(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
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

pub(super) fn set_property(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
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

pub(super) fn deposit(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
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

pub(super) fn withdraw(st: &mut SimState, c: Control, input: &[u8], out: &mut [u8]) -> Outcome {
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
