// SPDX-License-Identifier: GPL-2.0

//! The simulator's controls for userspace tests and benchmarks, in debugfs
//! (`/sys/kernel/debug/mshv/sim/`):
//!
//! - `calls` (read): `<code> <count> <nanoseconds>` per call code made at least once, the code
//!   in hex, the time the simulator spent in those calls;
//! - `fault` (write): `<code|any> <nth> <times> <status>` makes the `nth` next call of `code`
//!   (or of any code) and the `times - 1` matching calls after it fail with `status`; `clear`
//!   disarms every fault; numbers in hex with `0x` or decimal;
//! - `partial_reps` (write): a seed for partial rep completion, 0 for off;
//! - `state` (read): partitions alive, the root pool's deposited and used pages, the pages the
//!   driver's ledger records as deposited (`ledger <n>`); a line `partition <id> <deposited>`
//!   per partition; a line `pending <pt> <vp> <vector>` per interrupt not taken;
//! - `gpa` (write `<partition id> <guest page>`, then read): `<pfn> <flags>` of that page's
//!   mapping in hex, or `none`;
//! - `pin` (write `<address> <size>`): pins the writer's memory there as guest memory is pinned
//!   (`pin_user_pages_fast`, `FOLL_WRITE | FOLL_LONGTERM`) and unpins it: the floor the map
//!   benchmark is measured against;
//! - `forge` (write `withdraw <pfn>` or `state_page <pfn>`, or `clear`): the next withdraw
//!   returns that PFN as its first page, or the next state page mapped is that PFN, as a
//!   hostile hypervisor would; for the driver's checks to refuse;
//! - `synic` (write): posts a forged SynIC message to SINT0 of the writer's CPU, as a broken
//!   or hostile hypervisor might: `bitset <pt> <format> <vp_count> <bank mask> <bank>...`,
//!   `pair <vp_count> <pt> <vp>` (the one pair repeated), `opaque <pt> <vp>`, or `type <type>`
//!   (an empty message of any type). `state` shows `synic <delivered> <dropped>`.

use core::fmt;

use kernel::{
    debugfs::{
        Dir,
        Scope, //
    },
    prelude::*,
    sync::Arc,
    uaccess::UserSliceReader,
};

use super::HvSim;

/// What the control files need of the driver above the simulator, which the simulator does not
/// import: implemented where the files are registered (`mshv_main.rs`).
pub(crate) trait Driver: Send + Sync + 'static {
    /// The simulator below the driver's leaf.
    fn sim(&self) -> &HvSim;
    /// Pages the driver's ledger records as deposited.
    fn ledger_pages(&self) -> usize;
    /// Pins `npages` pages of the caller's memory at `addr` as guest memory is pinned, and
    /// unpins them.
    fn pin(&self, addr: u64, npages: usize) -> Result;
}

/// Parses a number in decimal or `0x` hex.
fn number(s: &str) -> Result<u64> {
    let r = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| EINVAL)
}

/// Reads a short line written to a control file.
fn line<'a>(reader: &mut UserSliceReader, buf: &'a mut [u8; 128]) -> Result<&'a str> {
    let n = reader.len();
    if n >= buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    Ok(core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)?.trim())
}

fn calls<D: Driver>(hv: &Arc<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for code in 0..=u16::MAX {
        let n = hv.sim().calls(code);
        if n != 0 {
            writeln!(f, "{code:#06x} {n} {}", hv.sim().nanos(code))?;
        }
        if code == 0x3ff {
            break;
        }
    }
    Ok(())
}

fn state<D: Driver>(hv: &Arc<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (deposited, used) = hv.sim().root_pool();
    writeln!(f, "partitions {}", hv.sim().partitions())?;
    writeln!(f, "root_pool {deposited} {used}")?;
    // What the driver's ledger holds as deposited: with no partition left, the root's pool.
    writeln!(f, "ledger {}", hv.ledger_pages())?;
    for id in hv.sim().partition_ids().map_err(|_| fmt::Error)? {
        let deposited = hv.sim().partition(id).map_or(0, |p| p.deposited);
        writeln!(f, "partition {id} {deposited}")?;
    }
    let (delivered, dropped) = hv.sim().synic_counts();
    writeln!(f, "synic {delivered} {dropped}")?;
    // One line per asserted interrupt the guest has not taken.
    for (pt, vp, vector) in hv.sim().all_pending().map_err(|_| fmt::Error)? {
        writeln!(f, "pending {pt} {vp} {vector:#x}")?;
    }
    Ok(())
}

fn fault<D: Driver>(hv: &Arc<D>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 128];
    let s = line(reader, &mut buf)?;
    if s == "clear" {
        hv.sim().clear_faults();
        return Ok(());
    }
    let mut w = s.split_whitespace();
    let mut next = || w.next().ok_or(EINVAL);
    let code = match next()? {
        "any" => None,
        c => Some(u16::try_from(number(c)?).map_err(|_| EINVAL)?),
    };
    let nth = u32::try_from(number(next()?)?).map_err(|_| EINVAL)?;
    let times = u32::try_from(number(next()?)?).map_err(|_| EINVAL)?;
    let status = u16::try_from(number(next()?)?).map_err(|_| EINVAL)?;
    if status == 0 || w.next().is_some() {
        return Err(EINVAL);
    }
    hv.sim().inject_fault(code, nth, times, status)
}

fn gpa_show<D: Driver>(hv: &Arc<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match hv.sim().query() {
        Some((pfn, flags)) => writeln!(f, "{pfn:#x} {flags:#x}"),
        None => writeln!(f, "none"),
    }
}

fn gpa_set<D: Driver>(hv: &Arc<D>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 128];
    let mut w = line(reader, &mut buf)?.split_whitespace();
    let mut next = || number(w.next().ok_or(EINVAL)?);
    let (id, gfn) = (next()?, next()?);
    if w.next().is_some() {
        return Err(EINVAL);
    }
    hv.sim().set_query(id, gfn);
    Ok(())
}

fn pin<D: Driver>(hv: &Arc<D>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 128];
    let mut w = line(reader, &mut buf)?.split_whitespace();
    let mut next = || number(w.next().ok_or(EINVAL)?);
    let (addr, size) = (next()?, next()?);
    if w.next().is_some() {
        return Err(EINVAL);
    }
    let page = crate::abi::hv::HV_PAGE_SIZE as u64;
    if addr % page != 0 || size % page != 0 {
        return Err(EINVAL);
    }
    hv.pin(addr, usize::try_from(size / page)?)
}

fn forge<D: Driver>(hv: &Arc<D>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 128];
    let s = line(reader, &mut buf)?;
    let mut forged = crate::hvsim::Forged::default();
    if s != "clear" {
        let mut w = s.split_whitespace();
        let what = w.next().ok_or(EINVAL)?;
        let pfn = Some(number(w.next().ok_or(EINVAL)?)?);
        if w.next().is_some() {
            return Err(EINVAL);
        }
        match what {
            "withdraw" => forged.withdraw = pfn,
            "state_page" => forged.state_page = pfn,
            _ => return Err(EINVAL),
        }
    }
    hv.sim().forge(forged);
    Ok(())
}

fn synic<D: Driver>(hv: &Arc<D>, reader: &mut UserSliceReader) -> Result {
    use crate::abi::hv::{
        message::Message,
        msg,
        synic::{
            OpaqueIntercept,
            VpSignalBitset,
            VpSignalPair,
            PAIRS, //
        },
    };
    let mut buf = [0u8; 128];
    let s = line(reader, &mut buf)?;
    let mut w = s.split_whitespace();
    let what = w.next().ok_or(EINVAL)?;
    let mut next = || -> Result<u64> { number(w.next().ok_or(EINVAL)?) };
    let m = match what {
        "bitset" => {
            let mut b = VpSignalBitset {
                partition_id: next()?,
                format: next()?,
                vp_count: u16::try_from(next()?)?,
                valid_bank_mask: next()?,
                ..Default::default()
            };
            for bank in b.banks.iter_mut() {
                match next() {
                    Ok(v) => *bank = v,
                    Err(_) => break,
                }
            }
            Message::new(msg::SCHEDULER_VP_SIGNAL_BITSET, &b)
        }
        "pair" => {
            let count = u8::try_from(next()?)?;
            let (pt, vp) = (next()?, u32::try_from(next()?)?);
            let p = VpSignalPair {
                overflow_count: 0,
                vp_count: count,
                reserved1: [0; 3],
                partition_ids: [pt; PAIRS],
                vp_indexes: [vp; PAIRS],
                reserved2: [0; 4],
            };
            Message::new(msg::SCHEDULER_VP_SIGNAL_PAIR, &p)
        }
        "opaque" => {
            let pt = next()?;
            let o = OpaqueIntercept {
                vp_index: u32::try_from(next()?)?,
            };
            let mut m = Message::new(msg::OPAQUE_INTERCEPT, &o);
            m.header.sender = pt;
            m
        }
        "type" => Message::new(u32::try_from(next()?)?, &0u64),
        _ => return Err(EINVAL),
    };
    hv.sim().post_forged(&m);
    Ok(())
}

fn partial_reps<D: Driver>(hv: &Arc<D>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 128];
    hv.sim().set_partial_reps(number(line(reader, &mut buf)?)?);
    Ok(())
}

/// Creates the control files; they go away when the returned scope is dropped.
pub(crate) fn register<D: Driver>(hv: &Arc<D>) -> Result<Pin<KBox<Scope<Arc<D>>>>> {
    // Files keep their directories alive; `root` itself may go.
    let root = Dir::new(c"mshv");
    let scope = root.scope(hv.clone(), c"sim", |hv, dir| {
        dir.read_callback_file(c"calls", hv, &calls::<D>);
        dir.read_callback_file(c"state", hv, &state::<D>);
        dir.write_only_callback_file(c"fault", hv, &fault::<D>);
        dir.write_only_callback_file(c"partial_reps", hv, &partial_reps::<D>);
        dir.read_write_callback_file(c"gpa", hv, &gpa_show::<D>, &gpa_set::<D>);
        dir.write_only_callback_file(c"pin", hv, &pin::<D>);
        dir.write_only_callback_file(c"forge", hv, &forge::<D>);
        dir.write_only_callback_file(c"synic", hv, &synic::<D>);
    });
    KBox::pin_init(scope, GFP_KERNEL)
}
