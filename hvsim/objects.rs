// SPDX-License-Identifier: GPL-2.0

//! What the simulated hypervisor holds: partitions in their states, their VPs, and the memory
//! pools deposits fill.

use kernel::prelude::*;

use super::gpa::GpaMap;
use crate::abi::hv::{
    status,
    vp_state_page,
    HV_PAGE_SIZE, //
};

/// Partition states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Created, not initialized: early properties may be set.
    Created,
    /// Initialized: VPs and memory may be added.
    Initialized,
    /// Finalized: everything inside is released; only withdraw and delete remain.
    Finalized,
}

/// A pool of deposited pages.
#[derive(Default)]
pub(crate) struct Pool {
    /// Every deposited page not handed out as a state page.
    pub(super) pfns: KVec<u64>,
    /// How many of them objects use.
    pub(super) used: usize,
}

impl Pool {
    /// Adds a deposited page.
    pub(super) fn deposit(&mut self, pfn: u64) -> Result<(), u16> {
        self.pfns
            .push(pfn, GFP_ATOMIC)
            .map_err(|_| status::INSUFFICIENT_MEMORY)
    }

    /// Charges `n` pages to an object.
    pub(super) fn charge(&mut self, n: usize) -> Result<(), u16> {
        if self.pfns.len() - self.used < n {
            return Err(status::INSUFFICIENT_MEMORY);
        }
        self.used += n;
        Ok(())
    }

    /// Releases `n` pages an object was charged.
    pub(super) fn release(&mut self, n: usize) {
        self.used -= n.min(self.used);
    }

    /// Takes a free page out of the pool (to hand out as a state page).
    pub(super) fn take(&mut self) -> Result<u64, u16> {
        if self.pfns.len() == self.used {
            return Err(status::INSUFFICIENT_MEMORY);
        }
        self.pfns.pop().ok_or(status::INSUFFICIENT_MEMORY)
    }

    /// Withdraws a free page, if any.
    pub(super) fn withdraw(&mut self) -> Option<u64> {
        if self.pfns.len() > self.used {
            self.pfns.pop()
        } else {
            None
        }
    }
}

/// A VP.
pub(crate) struct Vp {
    /// Registers that were set, by name.
    pub(super) regs: KVec<(u32, crate::abi::hv::HvRegisterValue)>,
    /// Mapped state pages (register page, intercept message page), by type.
    pub(super) state_pages: [Option<u64>; vp_state_page::COUNT as usize],
    /// Interrupt vectors asserted and not yet taken.
    pub(super) pending: KVec<u32>,
    /// The level-triggered ones among them: their EOI is reported to the root.
    pub(super) level: KVec<u32>,
    /// PFN-passed VP states (LAPIC, XSAVE, SIM, SIEF), once set.
    pub(super) states: [Option<KBox<[u8; HV_PAGE_SIZE]>>; 4],
    /// Stopped on an intercept: the next dispatch must clear the intercept suspend.
    pub(super) suspended: bool,
    /// Blocked in `hlt` with interrupts enabled, until an interrupt is asserted.
    pub(super) halted: bool,
    /// The synthetic timers' state (`struct hv_synthetic_timers_state`).
    pub(super) timers: [u8; TIMERS_STATE_SIZE],
}

/// Bytes of `struct hv_synthetic_timers_state`.
pub(crate) const TIMERS_STATE_SIZE: usize = crate::abi::hv::SYNTHETIC_TIMERS_STATE_SIZE;

impl Default for Vp {
    fn default() -> Self {
        Vp {
            regs: KVec::new(),
            state_pages: [None; vp_state_page::COUNT as usize],
            pending: KVec::new(),
            level: KVec::new(),
            states: [None, None, None, None],
            suspended: false,
            halted: false,
            timers: [0; TIMERS_STATE_SIZE],
        }
    }
}

impl Vp {
    /// The value of register `name` (0 until set).
    pub(crate) fn register(&self, name: u32) -> crate::abi::hv::HvRegisterValue {
        if name == crate::abi::hv::reg::INTERCEPT_SUSPEND {
            return crate::abi::hv::HvRegisterValue {
                low: u64::from(self.suspended),
                high: 0,
            };
        }
        self.regs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }

    /// Stores a register value.
    pub(crate) fn set_register(
        &mut self,
        name: u32,
        value: crate::abi::hv::HvRegisterValue,
    ) -> Result<(), u16> {
        if name == crate::abi::hv::reg::INTERCEPT_SUSPEND {
            self.suspended = value.low & 1 != 0;
            return Ok(());
        }
        match self.regs.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self
                .regs
                .push((name, value), GFP_ATOMIC)
                .map_err(|_| status::INSUFFICIENT_MEMORY)?,
        }
        Ok(())
    }
}

/// A partition.
pub(crate) struct Partition {
    pub(super) state: State,
    pub(super) pool: Pool,
    pub(super) props: KVec<(u32, u64)>,
    pub(super) vps: KVec<Option<KBox<Vp>>>,
    pub(super) gpa: GpaMap,
    pub(super) intercepts: KVec<crate::abi::hv::InstallInterceptIn>,
}

impl Partition {
    /// Releases everything inside the partition (finalize).
    pub(super) fn release_all(&mut self) {
        for vp in self.vps.iter_mut().filter_map(|v| v.take()) {
            for pfn in vp.state_pages.into_iter().flatten() {
                // The page came out of this vector, which kept its capacity: no allocation.
                let _ = self.pool.pfns.push_within_capacity(pfn);
            }
        }
        self.gpa.clear();
        self.intercepts.clear();
        self.pool.used = 0;
    }
}
