// SPDX-License-Identifier: GPL-2.0

//! `MSHV_ROOT_HVCALL`: a hypercall from userspace, for the partition of the fd, from a fixed list.

use kernel::{
    prelude::*,
    uaccess::UserSlice, //
};

use crate::{
    abi::hv::{
        code,
        PartitionId,
        HV_PAGE_SIZE,
        HV_PARTITION_ID_SELF, //
    },
    abi::uapi::RootHvcall,
    hvcall::Hv,
};

/// What partition and VP fds may call: upstream's list.
const PARTITION_CALLS: &[u16] = &[
    code::GET_PARTITION_PROPERTY,
    code::GET_PARTITION_PROPERTY_EX,
    code::SET_PARTITION_PROPERTY,
    code::INSTALL_INTERCEPT,
    code::GET_VP_REGISTERS,
    code::SET_VP_REGISTERS,
    code::TRANSLATE_VIRTUAL_ADDRESS,
    code::CLEAR_VIRTUAL_INTERRUPT,
    code::REGISTER_INTERCEPT_RESULT,
    code::ASSERT_VIRTUAL_INTERRUPT,
    code::GET_GPA_PAGES_ACCESS_STATES,
    code::SIGNAL_EVENT_DIRECT,
    code::POST_MESSAGE_DIRECT,
    code::GET_VP_CPUID_VALUES,
];

/// What `/dev/mshv` may call, for the root itself.
const SELF_CALLS: &[u16] = &[
    code::GET_PARTITION_PROPERTY,
    code::GET_PARTITION_PROPERTY_EX,
];

/// Whose fd the call came through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// `/dev/mshv`: the root itself.
    Root,
    /// A partition fd.
    Partition(PartitionId),
    /// A VP fd of a partition.
    Vp(PartitionId),
}

/// `MSHV_ROOT_HVCALL` through the fd `target` names.
///
/// As upstream: the kernel writes the partition ID into the first 8 input bytes, deposits memory
/// and retries when the hypervisor runs short, writes the status and the reps completed back
/// whether the call succeeded or not, and copies the output back on success only; the ioctl
/// fails with the status's errno. Unlike upstream, the output bytes start zeroed, so nothing
/// of earlier calls leaks. A `CALL_PENDING` status (an asynchronous property change) is not
/// waited for: it fails with `EIO`.
pub(crate) fn root_hvcall(hv: &Hv, target: Target, arg: usize) -> Result<isize> {
    let (pt, allowed) = match target {
        Target::Root => (None, SELF_CALLS),
        Target::Partition(id) | Target::Vp(id) => (Some(id.0), PARTITION_CALLS),
    };
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<RootHvcall>()).reader_writer();
    let mut args: RootHvcall = reader.read()?;
    let (in_sz, out_sz) = (usize::from(args.in_sz), usize::from(args.out_sz));
    if args.status != 0
        || args.in_ptr == 0
        || !(8..=HV_PAGE_SIZE).contains(&in_sz)
        || args.rsvd != [0; 6]
        || (args.out_ptr != 0 && (out_sz == 0 || out_sz > HV_PAGE_SIZE))
        || !allowed.contains(&args.code)
        // HvCallSetPartitionProperty: upstream allows it from partition fds only.
        || (matches!(target, Target::Vp(_)) && args.code == code::SET_PARTITION_PROPERTY)
    {
        return Err(EINVAL);
    }
    let mut input = KVec::from_elem(0u8, in_sz, GFP_KERNEL)?;
    UserSlice::new(UserPtr::from_addr(args.in_ptr as usize), in_sz)
        .reader()
        .read_slice(&mut input)?;
    let partition_id = pt.unwrap_or(HV_PARTITION_ID_SELF);
    input[..8].copy_from_slice(&partition_id.to_le_bytes());
    let out_len = if args.out_ptr != 0 { out_sz } else { 0 };
    let mut output = KVec::from_elem(0u8, out_len, GFP_KERNEL)?;
    let reps = usize::from(args.reps);
    let mut done = 0;
    let mut status = 0;
    let result = hv.with_deposits(partition_id, "MSHV_ROOT_HVCALL", |hv| {
        let (d, r) = hv.passthrough(args.code, &input, reps, done, &mut output);
        done = d;
        status = r.err().map_or(0, |e| e.status());
        r
    });
    args.status = status;
    args.reps = done as u16;
    // As upstream: the output goes back only when the call succeeded.
    if out_len != 0 && result.is_ok() {
        UserSlice::new(UserPtr::from_addr(args.out_ptr as usize), out_len)
            .writer()
            .write_slice(&output)?;
    }
    writer.write(&args)?;
    result.map(|()| 0)
}
