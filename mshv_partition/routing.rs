// SPDX-License-Identifier: GPL-2.0

//! The partition's MSI routing table: GSI to MSI address and data, replaced whole by
//! `MSHV_SET_MSI_ROUTING`.
//!
//! A table is immutable once made; the partition swaps an `Arc` to it under a spinlock, so a
//! reader holds either the old table or the new one, never a mix (upstream's irqfds cache their
//! entry under a seqcount whose broken reads could see a torn one). A reader copies the entry it
//! needs under the lock, so the lock never frees a table.

use kernel::{
    prelude::*,
    sync::Arc,
    uaccess::UserSlice, //
};

use crate::abi::uapi::{
    UserIrqEntry,
    UserIrqTable,
    MSHV_MAX_GUEST_IRQS, //
};

/// An MSI, decoded for `HvCallAssertVirtualInterrupt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Msi {
    /// The vector (data bits 7:0).
    pub(crate) vector: u32,
    /// The destination APIC ID, which is the VP index (address bits 19:12).
    pub(crate) apic_id: u32,
    /// The delivery mode (data bits 10:8).
    pub(crate) delivery: u32,
    /// Level-triggered (data bit 15).
    pub(crate) level: bool,
    /// Logical destination mode (address bit 2).
    pub(crate) logical: bool,
}

impl Msi {
    /// Decodes an MSI address (low half) and data.
    pub(crate) fn decode(address_lo: u32, data: u32) -> Self {
        Msi {
            vector: data & 0xff,
            apic_id: (address_lo >> 12) & 0xff,
            delivery: (data >> 8) & 0x7,
            level: data & (1 << 15) != 0,
            logical: address_lo & (1 << 2) != 0,
        }
    }
}

/// A routing table, indexed by GSI.
pub(crate) struct Routing {
    routes: KVVec<Option<Msi>>,
    /// The level-triggered routes as (vector, GSI), sorted: an EOI finds its GSIs by vector.
    level: KVVec<(u32, u32)>,
}

impl Routing {
    /// Reads and checks the table `MSHV_SET_MSI_ROUTING` passes at `arg`; `None` for an empty
    /// one. As upstream: more than `MSHV_MAX_GUEST_IRQS` entries, nonzero `rsvd`, a GSI out of
    /// range, a nonzero `address_hi` (no extended destination) or a GSI named twice are `EINVAL`.
    pub(crate) fn from_user(arg: usize) -> Result<Option<Arc<Self>>> {
        let ptr = UserPtr::from_addr(arg);
        let head: UserIrqTable = UserSlice::new(ptr, size_of::<UserIrqTable>())
            .reader()
            .read()?;
        if head.nr > MSHV_MAX_GUEST_IRQS || head.rsvd != 0 {
            return Err(EINVAL);
        }
        if head.nr == 0 {
            return Ok(None);
        }
        let n = head.nr as usize;
        let mut reader = UserSlice::new(
            ptr.wrapping_byte_add(size_of::<UserIrqTable>()),
            n * size_of::<UserIrqEntry>(),
        )
        .reader();
        // All entries are read before any is checked, so an unreadable table is `EFAULT`
        // whatever it holds, as upstream.
        let mut entries = KVVec::with_capacity(n, GFP_KERNEL_ACCOUNT)?;
        for _ in 0..n {
            let e: UserIrqEntry = reader.read()?;
            entries.push(e, GFP_KERNEL_ACCOUNT)?;
        }
        let mut highest = 0;
        for e in entries.iter() {
            if e.gsi >= MSHV_MAX_GUEST_IRQS || e.address_hi != 0 {
                return Err(EINVAL);
            }
            highest = highest.max(e.gsi);
        }
        let mut routes = KVVec::from_elem(None, highest as usize + 1, GFP_KERNEL_ACCOUNT)?;
        for e in entries.iter() {
            let slot = &mut routes[e.gsi as usize];
            // One route per GSI (GSI 0 included: upstream once missed its duplicates).
            if slot.is_some() {
                return Err(EINVAL);
            }
            *slot = Some(Msi::decode(e.address_lo, e.data));
        }
        let mut level = KVVec::new();
        for (gsi, msi) in routes.iter().enumerate() {
            if let Some(msi) = msi.filter(|m| m.level) {
                level.push((msi.vector, gsi as u32), GFP_KERNEL_ACCOUNT)?;
            }
        }
        level.sort_unstable();
        Ok(Some(Arc::new(
            Routing { routes, level },
            GFP_KERNEL_ACCOUNT,
        )?))
    }

    /// The level-triggered routes of `vector`: (GSI, MSI), by GSI.
    pub(crate) fn level_routes(&self, vector: u32) -> impl Iterator<Item = (u32, Msi)> + '_ {
        let first = self.level.partition_point(|&(v, _)| v < vector);
        self.level[first..]
            .iter()
            .take_while(move |&&(v, _)| v == vector)
            .filter_map(|&(_, gsi)| Some((gsi, self.lookup(gsi)?)))
    }

    /// The route of `gsi`, if any.
    pub(crate) fn lookup(&self, gsi: u32) -> Option<Msi> {
        self.routes.get(gsi as usize).copied().flatten()
    }
}

#[kunit_tests(mshv_irq)]
mod tests {
    use super::*;

    #[test]
    fn msi_decode() {
        // Vector 0x31, APIC ID 2, fixed, edge, physical.
        assert_eq!(
            Msi::decode(0xfee0_2000, 0x0031),
            Msi {
                vector: 0x31,
                apic_id: 2,
                delivery: 0,
                level: false,
                logical: false
            }
        );
        // Level-triggered, lowest priority, logical.
        let m = Msi::decode(0xfee0_1004, 0x8131);
        assert_eq!(
            (m.apic_id, m.delivery, m.level, m.logical),
            (1, 1, true, true)
        );
    }
}
