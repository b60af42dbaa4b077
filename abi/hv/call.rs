// SPDX-License-Identifier: GPL-2.0

//! The hypercall control word (RCX) and result (RAX), encoded and decoded: both sides of the
//! ABI use these, the driver to issue a call and the simulator to answer it.

use super::{
    control,
    status, //
};

/// A hypercall control word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Control(u64);

impl Control {
    /// A plain (memory input) call of `code`.
    pub(crate) const fn new(code: u16) -> Self {
        Self(code as u64)
    }

    /// The same call with register ("fast") input.
    pub(crate) const fn fast(self) -> Self {
        Self(self.0 | control::FAST)
    }

    /// The same call as a rep call of `count` reps starting at `start` (a simple call for
    /// `count` 0); `None` when either does not fit its 12 bits or the start is not below the
    /// count (the TLFS refuses a rep start at or past the rep count).
    pub(crate) fn rep(self, count: usize, start: usize) -> Option<Self> {
        let (count, start) = (u64::try_from(count).ok()?, u64::try_from(start).ok()?);
        if count > control::REP_MAX || (count == 0 && start != 0) || (count != 0 && start >= count)
        {
            return None;
        }
        let cleared = self.0
            & !(control::REP_MAX << control::REP_COUNT_SHIFT)
            & !(control::REP_MAX << control::REP_START_SHIFT);
        Some(Self(
            cleared | (count << control::REP_COUNT_SHIFT) | (start << control::REP_START_SHIFT),
        ))
    }

    /// The same call with a variable header of `bytes` bytes; `None` unless `bytes` is a
    /// multiple of 8 that fits the field.
    pub(crate) fn varhead(self, bytes: usize) -> Option<Self> {
        let units = u64::try_from(bytes / 8).ok()?;
        if bytes % 8 != 0 || units > control::VARHEAD_MAX {
            return None;
        }
        let cleared = self.0 & !(control::VARHEAD_MAX << control::VARHEAD_SHIFT);
        Some(Self(cleared | (units << control::VARHEAD_SHIFT)))
    }

    /// Decodes a raw control word.
    pub(crate) const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw word.
    pub(crate) const fn raw(self) -> u64 {
        self.0
    }

    /// The call code.
    pub(crate) const fn code(self) -> u16 {
        (self.0 & control::CODE_MASK) as u16
    }

    /// Whether the input is in registers.
    pub(crate) const fn is_fast(self) -> bool {
        self.0 & control::FAST != 0
    }

    /// The variable header size in bytes.
    pub(crate) const fn varhead_bytes(self) -> usize {
        (((self.0 >> control::VARHEAD_SHIFT) & control::VARHEAD_MAX) * 8) as usize
    }

    /// The rep count (0 for a simple call).
    pub(crate) const fn rep_count(self) -> usize {
        ((self.0 >> control::REP_COUNT_SHIFT) & control::REP_MAX) as usize
    }

    /// The rep start index.
    pub(crate) const fn rep_start(self) -> usize {
        ((self.0 >> control::REP_START_SHIFT) & control::REP_MAX) as usize
    }

    /// Whether any reserved bit is set.
    pub(crate) const fn has_reserved_bits(self) -> bool {
        self.0 & control::RESERVED != 0
    }
}

/// A raw hypercall result (RAX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvResult(u64);

impl HvResult {
    /// Encodes a result (the simulator's side of the ABI).
    pub(crate) const fn new(status: u16, reps_completed: usize) -> Self {
        Self(
            status as u64
                | (((reps_completed as u64) & control::REP_MAX) << control::REP_COUNT_SHIFT),
        )
    }

    /// Decodes a raw result.
    pub(crate) const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw value.
    pub(crate) const fn raw(self) -> u64 {
        self.0
    }

    /// The status.
    pub(crate) const fn status(self) -> u16 {
        (self.0 & control::STATUS_MASK) as u16
    }

    /// The reps completed, counted from rep 0 (not from the start index).
    pub(crate) const fn reps_completed(self) -> usize {
        ((self.0 >> control::REP_COUNT_SHIFT) & control::REP_MAX) as usize
    }

    /// `Ok` for success, else the status as an error.
    pub(crate) const fn ok(self) -> Result<(), HvError> {
        match self.status() {
            status::SUCCESS => Ok(()),
            s => Err(HvError(s)),
        }
    }
}

/// A failed hypercall: its (nonzero) status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvError(pub(crate) u16);

impl HvError {
    /// The status.
    pub(crate) const fn status(self) -> u16 {
        self.0
    }
}
