// SPDX-License-Identifier: GPL-2.0

//! `MSHV_GET_GPAP_ACCESS_BITMAP`: the guest pages' accessed or dirty bits, from the
//! hypervisor's access states, packed into the caller's bitmap.

use kernel::{
    prelude::*,
    uaccess::UserSlice, //
};

use super::Partition;
use crate::{
    abi::hv::{
        access_flags,
        access_state, //
    },
    abi::uapi::{
        gpap,
        limits::GPAP_MAX_PAGES,
        GpapAccessBitmap, //
    },
    glue::OnKill,
};

/// Pages whose states are fetched at a time (a multiple of 8: whole bitmap bytes).
const GPAP_BATCH: usize = 1 << 15;

/// Packs up to 8 access state bytes into a bitmap byte: bit `k` set when `states[k]` has a
/// bit of `mask`. Eight clean pages (the common case) are one word test.
fn pack_states(states: &[u8], mask: u8) -> u8 {
    if let Ok(word) = <[u8; 8]>::try_from(states) {
        if u64::from_ne_bytes(word) & (u64::from(mask) * 0x0101_0101_0101_0101) == 0 {
            return 0;
        }
    }
    states
        .iter()
        .enumerate()
        .filter(|(_, s)| **s & mask != 0)
        .fold(0, |b, (k, _)| b | (1 << k))
}

impl Partition {
    /// `MSHV_GET_GPAP_ACCESS_BITMAP`: the states are fetched and packed a batch at a time, so
    /// the memory used is bounded whatever the page count.
    pub(super) fn access_bitmap(&self, a: &GpapAccessBitmap) -> Result {
        if a.access_type >= gpap::TYPE_COUNT
            || a.access_op >= gpap::OP_COUNT
            || a.rsvd != [0; 6]
            || a.page_count == 0
            || a.bitmap_ptr == 0
        {
            return Err(EINVAL);
        }
        if a.page_count > u64::from(GPAP_MAX_PAGES) {
            return Err(E2BIG);
        }
        // Past the GPA space: the hypervisor's INVALID_PARAMETER, said before any work.
        if a.gpap_base
            .checked_add(a.page_count)
            .is_none_or(|end| end > crate::mshv_partition::region::GFN_LIMIT)
        {
            return Err(EINVAL);
        }
        let mask = if a.access_type == gpap::TYPE_DIRTY {
            access_state::DIRTY
        } else {
            access_state::ACCESSED
        };
        // Not accessed implies not dirty; dirty implies accessed. NOOP changes nothing
        // (upstream sets the bits on NOOP as it does on SET).
        let flags = match (a.access_type, a.access_op) {
            (_, gpap::OP_NOOP) => 0,
            (gpap::TYPE_ACCESSED, gpap::OP_CLEAR) => {
                access_flags::CLEAR_ACCESSED | access_flags::CLEAR_DIRTY
            }
            (gpap::TYPE_ACCESSED, _) => access_flags::SET_ACCESSED,
            (_, gpap::OP_CLEAR) => access_flags::CLEAR_DIRTY,
            _ => access_flags::SET_DIRTY | access_flags::SET_ACCESSED,
        };
        let total = a.page_count as usize;
        let mut states = KVVec::from_elem(0u8, total.min(GPAP_BATCH), GFP_KERNEL)?;
        let mut bits = KVVec::from_elem(0u8, total.min(GPAP_BATCH).div_ceil(8), GFP_KERNEL)?;
        let mut writer =
            UserSlice::new(UserPtr::from_addr(a.bitmap_ptr as usize), total.div_ceil(8)).writer();
        let mut done = 0;
        while done < total {
            let n = (total - done).min(GPAP_BATCH);
            let states = &mut states[..n];
            self.hv
                .get_gpa_access_states(self.id, a.gpap_base + done as u64, flags, states)?;
            let bits = &mut bits[..n.div_ceil(8)];
            for (b, s) in bits.iter_mut().zip(states.chunks(8)) {
                *b = pack_states(s, mask);
            }
            writer.write_slice(bits)?;
            done += n;
            if done < total {
                OnKill::Stop.step()?;
            }
        }
        Ok(())
    }
}

#[kunit_tests(mshv_partition)]
mod tests {
    use super::*;

    #[test]
    fn pack_states_word_and_tail() {
        let d = access_state::DIRTY;
        let a = access_state::ACCESSED;
        assert_eq!(pack_states(&[0; 8], d), 0);
        // Accessed but not dirty: no bit for the dirty bitmap, every bit for the accessed one.
        assert_eq!(pack_states(&[a; 8], d), 0);
        assert_eq!(pack_states(&[a; 8], a), 0xff);
        assert_eq!(pack_states(&[0, 0, 0, 0, 0, 0, 0, a | d], d), 0x80);
        assert_eq!(pack_states(&[a | d, 0, a | d, 0, 0, 0, 0, 0], d), 0x05);
        // A short tail (the bitmap's last byte).
        assert_eq!(pack_states(&[0, a | d, a], a), 0x06);
        assert_eq!(pack_states(&[], a), 0);
    }
}
