// SPDX-License-Identifier: GPL-2.0

//! The typed calls on a VP: creation and deletion, registers, state pages, state, dispatch.

use kernel::{
    prelude::*,
    transmute::AsBytes, //
};

use crate::{
    abi::hv::{
        code,
        CreateVpIn,
        DispatchVpIn,
        DispatchVpOut,
        HvRegisterAssoc,
        HvRegisterValue,
        PartitionId,
        VpIndex,
        VpRegistersIn,
        VpStateIn,
        VpStatePageIn,
        HV_PAGE_SIZE, //
    },
    hvcall::Hv,
};

/// Registers per `HvCallGetVpRegisters`: a page of 16-byte values.
pub(crate) const GET_REGS_BATCH: usize = HV_PAGE_SIZE / 16;
/// Registers per `HvCallSetVpRegisters`: a page of 32-byte associations after the header.
pub(crate) const SET_REGS_BATCH: usize = (HV_PAGE_SIZE - 16) / 32;

impl Hv {
    /// `HvCallCreateVp`.
    pub(crate) fn create_vp(&self, pt: PartitionId, vp: VpIndex) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        let input = CreateVpIn {
            partition_id: pt,
            vp_index: vp,
            ..Default::default()
        };
        self.with_deposits(pt, "create VP", |hv| hv.call(code::CREATE_VP, &input))
    }

    /// `HvCallDeleteVp` (fast).
    pub(crate) fn delete_vp(&self, pt: PartitionId, vp: VpIndex) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        Ok(self.fast16(code::DELETE_VP, pt, u64::from(vp))?)
    }

    /// `HvCallGetVpRegisters`: `values[i]` receives register `names[i]`.
    pub(crate) fn get_vp_registers(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        names: &[u32],
        values: &mut [HvRegisterValue],
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        if names.len() != values.len() {
            return Err(EINVAL);
        }
        let head = vp_registers_head(pt, vp);
        for (n, v) in names
            .chunks(GET_REGS_BATCH)
            .zip(values.chunks_mut(GET_REGS_BATCH))
        {
            let count = n.len();
            self.rep(code::GET_VP_REGISTERS, &head, &[], n, v, 0..count)
                .1?;
        }
        Ok(())
    }

    /// `HvCallSetVpRegisters`.
    pub(crate) fn set_vp_registers(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        regs: &[HvRegisterAssoc],
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        let head = vp_registers_head(pt, vp);
        for batch in regs.chunks(SET_REGS_BATCH) {
            let count = batch.len();
            self.rep::<_, _, u64>(code::SET_VP_REGISTERS, &head, &[], batch, &mut [], 0..count)
                .1?;
        }
        Ok(())
    }

    /// `HvCallMapVpStatePage`: returns the PFN of the VP's page of type `page_type`.
    pub(crate) fn map_vp_state_page(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        page_type: u16,
    ) -> Result<u64> {
        let (pt, vp) = (pt.0, vp.0);
        let input = VpStatePageIn {
            partition_id: pt,
            vp_index: vp,
            page_type,
            ..Default::default()
        };
        let pfn = self.with_deposits(pt, "map VP state page", |hv| {
            hv.call_out::<_, u64>(code::MAP_VP_STATE_PAGE, &input)
        })?;
        // The page is read, written and mapped into the VMM: it must be one the hypervisor was
        // given for this.
        if !self.is_deposited(pt, pfn) {
            pr_err!(
                "partition {pt:#x}: the hypervisor named PFN {pfn:#x} as VP {vp}'s state page {page_type}, a page this driver never deposited; refusing it\n"
            );
            // Mapped all the same: not left so.
            let _ = self.unmap_vp_state_page(PartitionId(pt), VpIndex(vp), page_type);
            return Err(EIO);
        }
        Ok(pfn)
    }

    /// `HvCallUnmapVpStatePage`.
    pub(crate) fn unmap_vp_state_page(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        page_type: u16,
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        let input = VpStatePageIn {
            partition_id: pt,
            vp_index: vp,
            page_type,
            ..Default::default()
        };
        Ok(self.call(code::UNMAP_VP_STATE_PAGE, &input)?)
    }

    /// `HvCallGetVpState` for a PFN-passed state: the hypervisor writes it into `pfns`.
    /// `xsave_states` selects the XSAVE components (for `XSAVE` only).
    pub(crate) fn get_vp_state(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        state_type: u32,
        xsave_states: u64,
        pfns: &[u64],
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        self.vp_state_pfns(
            code::GET_VP_STATE,
            vp_state_head(pt, vp, state_type, xsave_states),
            pfns,
        )
    }

    /// `HvCallSetVpState` for a PFN-passed state: the hypervisor reads it from `pfns`.
    pub(crate) fn set_vp_state(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        state_type: u32,
        xsave_states: u64,
        pfns: &[u64],
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        self.vp_state_pfns(
            code::SET_VP_STATE,
            vp_state_head(pt, vp, state_type, xsave_states),
            pfns,
        )
    }

    fn vp_state_pfns(&self, call: u16, head: VpStateIn, pfns: &[u64]) -> Result {
        self.with_deposits(head.partition_id, "VP state", |hv| {
            // A simple call whose PFN list is the variable header.
            hv.rep::<_, u64, u64>(call, &head, pfns, &[], &mut [], 0..0)
                .1
        })
    }

    /// `HvCallGetVpState` for a state passed in the output page (synthetic timers).
    pub(crate) fn get_vp_state_bytes(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        state_type: u32,
        out: &mut [u8],
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        let head = vp_state_head(pt, vp, state_type, 0);
        self.with_deposits(pt, "VP state", |hv| {
            hv.passthrough(code::GET_VP_STATE, AsBytes::as_bytes(&head), 0, 0, out)
                .1
        })
    }

    /// `HvCallSetVpState` for a state passed in the input page: the data is the variable
    /// header, in 8-byte units (as upstream declares it).
    pub(crate) fn set_vp_state_bytes(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        state_type: u32,
        data: &[u8],
    ) -> Result {
        let (pt, vp) = (pt.0, vp.0);
        let head = vp_state_head(pt, vp, state_type, 0);
        let mut words = KVec::from_elem(0u64, data.len().div_ceil(8), GFP_KERNEL)?;
        AsBytes::as_bytes_mut(&mut words[..])[..data.len()].copy_from_slice(data);
        self.vp_state_pfns(code::SET_VP_STATE, head, &words)
    }

    /// `HvCallDispatchVp`: runs the VP until an event; returns (dispatch state, event).
    pub(crate) fn dispatch_vp(
        &self,
        pt: PartitionId,
        vp: VpIndex,
        flags: u32,
    ) -> Result<(u32, u32)> {
        let (pt, vp) = (pt.0, vp.0);
        let input = DispatchVpIn {
            partition_id: pt,
            vp_index: vp,
            flags,
            ..Default::default()
        };
        let out: DispatchVpOut = self.call_dispatch(code::DISPATCH_VP, &input)?;
        Ok((out.dispatch_state, out.dispatch_event))
    }
}

/// The header of the VP state calls.
fn vp_state_head(pt: u64, vp: u32, state_type: u32, xsave_states: u64) -> VpStateIn {
    VpStateIn {
        partition_id: pt,
        vp_index: vp,
        state_type,
        xsave_states,
        ..Default::default()
    }
}

/// The header of the VP register calls, for the VP's own VTL.
fn vp_registers_head(pt: u64, vp: u32) -> VpRegistersIn {
    VpRegistersIn {
        partition_id: pt,
        vp_index: vp,
        ..Default::default()
    }
}
