// SPDX-License-Identifier: GPL-2.0

//! The ledger of deposited pages: which PFNs this driver gave the hypervisor, and to which pool.
//!
//! The hypervisor hands PFNs back (withdrawn pages, VP state pages). They are untrusted input:
//! a page is freed only if the ledger says it was deposited to the pool it comes back from,
//! and a state page is used (read, written, mapped into a VMM) only if it was deposited to the
//! partition's pool or the root's. A PFN the ledger does not know is refused, with a log line.

use kernel::{
    new_mutex,
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNodeReservation, //
    },
    sync::Mutex,
};

/// The ledger.
#[pin_data]
pub(crate) struct Ledger {
    /// Deposited PFN -> the partition ID of the pool it went to (`HV_PARTITION_ID_SELF` for
    /// the root's).
    #[pin]
    pages: Mutex<RBTree<u64, u64>>,
}

impl Ledger {
    /// An empty ledger.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            pages <- new_mutex!(RBTree::new(), "mshv_ledger"),
        })
    }

    /// Room to record `n` deposits, allocated with `flags` (the deposit's charge), made before
    /// the pages are given away (recording then cannot fail).
    pub(crate) fn reserve(
        n: usize,
        flags: kernel::alloc::Flags,
    ) -> Result<KVec<RBTreeNodeReservation<u64, u64>>> {
        let mut nodes = KVec::with_capacity(n, flags)?;
        for _ in 0..n {
            // Cannot fail: the capacity is there.
            let _ = nodes.push_within_capacity(RBTreeNodeReservation::new(flags)?);
        }
        Ok(nodes)
    }

    /// Records that `pfns` went to the pool of `partition_id`, taking a node of `room` for each.
    pub(crate) fn record(
        &self,
        partition_id: u64,
        pfns: &[u64],
        room: &mut KVec<RBTreeNodeReservation<u64, u64>>,
    ) {
        let mut pages = self.pages.lock();
        for &pfn in pfns {
            let Some(node) = room.pop() else {
                // The caller reserved a node per page: a driver bug, said loudly.
                pr_err!("ledger: no room to record PFN {pfn:#x}\n");
                return;
            };
            if let Some(old) = pages.insert(node.into_node(pfn, partition_id)) {
                // A page cannot be deposited twice: something gave it away while it was the
                // hypervisor's.
                let (_, was) = old.to_key_value();
                pr_err!("ledger: PFN {pfn:#x} deposited to {partition_id:#x}, still recorded for {was:#x}\n");
            }
        }
    }

    /// Takes `pfn` out of the ledger if it was deposited to the pool of `partition_id`: the
    /// caller may then free it. `false` (and nothing changes) otherwise.
    pub(crate) fn take(&self, partition_id: u64, pfn: u64) -> bool {
        let mut pages = self.pages.lock();
        if pages.get(&pfn) != Some(&partition_id) {
            return false;
        }
        pages.remove(&pfn);
        true
    }

    /// Whether `pfn` was deposited to the pool of `partition_id` or to `other`'s.
    pub(crate) fn holds(&self, pfn: u64, partition_id: u64, other: u64) -> bool {
        self.pages
            .lock()
            .get(&pfn)
            .is_some_and(|&p| p == partition_id || p == other)
    }

    /// How many deposited pages the ledger records (a walk of the whole tree).
    #[cfg_attr(not(mshv_sim), expect(dead_code))]
    pub(crate) fn count(&self) -> usize {
        self.pages.lock().iter().count()
    }
}
