// SPDX-License-Identifier: GPL-2.0

//! The simulated hypercalls on a partition's guest physical address space: mapping, unmapping,
//! and the accessed and dirty states of its pages.

use super::{
    bad,
    head,
    partition_of,
    reps,
    require,
    Outcome, //
};
use crate::{
    abi::hv::{
        access_flags,
        map_flags,
        status,
        Control,
        GpaAccessStatesIn,
        GpaPagesIn,
        PAGES_PER_LARGE_PAGE, //
    },
    glue,
    hvsim::{
        gpa::GFN_LIMIT,
        rd,
        SimState,
        State, //
    },
};

/// The first guest page of rep `r` of `step` pages from `base`, if all of it is in the GPA
/// space.
fn rep_gfn(base: u64, r: usize, step: u64) -> Option<u64> {
    let gfn = (r as u64).checked_mul(step)?.checked_add(base)?;
    gfn.checked_add(step)
        .is_some_and(|end| end <= GFN_LIMIT)
        .then_some(gfn)
}

pub(super) fn map_gpa(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: GpaPagesIn = head(input);
    if i.padding != 0 || i.flags & !map_flags::VALID != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let large = i.flags & map_flags::LARGE_PAGE != 0;
    let no_access = i.flags & map_flags::NO_ACCESS != 0;
    // Device memory (uncached) is not RAM: it has no `struct page`.
    let device = i.flags & map_flags::NOT_CACHED != 0;
    let step = if large { PAGES_PER_LARGE_PAGE } else { 1 };
    if large && i.target_gpa_base % PAGES_PER_LARGE_PAGE != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let range = reps(st, c);
    let p = partition_of(st, input, c)?;
    require(p, &[State::Initialized], c)?;
    for r in range.clone() {
        let pfn: u64 = rd(input, 24 + r * 8).unwrap_or_default();
        // A no-access mapping carries no pages (upstream passes zeroes).
        if !no_access
            && ((!device && !glue::pfn_valid(pfn)) || (large && pfn % PAGES_PER_LARGE_PAGE != 0))
        {
            return Err((status::INVALID_PARAMETER, r));
        }
        let Some(gfn) = rep_gfn(i.target_gpa_base, r, step) else {
            return Err((status::INVALID_PARAMETER, r));
        };
        let mapped = if large {
            let head = (!no_access).then_some(pfn);
            p.gpa.map_large(gfn, head, i.flags, &mut p.pool)
        } else {
            let pfn = if no_access { 0 } else { pfn };
            p.gpa.map(gfn, pfn, i.flags, &mut p.pool)
        };
        mapped.map_err(|s| (s, r))?;
    }
    Ok(range.end)
}

pub(super) fn unmap_gpa(st: &mut SimState, c: Control, input: &[u8], _: &mut [u8]) -> Outcome {
    let i: GpaPagesIn = head(input);
    if i.padding != 0 || i.flags & !map_flags::UNMAP_LARGE_PAGE != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let large = i.flags & map_flags::UNMAP_LARGE_PAGE != 0;
    let step = if large { PAGES_PER_LARGE_PAGE } else { 1 };
    if large && i.target_gpa_base % PAGES_PER_LARGE_PAGE != 0 {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let range = reps(st, c);
    let p = partition_of(st, input, c)?;
    require(p, &[State::Initialized], c)?;
    for r in range.clone() {
        let Some(gfn) = rep_gfn(i.target_gpa_base, r, step) else {
            return Err((status::INVALID_PARAMETER, r));
        };
        // Unmapping a page that is not mapped is not an error here.
        if large {
            p.gpa.unmap_large(gfn, &mut p.pool);
        } else {
            p.gpa.unmap(gfn, &mut p.pool);
        }
    }
    Ok(range.end)
}

pub(super) fn access_states(
    st: &mut SimState,
    c: Control,
    input: &[u8],
    out: &mut [u8],
) -> Outcome {
    let i: GpaAccessStatesIn = head(input);
    let clear_and_set = (i.flags & access_flags::CLEAR_ACCESSED != 0
        && i.flags & access_flags::SET_ACCESSED != 0)
        || (i.flags & access_flags::CLEAR_DIRTY != 0 && i.flags & access_flags::SET_DIRTY != 0);
    if i.flags & !access_flags::VALID != 0 || clear_and_set {
        return Err(bad(status::INVALID_PARAMETER, c));
    }
    let range = reps(st, c);
    let p = st.partition(i.partition_id).map_err(|s| bad(s, c))?;
    require(p, &[State::Initialized], c)?;
    // Pages past the GPA space fail at the first of them, after the ones before it.
    let valid = GFN_LIMIT.saturating_sub(i.gpa_page_number);
    let end = range.end.min(usize::try_from(valid).unwrap_or(usize::MAX));
    if range.start < end {
        p.gpa.access_states(
            i.gpa_page_number + range.start as u64,
            i.flags,
            &mut out[range.start..end],
        );
    }
    if end < range.end {
        return Err((status::INVALID_PARAMETER, end.max(range.start)));
    }
    Ok(range.end)
}
