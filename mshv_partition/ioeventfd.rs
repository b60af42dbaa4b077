// SPDX-License-Identifier: GPL-2.0

//! ioeventfds: an eventfd signalled by the guest's write to an address, instead of an exit to
//! userspace.
//!
//! Upstream connects a hypervisor doorbell port per MMIO ioeventfd and has no port I/O. Here the
//! write is matched where it is intercepted: `MSHV_RUN_VP` looks an I/O-port or MMIO write up in
//! the partition's table, signals the eventfd, moves the VP past the instruction and runs it on,
//! as KVM does. Port I/O works the same (`MSHV_CAP_IOEVENTFD_PIO`).

use core::sync::atomic::Ordering;

use kernel::{
    prelude::*,
    sync::MutexGuard, //
};

use super::Partition;
use crate::{
    abi::uapi::{
        ioeventfd as flag,
        limits::MAX_IOEVENTFDS,
        UserIoeventfd, //
    },
    glue::{
        self,
        irqfd::EventfdCtx, //
    },
};

/// Where a guest write goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Bus {
    /// Guest physical memory (an MMIO store).
    Mmio,
    /// An I/O port (`out`).
    Pio,
}

/// The highest I/O port.
const PORT_MAX: u64 = 0xffff;

/// One ioeventfd.
pub(crate) struct Ioeventfd {
    /// An I/O port, not a guest physical address.
    bus: Bus,
    addr: u64,
    /// Bytes a write must have; 0 for any.
    len: u32,
    /// The value a write must have; `None` for any.
    datamatch: Option<u64>,
    ctx: EventfdCtx,
}

impl Ioeventfd {
    /// Signals the eventfd.
    pub(crate) fn signal(&self) {
        self.ctx.signal();
    }

    /// Whether a write of `size` bytes to `addr` could be this one's (whatever its value).
    fn covers(&self, bus: Bus, addr: u64, size: u32) -> bool {
        self.bus == bus && self.addr == addr && (self.len == 0 || self.len == size)
    }

    /// Whether `other` would answer a write this one answers (KVM's collision rule).
    fn collides(&self, other: &Ioeventfd) -> bool {
        self.bus == other.bus
            && self.addr == other.addr
            && (self.len == 0
                || other.len == 0
                || (self.len == other.len
                    && match (self.datamatch, other.datamatch) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }))
    }
}

/// A partition's ioeventfds, sorted by (port or memory, address): a write is looked up by binary
/// search, however many there are.
#[derive(Default)]
pub(crate) struct Table {
    entries: KVec<Ioeventfd>,
}

impl Table {
    /// How many ioeventfds there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The ioeventfds at `addr` on `bus`.
    fn at(&self, bus: Bus, addr: u64) -> &[Ioeventfd] {
        let lo = self
            .entries
            .partition_point(|e| (e.bus, e.addr) < (bus, addr));
        let n = self.entries[lo..].partition_point(|e| (e.bus, e.addr) == (bus, addr));
        &self.entries[lo..lo + n]
    }

    /// `MSHV_IOEVENTFD`: assigns or deassigns as `a` says.
    pub(crate) fn ioctl(&mut self, a: &UserIoeventfd) -> Result {
        if a.flags & !flag::FLAGS_MASK != 0 || a.rsvd != [0; 4] {
            return Err(EINVAL);
        }
        let bus = if a.flags & flag::PIO != 0 {
            Bus::Pio
        } else {
            Bus::Mmio
        };
        // With `len` 0 a value is matched against a write of any size, as upstream's doorbells
        // do (KVM refuses it).
        let datamatch = (a.flags & flag::DATAMATCH != 0).then_some(a.datamatch);
        if a.flags & flag::DEASSIGN != 0 {
            // As upstream: the fields are not checked, an ioeventfd that matches them all goes
            // (`ENOENT` when none does; a length or address no assign accepts matches none).
            let ctx = EventfdCtx::get(a.fd)?;
            let i = self
                .at(bus, a.addr)
                .iter()
                .position(|o| o.ctx.same(&ctx) && o.len == a.len && o.datamatch == datamatch)
                .ok_or(ENOENT)?;
            let first = self
                .entries
                .partition_point(|e| (e.bus, e.addr) < (bus, a.addr));
            drop(self.entries.remove(first + i)?);
            return Ok(());
        }
        if !matches!(a.len, 0 | 1 | 2 | 4 | 8) || a.addr.checked_add(u64::from(a.len)).is_none() {
            return Err(EINVAL);
        }
        // A port write has 1, 2 or 4 bytes, to a 16-bit port.
        if bus == Bus::Pio && (a.len == 8 || a.addr > PORT_MAX) {
            return Err(EINVAL);
        }
        let e = Ioeventfd {
            bus,
            addr: a.addr,
            len: a.len,
            datamatch,
            ctx: EventfdCtx::get(a.fd)?,
        };
        if self.at(bus, a.addr).iter().any(|o| o.collides(&e)) {
            return Err(EEXIST);
        }
        if self.entries.len() >= MAX_IOEVENTFDS as usize {
            kernel::pr_info_once!(
                "a partition has {MAX_IOEVENTFDS} ioeventfds, its limit (MSHV_CAP_NR_IOEVENTFDS): ENOSPC\n"
            );
            return Err(ENOSPC);
        }
        let i = self
            .entries
            .partition_point(|o| (o.bus, o.addr) <= (bus, a.addr));
        self.entries.reserve(1, GFP_KERNEL_ACCOUNT)?;
        // Cannot fail: room was reserved.
        self.entries
            .insert_within_capacity(i, e)
            .map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// Whether some ioeventfd could answer a write of `size` bytes to `addr`, and whether it
    /// needs the written value to tell.
    pub(crate) fn wants(&self, bus: Bus, addr: u64, size: u32) -> Option<bool> {
        let mut found = None;
        for e in self
            .at(bus, addr)
            .iter()
            .filter(|e| e.covers(bus, addr, size))
        {
            found = Some(found.unwrap_or(false) || e.datamatch.is_some());
        }
        found
    }

    /// The ioeventfd a write of `value` (`size` bytes, higher bits ignored) to `addr` matches.
    pub(crate) fn find(&self, bus: Bus, addr: u64, size: u32, value: u64) -> Option<&Ioeventfd> {
        let mask = if size >= 8 {
            u64::MAX
        } else {
            (1u64 << (size * 8)) - 1
        };
        let value = value & mask;
        self.at(bus, addr)
            .iter()
            .find(|e| e.covers(bus, addr, size) && e.datamatch.is_none_or(|d| d == value))
    }
}

impl Partition {
    /// `MSHV_IOEVENTFD`: assigns or deassigns an ioeventfd.
    pub(super) fn ioeventfd(&self, a: &UserIoeventfd) -> Result {
        let mut table = glue::lock_killable(&self.ioeventfds)?;
        let r = table.ioctl(a);
        self.ioeventfd_count.store(table.len(), Ordering::Relaxed);
        r
    }

    /// The ioeventfd table, for the run loop to match an intercepted write against; `None` while
    /// the partition has no ioeventfd, so a write exit of such a partition takes no lock (a
    /// write racing the first assign may exit to userspace, as it would a moment earlier).
    pub(crate) fn ioeventfds(&self) -> Result<Option<MutexGuard<'_, Table>>> {
        if self.ioeventfd_count.load(Ordering::Relaxed) == 0 {
            return Ok(None);
        }
        glue::lock_killable(&self.ioeventfds).map(Some)
    }
}
