// SPDX-License-Identifier: GPL-2.0

//! The two ABIs the driver stands between, as data only: the Microsoft Hypervisor's
//! ([`hv`]: TLFS call codes, statuses, the hypercall control word and result, the layouts of
//! hypercall inputs and of the pages the hypervisor shares) and `/dev/mshv`'s ([`uapi`]: the
//! ioctls, their arguments and the capability limits VMMs see).
//!
//! The driver and the simulator both build on these definitions, so each layout exists once.

pub(crate) mod hv;
pub(crate) mod uapi;
