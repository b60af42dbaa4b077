// SPDX-License-Identifier: GPL-2.0

//! Memory for the hypervisor: what a shortage status asks for, depositing (zeroed, accounted,
//! recorded in the ledger), retrying a call after a deposit, and withdrawing at teardown.

use kernel::{
    page::Page,
    prelude::*, //
};

use super::{
    ledger::Ledger,
    Hv,
    HvError, //
};
use crate::{
    abi::hv::{
        code,
        status,
        PartitionId,
        HV_PAGE_SIZE,
        HV_PARTITION_ID_SELF, //
    },
    glue::{
        self,
        Charge, //
    },
};

/// How many times one hypercall may be retried after depositing memory. Each round deposits
/// twice the previous amount, so the bound is reached only when the hypervisor keeps asking
/// after about a thousand pages (4 MiB) for one call.
pub(crate) const MAX_DEPOSIT_ROUNDS: u32 = 10;

/// The most pages one `HvCallDepositMemory` carries: a page of PFNs after the partition ID.
pub(crate) const DEPOSIT_MAX_PAGES: usize = (HV_PAGE_SIZE - 8) / 8;

/// What a shortage status asks for: which pool, how many pages, contiguous or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shortage {
    /// The partition whose pool to deposit to.
    pub(crate) partition_id: u64,
    /// Pages for the first round (doubled on each further round).
    pub(crate) pages: usize,
    /// Whether the pages must come in physically contiguous blocks of 8.
    pub(crate) contiguous: bool,
}

impl Shortage {
    /// What `status` asks for, for a call whose own memory comes from `partition_id`'s pool;
    /// `None` when the status is not a shortage.
    pub(crate) fn of(status: u16, partition_id: u64) -> Option<Self> {
        let (partition_id, pages, contiguous) = match status {
            status::INSUFFICIENT_MEMORY => (partition_id, 1, false),
            status::INSUFFICIENT_CONTIGUOUS_MEMORY => (partition_id, 8, true),
            status::INSUFFICIENT_ROOT_MEMORY => (HV_PARTITION_ID_SELF, 1, false),
            status::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY => (HV_PARTITION_ID_SELF, 8, true),
            _ => return None,
        };
        Some(Self {
            partition_id,
            pages,
            contiguous,
        })
    }

    /// The pages to deposit in round `round` (0-based).
    pub(crate) fn pages_in_round(self, round: u32) -> usize {
        self.pages
            .checked_shl(round)
            .unwrap_or(DEPOSIT_MAX_PAGES)
            .min(DEPOSIT_MAX_PAGES)
    }
}

impl Hv {
    /// Deposits `n` (at most [`DEPOSIT_MAX_PAGES`]) new pages into `partition_id`'s pool; with
    /// `contiguous`, in physically contiguous blocks of 8. The pages are zeroed, recorded in the
    /// ledger, and charged to the caller's memory cgroup, but for the root's own pool: what it
    /// holds serves every partition and is never withdrawn.
    pub(crate) fn deposit(&self, partition_id: u64, n: usize, contiguous: bool) -> Result {
        let n = n.min(DEPOSIT_MAX_PAGES);
        // Contiguous pages come in whole blocks of 8.
        let n = if contiguous { (n / 8).max(1) * 8 } else { n };
        let charge = if partition_id == HV_PARTITION_ID_SELF {
            Charge::Shared
        } else {
            Charge::Caller
        };
        // Room for every PFN and its ledger entry first, so nothing can fail once pages are
        // allocated.
        let mut pfns = KVec::with_capacity(n, GFP_KERNEL_ACCOUNT)?;
        let mut room = Ledger::reserve(n, charge.flags())?;
        while pfns.len() < n {
            let allocated = if contiguous {
                glue::alloc_block_of_8(charge).map(|block| {
                    for pfn in block {
                        let _ = pfns.push_within_capacity(pfn);
                    }
                })
            } else {
                Page::alloc_page(charge.flags() | __GFP_ZERO)
                    .map(|p| {
                        let _ = pfns.push_within_capacity(glue::give_page(p));
                    })
                    .map_err(Error::from)
            };
            if let Err(e) = allocated {
                for &pfn in &pfns {
                    // SAFETY: These pages were allocated above and not deposited.
                    unsafe { glue::free_given_page(pfn) };
                }
                return Err(e);
            }
        }
        // Recorded first: a page the hypervisor hands out (as a state page, to a VP of another
        // thread) or back the moment it took it is the ledger's already.
        self.ledger.record(partition_id, &pfns, &mut room);
        let head = crate::abi::hv::PartitionIdIn { partition_id };
        let count = pfns.len();
        let (done, result) =
            self.rep::<_, _, u64>(code::DEPOSIT_MEMORY, &head, &[], &pfns, &mut [], 0..count);
        // The hypervisor owns what it took; the rest is ours to free.
        for &pfn in &pfns[done.min(count)..] {
            if self.ledger.take(partition_id, pfn) {
                // SAFETY: These pages were allocated above and not taken by the hypervisor.
                unsafe { glue::free_given_page(pfn) };
            }
        }
        result.map_err(|e| {
            pr_err!(
                "depositing {n} pages to partition {partition_id:#x} failed: status {:#x}\n",
                e.0
            );
            e.to_errno()
        })
    }

    /// Whether `pfn` may be a state page of partition `pt`'s VPs: a page deposited to its pool
    /// or to the root's. Anything else the hypervisor names is not the driver's to touch.
    pub(crate) fn is_deposited(&self, pt: u64, pfn: u64) -> bool {
        self.ledger.holds(pfn, pt, HV_PARTITION_ID_SELF)
    }

    /// Pages the ledger records as deposited (the simulator's tests compare it with its
    /// pools).
    #[cfg(mshv_sim)]
    pub(crate) fn deposited_pages(&self) -> usize {
        self.ledger.count()
    }

    /// Runs `op` and, while the hypervisor answers with a memory shortage, deposits and runs it
    /// again: at most [`MAX_DEPOSIT_ROUNDS`] times. `partition_id` names the pool the call
    /// draws from (`HV_PARTITION_ID_SELF` for the root's own).
    pub(crate) fn with_deposits<T>(
        &self,
        partition_id: u64,
        what: &str,
        op: impl FnMut(&Self) -> Result<T, HvError>,
    ) -> Result<T> {
        self.with_deposits_from(partition_id, what, 0, op)
    }

    /// As [`Hv::with_deposits`], depositing at least `first` pages in the first round: for calls
    /// known to need many (mapping guest memory: upstream deposits 256 pages).
    pub(crate) fn with_deposits_from<T>(
        &self,
        partition_id: u64,
        what: &str,
        first: usize,
        mut op: impl FnMut(&Self) -> Result<T, HvError>,
    ) -> Result<T> {
        for round in 0..=MAX_DEPOSIT_ROUNDS {
            let e = match op(self) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let Some(short) = Shortage::of(e.status(), partition_id) else {
                return Err(e.to_errno());
            };
            if round == MAX_DEPOSIT_ROUNDS {
                break;
            }
            let pages = Shortage {
                pages: short.pages.max(first),
                ..short
            }
            .pages_in_round(round);
            self.deposit(short.partition_id, pages, short.contiguous)?;
        }
        pr_err!(
            "{what}: the hypervisor is still short of memory after {MAX_DEPOSIT_ROUNDS} deposits; giving up\n"
        );
        Err(ENOMEM)
    }

    /// Withdraws every free page of `partition_id`'s pool and frees it; returns how many were
    /// freed (pages the ledger does not know are left alone).
    pub(crate) fn withdraw_all(&self, partition_id: PartitionId) -> Result<usize> {
        let partition_id = partition_id.0;
        const BATCH: usize = HV_PAGE_SIZE / 8;
        let head = crate::abi::hv::MemoryPoolIn {
            partition_id,
            proximity_domain_info: 0,
        };
        let mut pfns = KVec::from_elem(0u64, BATCH, GFP_KERNEL)?;
        let mut total = 0;
        loop {
            let (done, result) =
                self.rep::<_, u64, _>(code::WITHDRAW_MEMORY, &head, &[], &[], &mut pfns, 0..BATCH);
            for &pfn in &pfns[..done] {
                // Only a page deposited to this pool is freed: the hypervisor's word is not
                // enough.
                if !self.ledger.take(partition_id, pfn) {
                    pr_err!(
                        "withdraw: the hypervisor returned PFN {pfn:#x}, which this driver never deposited to partition {partition_id:#x}; left alone\n"
                    );
                    continue;
                }
                // SAFETY: The ledger recorded the page as allocated by this driver and given to
                // this pool, and took it out: it is ours again, once.
                unsafe { glue::free_given_page(pfn) };
                total += 1;
            }
            glue::cond_resched();
            match result {
                // An empty pool ends the withdrawal.
                Err(HvError(status::NO_RESOURCES)) => return Ok(total),
                Err(e) => return Err(e.to_errno()),
                Ok(()) if done < BATCH => return Ok(total),
                Ok(()) => {}
            }
        }
    }
}
