// SPDX-License-Identifier: GPL-2.0

//! The simulated GPA map of a partition: one entry per 4K guest page, kept in chunks of 512
//! (one 2M region each), freed when their last entry is unmapped.
//!
//! Pool pages are charged as second-level tables would cost a hypervisor: a page directory
//! page for each 1 GiB with anything mapped, and a page table page for each 2M with 4K pages
//! mapped (a 2M page is one directory entry and needs no table of its own).

use kernel::{
    prelude::*,
    rbtree::RBTree, //
};

use super::Pool;
use crate::abi::hv::{
    access_flags,
    access_state,
    map_flags,
    status, //
};

/// Entries per chunk.
const CHUNK: u64 = 512;
/// Chunks per page directory (1 GiB).
const CHUNKS_PER_DIR: u64 = 512;
/// The GPA space: 52 address bits.
pub(super) const GFN_LIMIT: u64 = 1 << 40;

/// Entry layout: PFN in bits 39:0, permission flags in 47:40, accessed and dirty in 48 and 49,
/// mapped in 63.
const PFN_MASK: u64 = (1 << 40) - 1;
const FLAGS_SHIFT: u32 = 40;
const ACCESSED: u64 = 1 << 48;
const DIRTY: u64 = 1 << 49;
const MAPPED: u64 = 1 << 63;

/// `HV_MAP_GPA_*` flags kept per entry, in the order of their entry bits.
const KEPT_FLAGS: [u32; 8] = [
    map_flags::READABLE,
    map_flags::WRITABLE,
    map_flags::KERNEL_EXECUTABLE,
    map_flags::USER_EXECUTABLE,
    map_flags::NO_ACCESS,
    map_flags::NOT_CACHED,
    map_flags::LARGE_PAGE,
    map_flags::ADJUSTABLE,
];

fn pack_flags(flags: u32) -> u64 {
    KEPT_FLAGS
        .iter()
        .enumerate()
        .filter(|(_, f)| flags & **f != 0)
        .fold(0, |acc, (i, _)| acc | (1 << i))
}

fn unpack_flags(e: u64) -> u32 {
    let bits = (e >> FLAGS_SHIFT) & 0xff;
    KEPT_FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .fold(0, |acc, (_, f)| acc | f)
}

/// Whether an entry is a mapped 4K page (not part of a 2M page).
fn is_small(e: u64) -> bool {
    e & MAPPED != 0 && unpack_flags(e) & map_flags::LARGE_PAGE == 0
}

/// A 2M region's entries.
struct Chunk {
    e: KBox<[u64; CHUNK as usize]>,
    mapped: u16,
    /// Entries mapped as 4K pages: while there are any, the chunk holds a page table page.
    small: u16,
    /// Entries with the accessed or dirty bit: a chunk without any answers its access states
    /// at once.
    touched: u16,
}

/// The GPA map.
#[derive(Default)]
pub(crate) struct GpaMap {
    chunks: RBTree<u64, Chunk>,
    /// Chunks in each 1 GiB: while there are any, it holds a page directory page.
    dirs: RBTree<u64, u32>,
    mapped: u64,
}

impl GpaMap {
    /// Pages mapped.
    pub(crate) fn mapped(&self) -> u64 {
        self.mapped
    }

    /// Drops every entry (finalize; the pool is released wholesale by the caller).
    pub(crate) fn clear(&mut self) {
        self.chunks = RBTree::new();
        self.dirs = RBTree::new();
        self.mapped = 0;
    }

    /// Makes chunk `key` (empty), charging a directory page if its 1 GiB had no chunk.
    fn add_chunk(&mut self, key: u64, pool: &mut Pool) -> Result<(), u16> {
        let dir = key / CHUNKS_PER_DIR;
        if self.dirs.get(&dir).is_none() {
            pool.charge(1)?;
            if self.dirs.try_create_and_insert(dir, 0, GFP_ATOMIC).is_err() {
                pool.release(1);
                return Err(status::INSUFFICIENT_MEMORY);
            }
        }
        let made = KBox::init(pin_init::init_zeroed(), GFP_ATOMIC)
            .map_err(|_| status::INSUFFICIENT_MEMORY)
            .and_then(|e| {
                let c = Chunk {
                    e,
                    mapped: 0,
                    small: 0,
                    touched: 0,
                };
                self.chunks
                    .try_create_and_insert(key, c, GFP_ATOMIC)
                    .map_err(|_| status::INSUFFICIENT_MEMORY)
            });
        // PANIC: The directory was found or inserted above.
        let count = self.dirs.get_mut(&dir).expect("directory exists");
        match made {
            Ok(_) => {
                *count += 1;
                Ok(())
            }
            Err(s) => {
                if *count == 0 {
                    self.dirs.remove(&dir);
                    pool.release(1);
                }
                Err(s)
            }
        }
    }

    /// Drops chunk `key` (its table page already released), and its directory page with the
    /// directory's last chunk.
    fn remove_chunk(&mut self, key: u64, pool: &mut Pool) {
        if self.chunks.remove(&key).is_none() {
            return;
        }
        let dir = key / CHUNKS_PER_DIR;
        if let Some(count) = self.dirs.get_mut(&dir) {
            *count -= 1;
            if *count == 0 {
                self.dirs.remove(&dir);
                pool.release(1);
            }
        }
    }

    /// Maps `gfn` to `pfn` with `flags`, replacing what was there.
    pub(crate) fn map(
        &mut self,
        gfn: u64,
        pfn: u64,
        flags: u32,
        pool: &mut Pool,
    ) -> Result<(), u16> {
        if gfn >= GFN_LIMIT || pfn > PFN_MASK {
            return Err(status::INVALID_PARAMETER);
        }
        let key = gfn / CHUNK;
        if self.chunks.get(&key).is_none() {
            self.add_chunk(key, pool)?;
        }
        let small = flags & map_flags::LARGE_PAGE == 0;
        // PANIC: The chunk was found or made above.
        let c = self.chunks.get_mut(&key).expect("chunk exists");
        let old = c.e[(gfn % CHUNK) as usize];
        // The first 4K page of a chunk needs its page table.
        if small && !is_small(old) && c.small == 0 {
            if let Err(s) = pool.charge(1) {
                if c.mapped == 0 {
                    self.remove_chunk(key, pool);
                }
                return Err(s);
            }
        }
        if old & MAPPED == 0 {
            c.mapped += 1;
            self.mapped += 1;
        }
        match (is_small(old), small) {
            (false, true) => c.small += 1,
            (true, false) => {
                c.small -= 1;
                if c.small == 0 {
                    pool.release(1);
                }
            }
            _ => {}
        }
        // A remap keeps what the guest did to the page (a movable region's pages are remapped
        // as they fault in and are taken back; dirty tracking must not lose a write).
        let kept = old & (ACCESSED | DIRTY);
        c.e[(gfn % CHUNK) as usize] = MAPPED | kept | (pack_flags(flags) << FLAGS_SHIFT) | pfn;
        Ok(())
    }

    /// Maps the 2M chunk at `gfn` (2M-aligned) as one 2M page from head `pfn` (`None`: no
    /// pages, for a no-access mapping) with `flags`, replacing what was there: one lookup,
    /// where entry by entry would be 512.
    pub(crate) fn map_large(
        &mut self,
        gfn: u64,
        pfn: Option<u64>,
        flags: u32,
        pool: &mut Pool,
    ) -> Result<(), u16> {
        if gfn >= GFN_LIMIT || gfn % CHUNK != 0 || pfn.is_some_and(|p| p > PFN_MASK - (CHUNK - 1)) {
            return Err(status::INVALID_PARAMETER);
        }
        let key = gfn / CHUNK;
        if self.chunks.get(&key).is_none() {
            self.add_chunk(key, pool)?;
        }
        // PANIC: The chunk was found or made above.
        let c = self.chunks.get_mut(&key).expect("chunk exists");
        let head = MAPPED | (pack_flags(flags) << FLAGS_SHIFT);
        for (k, e) in (0u64..).zip(c.e.iter_mut()) {
            if *e & MAPPED == 0 {
                self.mapped += 1;
            }
            // As in `map`: what the guest did to each page stays.
            *e = head | (*e & (ACCESSED | DIRTY)) | pfn.map_or(0, |p| p + k);
        }
        c.mapped = CHUNK as u16;
        // No 4K page is left: the table goes.
        if c.small != 0 {
            c.small = 0;
            pool.release(1);
        }
        Ok(())
    }

    /// Unmaps the whole 2M chunk at `gfn` (2M-aligned), whatever is mapped in it.
    pub(crate) fn unmap_large(&mut self, gfn: u64, pool: &mut Pool) {
        let key = gfn / CHUNK;
        let Some(c) = self.chunks.get_mut(&key) else {
            return;
        };
        self.mapped -= u64::from(c.mapped);
        if c.small != 0 {
            pool.release(1);
        }
        self.remove_chunk(key, pool);
    }

    /// Unmaps `gfn` (nothing happens if it is not mapped).
    pub(crate) fn unmap(&mut self, gfn: u64, pool: &mut Pool) {
        let key = gfn / CHUNK;
        let Some(c) = self.chunks.get_mut(&key) else {
            return;
        };
        let e = &mut c.e[(gfn % CHUNK) as usize];
        if *e & MAPPED == 0 {
            return;
        }
        if is_small(*e) {
            c.small -= 1;
            if c.small == 0 {
                pool.release(1);
            }
        }
        if *e & (ACCESSED | DIRTY) != 0 {
            c.touched -= 1;
        }
        *e = 0;
        c.mapped -= 1;
        self.mapped -= 1;
        if c.mapped == 0 {
            self.remove_chunk(key, pool);
        }
    }

    /// The chunk of `gfn` and the index of its entry there, if it is mapped.
    fn entry_mut(&mut self, gfn: u64) -> Option<(&mut Chunk, usize)> {
        let c = self.chunks.get_mut(&(gfn / CHUNK))?;
        let i = (gfn % CHUNK) as usize;
        (c.e[i] & MAPPED != 0).then_some((c, i))
    }

    /// The mapping of `gfn`: (PFN, flags).
    pub(crate) fn lookup(&mut self, gfn: u64) -> Option<(u64, u32)> {
        let (c, i) = self.entry_mut(gfn)?;
        let e = c.e[i];
        Some((e & PFN_MASK, unpack_flags(e)))
    }

    /// A guest access: false when the page is unmapped or the access is not allowed.
    pub(crate) fn touch(&mut self, gfn: u64, write: bool) -> bool {
        let Some((c, i)) = self.entry_mut(gfn) else {
            return false;
        };
        let flags = unpack_flags(c.e[i]);
        let need = if write {
            map_flags::WRITABLE
        } else {
            map_flags::READABLE
        };
        if flags & map_flags::NO_ACCESS != 0 || flags & need == 0 {
            return false;
        }
        if c.e[i] & (ACCESSED | DIRTY) == 0 {
            c.touched += 1;
        }
        c.e[i] |= ACCESSED | if write { DIRTY } else { 0 };
        true
    }

    /// Writes the access state bytes of the pages from `gfn` into `states`, then changes their
    /// bits as `flags` says: a chunk lookup per 2M, not per page.
    pub(crate) fn access_states(&mut self, gfn: u64, flags: u64, states: &mut [u8]) {
        let mut done = 0;
        while done < states.len() {
            let g = gfn + done as u64;
            let off = (g % CHUNK) as usize;
            let n = (CHUNK as usize - off).min(states.len() - done);
            let out = &mut states[done..done + n];
            let sets = flags & (access_flags::SET_ACCESSED | access_flags::SET_DIRTY) != 0;
            match self.chunks.get_mut(&(g / CHUNK)) {
                // Nothing accessed there, and nothing to set: all zero, nothing to clear.
                Some(c) if c.touched != 0 || sets => {
                    for (o, e) in out.iter_mut().zip(&mut c.e[off..off + n]) {
                        let was = *e & (ACCESSED | DIRTY) != 0;
                        *o = access_state(e, flags);
                        let is = *e & (ACCESSED | DIRTY) != 0;
                        if was != is {
                            if is {
                                c.touched += 1;
                            } else {
                                c.touched -= 1;
                            }
                        }
                    }
                }
                _ => out.fill(0),
            }
            done += n;
        }
    }
}

/// Returns an entry's access state byte (0 for a page not mapped), then changes the bits as
/// `flags` says. Clearing accessed clears dirty too; setting dirty sets accessed too.
fn access_state(e: &mut u64, flags: u64) -> u8 {
    if *e & MAPPED == 0 {
        return 0;
    }
    let mut state = 0;
    if *e & ACCESSED != 0 {
        state |= access_state::ACCESSED;
    }
    if *e & DIRTY != 0 {
        state |= access_state::DIRTY;
    }
    if flags & access_flags::CLEAR_ACCESSED != 0 {
        *e &= !(ACCESSED | DIRTY);
    }
    if flags & access_flags::CLEAR_DIRTY != 0 {
        *e &= !DIRTY;
    }
    if flags & access_flags::SET_ACCESSED != 0 {
        *e |= ACCESSED;
    }
    if flags & access_flags::SET_DIRTY != 0 {
        *e |= ACCESSED | DIRTY;
    }
    state
}
