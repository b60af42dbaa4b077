// SPDX-License-Identifier: GPL-2.0

//! The names the hypercall API takes: partition IDs and VP indices as their own types, so a
//! call site cannot pass one for the other (or for a page number).

use core::fmt;

use kernel::fmt::Display;

/// A partition's ID, as the hypervisor assigns it (`HvCallCreatePartition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PartitionId(pub(crate) u64);

impl PartitionId {
    /// The caller itself (`HV_PARTITION_ID_SELF`): the root, for its own pool and properties.
    pub(crate) const SELF: Self = Self(super::HV_PARTITION_ID_SELF);
}

impl Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::LowerHex for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// A VP's index in its partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct VpIndex(pub(crate) u32);

impl Display for VpIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
