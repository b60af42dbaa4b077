// SPDX-License-Identifier: GPL-2.0

//! Typed hypercalls: one method per call the driver makes. Inputs are built here and nowhere
//! else; long lists are split into batches that fit the input page; calls that draw on the
//! hypervisor's memory pool are wrapped in deposit-and-retry. The partition's and guest
//! memory's calls are here, the VP's in [`vp`].

use kernel::prelude::*;

use super::{
    Hv,
    Shortage, //
};
use crate::abi::hv::{
    code,
    map_flags,
    AssertInterruptIn,
    CreatePartitionIn,
    GpaAccessStatesIn,
    GpaPagesIn,
    InstallInterceptIn,
    PageSize,
    PartitionId,
    PartitionPropertyExIn,
    PartitionPropertyIn,
    SystemPropertyIn,
    VmmCapabilities,
    HV_PAGE_SIZE,
    HV_PARTITION_ID_SELF,
    PAGES_PER_LARGE_PAGE, //
};

/// PFNs per `HvCallMapGpaPages`: a page of them after the 24-byte header (509).
pub(crate) const MAP_GPA_BATCH: usize = (HV_PAGE_SIZE - 24) / 8;
/// Pages deposited at the first shortage of `HvCallMapGpaPages` (upstream's
/// `HV_MAP_GPA_DEPOSIT_PAGES`): mapping needs many, one page at a time would double the calls.
pub(crate) const MAP_GPA_DEPOSIT: usize = 256;
/// Pages per `HvCallUnmapGpaPages` and per `HvCallGetGpaPagesAccessStates`: the rep field's
/// limit (no input list; one output byte per page).
pub(crate) const REP_BATCH: usize = 0xfff;
/// The compatibility version the driver asks for (`HV_COMPATIBILITY_21_H2`: 0x6 << 8 | 0x9).
const COMPATIBILITY_VERSION: u32 = 0x609;

mod vp;

/// Why a map that may not deposit failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MapError {
    /// The hypervisor is short of memory: deposit as this says, then try again.
    Short(Shortage),
    /// Any other failure.
    Failed(Error),
}

impl Hv {
    /// `HvCallCreatePartition`; the root pays for the partition object. Returns its ID.
    pub(crate) fn create_partition(
        &self,
        flags: u64,
        disabled_processor_features: [u64; 2],
        disabled_processor_xsave_features: u64,
    ) -> Result<PartitionId> {
        let input = CreatePartitionIn {
            flags,
            compatibility_version: COMPATIBILITY_VERSION,
            disabled_processor_features,
            disabled_processor_xsave_features,
            ..Default::default()
        };
        self.with_deposits(HV_PARTITION_ID_SELF, "create partition", |hv| {
            hv.call_out::<_, u64>(code::CREATE_PARTITION, &input)
        })
        .map(PartitionId)
    }

    /// `HvCallInitializePartition` (fast).
    pub(crate) fn initialize_partition(&self, pt: PartitionId) -> Result {
        let pt = pt.0;
        self.with_deposits(pt, "initialize partition", |hv| {
            hv.fast8(code::INITIALIZE_PARTITION, pt)
        })
    }

    /// `HvCallFinalizePartition` (fast): releases everything inside the partition.
    pub(crate) fn finalize_partition(&self, pt: PartitionId) -> Result {
        let pt = pt.0;
        Ok(self.fast8(code::FINALIZE_PARTITION, pt)?)
    }

    /// `HvCallDeletePartition` (fast).
    pub(crate) fn delete_partition(&self, pt: PartitionId) -> Result {
        let pt = pt.0;
        Ok(self.fast8(code::DELETE_PARTITION, pt)?)
    }

    /// `HvCallGetPartitionProperty`.
    pub(crate) fn get_partition_property(&self, pt: PartitionId, property: u32) -> Result<u64> {
        let pt = pt.0;
        let input = PartitionPropertyIn {
            partition_id: pt,
            property_code: property,
            ..Default::default()
        };
        Ok(self.call_out::<_, u64>(code::GET_PARTITION_PROPERTY, &input)?)
    }

    /// `HvCallGetPartitionPropertyEx` of a 64-bit property.
    pub(crate) fn get_partition_property_ex(&self, pt: PartitionId, property: u32) -> Result<u64> {
        let input = PartitionPropertyExIn {
            partition_id: pt.0,
            property_code: property,
            ..Default::default()
        };
        Ok(self.call_out::<_, u64>(code::GET_PARTITION_PROPERTY_EX, &input)?)
    }

    /// The caller's VMM capabilities (`HvCallGetPartitionPropertyEx`).
    pub(crate) fn vmm_capabilities(&self) -> Result<VmmCapabilities> {
        let input = PartitionPropertyExIn {
            partition_id: HV_PARTITION_ID_SELF,
            property_code: crate::abi::hv::property::VMM_CAPABILITIES,
            ..Default::default()
        };
        Ok(self.call_out(code::GET_PARTITION_PROPERTY_EX, &input)?)
    }

    /// `HvCallGetSystemProperty` of a 32-bit property (the scheduler type).
    pub(crate) fn get_system_property(&self, property: u32) -> Result<u32> {
        let input = SystemPropertyIn {
            property_id: property,
            ..Default::default()
        };
        Ok(self.call_out::<_, u32>(code::GET_SYSTEM_PROPERTY, &input)?)
    }

    /// `HvCallSetPartitionProperty`.
    // Only the simulator's KUnit suite calls it so far (VMMs reach it through MSHV_ROOT_HVCALL).
    #[cfg_attr(not(all(mshv_sim, CONFIG_KUNIT = "y")), expect(dead_code))]
    pub(crate) fn set_partition_property(
        &self,
        pt: PartitionId,
        property: u32,
        value: u64,
    ) -> Result {
        let pt = pt.0;
        let input = PartitionPropertyIn {
            partition_id: pt,
            property_code: property,
            padding: 0,
            property_value: value,
        };
        self.with_deposits(pt, "set partition property", |hv| {
            hv.call(code::SET_PARTITION_PROPERTY, &input)
        })
    }

    /// `HvCallMapGpaPages`: maps `pfns` at `gfn` with `flags`. With `LARGE_PAGE` each PFN heads a
    /// 2M page (and `gfn` is 2M-aligned). All or nothing: on failure what was mapped is unmapped.
    pub(crate) fn map_gpa_pages(
        &self,
        pt: PartitionId,
        gfn: u64,
        flags: u32,
        pfns: &[u64],
    ) -> Result {
        let pt = pt.0;
        self.map_gpa(pt, gfn, flags, pfns, true)
            .map_err(|e| match e {
                MapError::Short(_) => ENOMEM,
                MapError::Failed(e) => e,
            })
    }

    /// As [`Hv::map_gpa_pages`], but never allocating: a hypervisor short of memory is
    /// [`MapError::Short`], for the caller to deposit (with [`Hv::deposit`]) once it may
    /// allocate, and try again. For callers holding a lock that memory reclaim takes (a movable
    /// region's, which its MMU notifier takes).
    pub(crate) fn map_gpa_pages_nodeposit(
        &self,
        pt: PartitionId,
        gfn: u64,
        flags: u32,
        pfns: &[u64],
    ) -> Result<(), MapError> {
        let pt = pt.0;
        self.map_gpa(pt, gfn, flags, pfns, false)
    }

    fn map_gpa(
        &self,
        pt: u64,
        gfn: u64,
        flags: u32,
        pfns: &[u64],
        deposit: bool,
    ) -> Result<(), MapError> {
        let large = flags & map_flags::LARGE_PAGE != 0;
        let step = if large { PAGES_PER_LARGE_PAGE } else { 1 };
        let mut mapped = 0u64;
        for batch in pfns.chunks(MAP_GPA_BATCH) {
            let head = GpaPagesIn {
                partition_id: pt,
                target_gpa_base: gfn + mapped * step,
                flags,
                padding: 0,
            };
            let count = batch.len();
            let mut done = 0;
            let mut op = |hv: &Self| {
                let (d, r) = hv.rep::<_, _, u64>(
                    code::MAP_GPA_PAGES,
                    &head,
                    &[],
                    batch,
                    &mut [],
                    done..count,
                );
                done = d;
                r
            };
            let r = if deposit {
                self.with_deposits_from(pt, "map GPA pages", MAP_GPA_DEPOSIT, op)
                    .map_err(MapError::Failed)
            } else {
                op(self).map_err(|e| match Shortage::of(e.status(), pt) {
                    Some(s) => MapError::Short(s),
                    None => MapError::Failed(e.to_errno()),
                })
            };
            mapped += done as u64;
            if let Err(e) = r {
                if mapped != 0 {
                    // Best effort: the caller sees all or nothing.
                    let size = if large {
                        PageSize::Large
                    } else {
                        PageSize::Small
                    };
                    let _ = self.unmap_gpa_pages(PartitionId(pt), gfn, mapped, size);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// `HvCallUnmapGpaPages`: `count` pages of `size` from `gfn`. Between batches
    /// of [`REP_BATCH`] it yields the CPU: a caller that may not sleep (an MMU notifier's
    /// invalidation) passes at most that many.
    pub(crate) fn unmap_gpa_pages(
        &self,
        pt: PartitionId,
        gfn: u64,
        count: u64,
        size: PageSize,
    ) -> Result {
        let pt = pt.0;
        let step = size.small_pages();
        let mut done_total = 0u64;
        while done_total < count {
            let n = (count - done_total).min(REP_BATCH as u64) as usize;
            let head = GpaPagesIn {
                partition_id: pt,
                target_gpa_base: gfn + done_total * step,
                flags: if size == PageSize::Large {
                    map_flags::UNMAP_LARGE_PAGE
                } else {
                    0
                },
                padding: 0,
            };
            let (_, r) =
                self.rep::<_, u64, u64>(code::UNMAP_GPA_PAGES, &head, &[], &[], &mut [], 0..n);
            r?;
            done_total += n as u64;
            if done_total < count {
                crate::glue::cond_resched();
            }
        }
        Ok(())
    }

    /// `HvCallInstallIntercept`.
    // Only the simulator's KUnit suite calls it so far (VMMs reach it through MSHV_ROOT_HVCALL).
    #[cfg_attr(not(all(mshv_sim, CONFIG_KUNIT = "y")), expect(dead_code))]
    pub(crate) fn install_intercept(
        &self,
        pt: PartitionId,
        access: u32,
        kind: u32,
        parameter: u64,
    ) -> Result {
        let pt = pt.0;
        let input = InstallInterceptIn {
            partition_id: pt,
            access_type: access,
            intercept_type: kind,
            parameter,
        };
        self.with_deposits(pt, "install intercept", |hv| {
            hv.call(code::INSTALL_INTERCEPT, &input)
        })
    }

    /// `HvCallAssertVirtualInterrupt`: `vector` to the VP with APIC ID `dest`.
    pub(crate) fn assert_virtual_interrupt(
        &self,
        pt: PartitionId,
        interrupt_type: u32,
        control_flags: u32,
        dest: u64,
        vector: u32,
    ) -> Result {
        let pt = pt.0;
        let input = AssertInterruptIn {
            partition_id: pt,
            interrupt_type,
            control_flags,
            dest_addr: dest,
            vector,
            ..Default::default()
        };
        Ok(self.call(code::ASSERT_VIRTUAL_INTERRUPT, &input)?)
    }

    /// `HvCallGetGpaPagesAccessStates`: one state byte per page from `gfn` into `states`, then
    /// the bits are changed as `flags` says.
    pub(crate) fn get_gpa_access_states(
        &self,
        pt: PartitionId,
        gfn: u64,
        flags: u64,
        states: &mut [u8],
    ) -> Result {
        let pt = pt.0;
        for (i, batch) in states.chunks_mut(REP_BATCH).enumerate() {
            let head = GpaAccessStatesIn {
                partition_id: pt,
                flags,
                gpa_page_number: gfn.checked_add((i * REP_BATCH) as u64).ok_or(EINVAL)?,
            };
            let count = batch.len();
            self.rep::<_, u64, _>(
                code::GET_GPA_PAGES_ACCESS_STATES,
                &head,
                &[],
                &[],
                batch,
                0..count,
            )
            .1?;
        }
        Ok(())
    }
}
