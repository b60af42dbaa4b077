// SPDX-License-Identifier: GPL-2.0

//! `MSHV_GET_VP_STATE` and `MSHV_SET_VP_STATE`: the VP's LAPIC, XSAVE, SynIC pages and
//! synthetic timers, through the caller's buffer (pinned and handed over as a PFN list, or
//! copied for the timers).

use kernel::{
    prelude::*,
    uaccess::{
        UserSlice,
        UserSliceWriter, //
    },
};

use super::Vp;
use crate::{
    abi::hv::{
        property,
        vp_state as hv_vp_state, //
    },
    abi::uapi::{
        self as uapi,
        GetSetVpState, //
    },
    glue::{
        self,
        pin::{
            Access,
            Pinned,
            Term, //
        },
    },
};

/// Bytes of `struct hv_synthetic_timers_state`.
const TIMERS_STATE_SIZE: usize = crate::abi::hv::SYNTHETIC_TIMERS_STATE_SIZE;

/// Which way a state goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// `MSHV_GET_VP_STATE`: from the VP to the buffer.
    Get,
    /// `MSHV_SET_VP_STATE`: from the buffer to the VP.
    Set,
}

impl Vp {
    /// `MSHV_GET_VP_STATE` and `MSHV_SET_VP_STATE`: `size_out` takes the size the state needs.
    pub(super) fn state(
        &self,
        args: &GetSetVpState,
        dir: Direction,
        mut size_out: UserSliceWriter,
    ) -> Result {
        // As every VP ioctl upstream: not while the VP runs.
        let _run = glue::lock_killable(&self.run)?;
        let page = uapi::MSHV_HV_PAGE_SIZE;
        let (buf_sz, buf) = (args.buf_sz as usize, args.buf_ptr as usize);
        if args.state_type >= uapi::vp_state::COUNT
            || args.rsvd != [0; 3]
            || buf_sz == 0
            || buf_sz % page != 0
            || buf % page != 0
        {
            return Err(EINVAL);
        }
        if !glue::access_ok(buf, buf_sz) {
            return Err(EFAULT);
        }
        let pt = &self.partition;
        let (hv_type, xsave_states, size) = match args.state_type {
            uapi::vp_state::LAPIC => (hv_vp_state::LAPIC, 0, page),
            uapi::vp_state::XSAVE => {
                let states = pt
                    .hv
                    .get_partition_property(pt.id, property::XSAVE_STATES)?;
                let size = pt
                    .hv
                    .get_partition_property(pt.id, property::MAX_XSAVE_DATA_SIZE)?;
                // The legacy x87 and SSE states are always asked for, as upstream does.
                (
                    hv_vp_state::XSAVE,
                    states | 0x3,
                    usize::try_from(size).map_err(|_| EIO)?,
                )
            }
            uapi::vp_state::SIMP => (hv_vp_state::SIM_PAGE, 0, page),
            uapi::vp_state::SIEFP => (hv_vp_state::SIEF_PAGE, 0, page),
            _ => (hv_vp_state::SYNTHETIC_TIMERS, 0, TIMERS_STATE_SIZE),
        };
        // The size the state needs goes back first, so a caller with too small a buffer learns
        // what to allocate.
        let size_u32 = u32::try_from(size).map_err(|_| EIO)?;
        size_out.write(&size_u32)?;
        if size > buf_sz {
            return Err(EINVAL);
        }
        if hv_type & hv_vp_state::TYPE_PFN != 0 {
            let npages = buf_sz / page;
            // The PFN list is the variable header: a page of it after the 40-byte header.
            // Upstream pins the whole buffer before it finds it too long, so a buffer it could
            // not pin is `EFAULT` first; here the VMAs are looked at instead of pinning it.
            if npages > (page - 40) / 8 {
                let span = glue::vma_span(buf, buf_sz);
                return Err(match span {
                    Ok(s) if s.covered && s.writable => EINVAL,
                    Err(e) if e == EINTR => EINTR,
                    _ => EFAULT,
                });
            }
            let pinned = Pinned::new(buf as u64, npages, Access::Write, Term::Call)?;
            let pfns = pinned.pfns()?;
            return match dir {
                Direction::Set => {
                    pt.hv
                        .set_vp_state(pt.id, self.index, hv_type, xsave_states, &pfns)
                }
                Direction::Get => {
                    pt.hv
                        .get_vp_state(pt.id, self.index, hv_type, xsave_states, &pfns)
                }
            };
        }
        let mut data = [0u8; TIMERS_STATE_SIZE];
        let user = UserSlice::new(UserPtr::from_addr(buf), TIMERS_STATE_SIZE);
        match dir {
            Direction::Set => {
                user.reader().read_slice(&mut data)?;
                pt.hv.set_vp_state_bytes(pt.id, self.index, hv_type, &data)
            }
            Direction::Get => {
                pt.hv
                    .get_vp_state_bytes(pt.id, self.index, hv_type, &mut data)?;
                user.writer().write_slice(&data)
            }
        }
    }
}
