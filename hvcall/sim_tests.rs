// SPDX-License-Identifier: GPL-2.0

//! KUnit suite of the hypercall layer running on the simulator: every path of `hvcall.rs`
//! (encoding, rep restart, deposit and retry, status mapping, teardown order) and the
//! simulator's own rules (state machine, accounting, partial reps, GPA map, fault injection).
//! It reads the simulator's state through the leaf (`hv.leaf().sim()`), the one way down.

use kernel::prelude::*;

#[kunit_tests(mshv_hvsim)]
mod t {
    use kernel::{
        page::Page,
        prelude::*,
        time::{
            Instant,
            Monotonic, //
        },
    };

    use crate::{
        abi::hv::{
            access_flags,
            access_state,
            code,
            map_flags,
            property,
            reg,
            status,
            vp_state,
            vp_state_page,
            Control,
            HvError,
            HvRegisterAssoc,
            HvRegisterValue,
            HvResult,
            PageSize,
            PartitionId,
            PartitionIdIn,
            VpIndex,
            HV_PARTITION_ID_SELF, //
        },
        glue,
        hvcall::{
            calls::MAP_GPA_BATCH,
            deposit::MAX_DEPOSIT_ROUNDS,
            Hv, //
        },
        hvsim::{
            State,
            INIT_PAGES,
            PARTITION_PAGES,
            VP_PAGES, //
        },
    };

    /// A fresh hypervisor (own per-CPU pages, own simulator).
    fn hv() -> Result<Hv> {
        Hv::new()
    }

    /// Creates and initializes a partition; returns its ID.
    fn initialized(hv: &Hv) -> Result<PartitionId> {
        let pt = hv.create_partition(0, [0; 2], 0)?;
        hv.initialize_partition(pt)?;
        Ok(pt)
    }

    /// Tears a partition down the way the driver must: finalize, withdraw, delete.
    fn teardown(hv: &Hv, pt: PartitionId) -> Result {
        hv.finalize_partition(pt)?;
        hv.withdraw_all(pt)?;
        hv.delete_partition(pt)
    }

    /// Withdraws the root pool too; after this nothing of the test is left in the simulator.
    fn drained(hv: &Hv) -> bool {
        let _ = hv.withdraw_all(PartitionId::SELF);
        hv.leaf().sim().partitions() == 0 && hv.leaf().sim().root_pool() == (0, 0)
    }

    /// `n` PFNs of real pages, kept alive by the returned vector.
    fn pages(n: usize) -> Result<(KVec<Page>, KVec<u64>)> {
        let mut pages = KVec::new();
        let mut pfns = KVec::new();
        for _ in 0..n {
            let p = Page::alloc_page(GFP_KERNEL)?;
            pfns.push(glue::page_pfn(&p), GFP_KERNEL)?;
            pages.push(p, GFP_KERNEL)?;
        }
        Ok((pages, pfns))
    }

    #[test]
    fn lifecycle_and_accounting() -> Result {
        let hv = hv()?;
        // An empty root pool: creating makes the layer deposit to the root and retry.
        let pt = hv.create_partition(0, [0; 2], 0)?;
        assert_eq!(
            hv.leaf().sim().root_pool(),
            (PARTITION_PAGES, PARTITION_PAGES)
        );
        assert!(hv.leaf().sim().calls(code::DEPOSIT_MEMORY) >= 1);
        let info = hv.leaf().sim().partition(pt.0).unwrap();
        assert_eq!(info.state, State::Created);
        // Initializing draws INIT_PAGES from the partition: deposits double until enough.
        hv.initialize_partition(pt)?;
        let info = hv.leaf().sim().partition(pt.0).unwrap();
        assert_eq!(info.state, State::Initialized);
        assert_eq!(info.used, INIT_PAGES);
        assert!(info.deposited >= INIT_PAGES && info.deposited < 2 * INIT_PAGES);
        hv.create_vp(pt, VpIndex(0))?;
        hv.create_vp(pt, VpIndex(5))?;
        assert_eq!(
            hv.leaf().sim().partition(pt.0).unwrap().used,
            INIT_PAGES + 2 * VP_PAGES
        );
        teardown(&hv, pt)?;
        assert!(hv.leaf().sim().partition(pt.0).is_none());
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn state_machine_is_enforced() -> Result {
        let hv = hv()?;
        let pt = hv.create_partition(0, [0; 2], 0)?;
        // VPs and memory need an initialized partition; the driver sees EIO.
        assert_eq!(hv.create_vp(pt, VpIndex(0)), Err(EIO));
        let (_keep, pfns) = pages(1)?;
        assert_eq!(
            hv.map_gpa_pages(pt, 0, map_flags::READABLE, &pfns),
            Err(EIO)
        );
        // Delete needs finalize first, and an empty pool.
        assert_eq!(hv.delete_partition(pt), Err(EIO));
        hv.initialize_partition(pt)?;
        assert_eq!(hv.initialize_partition(pt), Err(EIO));
        hv.finalize_partition(pt)?;
        assert_eq!(hv.finalize_partition(pt), Err(EIO));
        assert_eq!(hv.create_vp(pt, VpIndex(0)), Err(EIO));
        assert_eq!(hv.delete_partition(pt), Err(EIO));
        assert!(hv.withdraw_all(pt)? > 0);
        hv.delete_partition(pt)?;
        // Unknown IDs.
        assert_eq!(hv.initialize_partition(pt), Err(EINVAL));
        assert_eq!(
            hv.fast8(code::INITIALIZE_PARTITION, 0),
            Err(HvError(status::INVALID_PARTITION_ID))
        );
        assert_eq!(
            hv.fast8(code::DELETE_PARTITION, 0x1_0000),
            Err(HvError(status::INVALID_PARTITION_ID))
        );
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn vps_and_registers() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        hv.create_vp(pt, VpIndex(0))?;
        assert_eq!(hv.create_vp(pt, VpIndex(0)), Err(EINVAL));
        assert_eq!(
            hv.create_vp(pt, VpIndex(crate::hvsim::MAX_VPS)),
            Err(EINVAL)
        );
        let regs = [
            HvRegisterAssoc {
                name: reg::RIP,
                value: HvRegisterValue {
                    low: 0x1000,
                    high: 0,
                },
                ..Default::default()
            },
            HvRegisterAssoc {
                name: reg::RAX,
                value: HvRegisterValue { low: 7, high: 0 },
                ..Default::default()
            },
        ];
        hv.set_vp_registers(pt, VpIndex(0), &regs)?;
        let mut values = [HvRegisterValue::default(); 3];
        hv.get_vp_registers(pt, VpIndex(0), &[reg::RAX, reg::RIP, reg::RBX], &mut values)?;
        assert_eq!(
            (values[0].low, values[1].low, values[2].low),
            (7, 0x1000, 0)
        );
        assert_eq!(hv.leaf().sim().register(pt.0, 0, reg::RIP), Some(0x1000));
        // Unknown register names and VPs.
        assert_eq!(
            hv.get_vp_registers(pt, VpIndex(0), &[0x7777_7777], &mut values[..1]),
            Err(EINVAL)
        );
        assert_eq!(
            hv.get_vp_registers(pt, VpIndex(1), &[reg::RAX], &mut values[..1]),
            Err(EINVAL)
        );
        assert_eq!(hv.delete_vp(pt, VpIndex(1)), Err(EINVAL));
        // Many registers: more than one call's worth, all through.
        let many = KVec::from_elem(regs[1], 300, GFP_KERNEL)?;
        hv.set_vp_registers(pt, VpIndex(0), &many)?;
        hv.delete_vp(pt, VpIndex(0))?;
        assert_eq!(hv.leaf().sim().partition(pt.0).unwrap().vps, 0);
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn state_pages_come_from_the_pool() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        hv.create_vp(pt, VpIndex(0))?;
        let before = hv.leaf().sim().partition(pt.0).unwrap().deposited;
        let regs = hv.map_vp_state_page(pt, VpIndex(0), vp_state_page::REGISTERS)?;
        let msg = hv.map_vp_state_page(pt, VpIndex(0), vp_state_page::INTERCEPT_MESSAGE)?;
        assert!(regs != msg && glue::pfn_valid(regs) && glue::pfn_valid(msg));
        assert_eq!(
            hv.map_vp_state_page(pt, VpIndex(0), vp_state_page::REGISTERS)?,
            regs
        );
        assert_eq!(
            hv.leaf().sim().partition(pt.0).unwrap().deposited,
            before.max(2)
        );
        assert_eq!(
            hv.map_vp_state_page(pt, VpIndex(0), vp_state_page::GHCB),
            Err(EINVAL)
        );
        hv.unmap_vp_state_page(pt, VpIndex(0), vp_state_page::REGISTERS)?;
        assert_eq!(
            hv.unmap_vp_state_page(pt, VpIndex(0), vp_state_page::REGISTERS),
            Err(EINVAL)
        );
        // Finalize takes the intercept page back into the pool; withdraw returns it.
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn vp_state_round_trip() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        hv.create_vp(pt, VpIndex(0))?;
        let page = glue::alloc_zeroed_page()?;
        let pfn = glue::page_pfn(&page);
        let addr = glue::page_address(&page);
        // SAFETY: `addr` is the page allocated above, owned by this test.
        unsafe { core::ptr::write_bytes(addr.as_ptr(), 0x5a, 64) };
        hv.set_vp_state(pt, VpIndex(0), vp_state::LAPIC, 0, &[pfn])?;
        // SAFETY: As above.
        unsafe { core::ptr::write_bytes(addr.as_ptr(), 0, 64) };
        hv.get_vp_state(pt, VpIndex(0), vp_state::LAPIC, 0, &[pfn])?;
        // SAFETY: As above.
        let byte = unsafe { addr.as_ptr().add(63).read() };
        assert_eq!(byte, 0x5a);
        // Synthetic timers travel in the pages themselves: 200 bytes.
        let mut timers = [0u8; 200];
        timers[199] = 7;
        hv.set_vp_state_bytes(pt, VpIndex(0), vp_state::SYNTHETIC_TIMERS, &timers)?;
        let mut back = [0u8; 200];
        hv.get_vp_state_bytes(pt, VpIndex(0), vp_state::SYNTHETIC_TIMERS, &mut back)?;
        assert_eq!(back[199], 7);
        let timers_by_pfn = hv.get_vp_state(pt, VpIndex(0), vp_state::SYNTHETIC_TIMERS, 0, &[pfn]);
        assert_eq!(timers_by_pfn, Err(EINVAL));
        assert_eq!(
            hv.get_vp_state(pt, VpIndex(0), vp_state::LAPIC, 0, &[]),
            Err(EINVAL)
        );
        assert_eq!(
            hv.get_vp_state(pt, VpIndex(0), 0x1234, 0, &[pfn]),
            Err(EINVAL)
        );
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn gpa_map_4k_2m_and_access_bits() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        let (_keep, pfns) = pages(3)?;
        let rw = map_flags::READABLE | map_flags::WRITABLE;
        hv.map_gpa_pages(pt, 0x100, rw, &pfns)?;
        assert_eq!(hv.leaf().sim().lookup(pt.0, 0x101), Some((pfns[1], rw)));
        assert_eq!(hv.leaf().sim().lookup(pt.0, 0x103), None);
        // 2M: a 2M-aligned GFN and head PFN. The simulator never touches mapped memory, so any
        // RAM PFN aligned to 512 will do.
        let head = pfns[0] & !511;
        let large = rw | map_flags::LARGE_PAGE;
        hv.map_gpa_pages(pt, 0x400, large, &[head])?;
        assert_eq!(
            hv.leaf().sim().partition(pt.0).unwrap().mapped_pages,
            3 + 512
        );
        assert_eq!(
            hv.leaf().sim().lookup(pt.0, 0x400 + 511),
            Some((head + 511, large))
        );
        assert_eq!(hv.map_gpa_pages(pt, 0x401, large, &[head]), Err(EINVAL));
        assert_eq!(hv.map_gpa_pages(pt, 0x800, large, &[head + 1]), Err(EINVAL));
        // Bad flags, GPAs past the 52-bit space, PFNs that are not RAM.
        assert_eq!(
            hv.map_gpa_pages(pt, 0, 0x4000_0000, &pfns[..1]),
            Err(EINVAL)
        );
        assert_eq!(hv.map_gpa_pages(pt, 1 << 40, rw, &pfns[..1]), Err(EINVAL));
        assert_eq!(hv.map_gpa_pages(pt, 0, rw, &[u64::MAX >> 24]), Err(EINVAL));
        // Accessed and dirty bits.
        assert!(hv.leaf().sim().touch(pt.0, 0x100, false));
        assert!(hv.leaf().sim().touch(pt.0, 0x101, true));
        assert!(!hv.leaf().sim().touch(pt.0, 0x103, false));
        let mut st = [0u8; 3];
        hv.get_gpa_access_states(pt, 0x100, 0, &mut st)?;
        assert_eq!(
            st,
            [
                access_state::ACCESSED,
                access_state::ACCESSED | access_state::DIRTY,
                0
            ]
        );
        hv.get_gpa_access_states(pt, 0x100, access_flags::CLEAR_DIRTY, &mut st)?;
        hv.get_gpa_access_states(pt, 0x100, 0, &mut st)?;
        assert_eq!(st, [access_state::ACCESSED, access_state::ACCESSED, 0]);
        hv.get_gpa_access_states(pt, 0x100, access_flags::SET_DIRTY, &mut st)?;
        hv.get_gpa_access_states(pt, 0x100, access_flags::CLEAR_ACCESSED, &mut st)?;
        let both_bits = access_state::ACCESSED | access_state::DIRTY;
        assert_eq!(st, [both_bits; 3]);
        hv.get_gpa_access_states(pt, 0x100, 0, &mut st)?;
        assert_eq!(st, [0, 0, 0]);
        let both = access_flags::CLEAR_DIRTY | access_flags::SET_DIRTY;
        assert_eq!(
            hv.get_gpa_access_states(pt, 0x100, both, &mut st),
            Err(EINVAL)
        );
        // A no-access mapping blocks every access (the movable-region default).
        hv.map_gpa_pages(pt, 0x200, map_flags::NO_ACCESS, &[0, 0])?;
        assert!(!hv.leaf().sim().touch(pt.0, 0x200, false));
        // Unmap: chunks go away and give their pool pages back.
        hv.unmap_gpa_pages(pt, 0x100, 3, PageSize::Small)?;
        hv.unmap_gpa_pages(pt, 0x200, 2, PageSize::Small)?;
        hv.unmap_gpa_pages(pt, 0x400, 1, PageSize::Large)?;
        let info = hv.leaf().sim().partition(pt.0).unwrap();
        assert_eq!((info.mapped_pages, info.used), (0, INIT_PAGES));
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn gpa_map_charges_tables_as_a_hypervisor_would() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        let (_keep, pfns) = pages(1)?;
        let head = pfns[0] & !511;
        let rw = map_flags::READABLE | map_flags::WRITABLE;
        let large = rw | map_flags::LARGE_PAGE;
        let used = |hv: &Hv| hv.leaf().sim().partition(pt.0).unwrap().used - INIT_PAGES;
        // 2M pages: a directory page for their 1 GiB, no table.
        hv.map_gpa_pages(pt, 0x200, large, &[head])?;
        assert_eq!(used(&hv), 1);
        hv.map_gpa_pages(pt, 0x400, large, &[head])?;
        assert_eq!(used(&hv), 1);
        // 4K pages: a table page for their 2M, once.
        hv.map_gpa_pages(pt, 0x600, rw, &[pfns[0], pfns[0]])?;
        assert_eq!(used(&hv), 2);
        // A 4K page over a 2M page's chunk needs that chunk's table; a 2M page over it again
        // gives the table back.
        hv.map_gpa_pages(pt, 0x205, rw, &pfns[..1])?;
        assert_eq!(used(&hv), 3);
        hv.map_gpa_pages(pt, 0x200, large, &[head])?;
        assert_eq!(used(&hv), 2);
        // Access states go chunk by chunk: from inside an unmapped chunk, across boundaries.
        assert!(hv.leaf().sim().touch(pt.0, 0x3ff, true));
        assert!(hv.leaf().sim().touch(pt.0, 0x400, false));
        // With early returns: each re-issue keeps the states of the reps before it.
        let mut st = KVec::from_elem(0x55u8, 0x520, GFP_KERNEL)?;
        hv.leaf().sim().set_partial_reps(0x9e37_79b9_7f4a_7c15);
        let before = hv.leaf().sim().calls(code::GET_GPA_PAGES_ACCESS_STATES);
        hv.get_gpa_access_states(pt, 0x100, 0, &mut st)?;
        assert!(hv.leaf().sim().calls(code::GET_GPA_PAGES_ACCESS_STATES) - before > 1);
        hv.leaf().sim().set_partial_reps(0);
        for (k, s) in st.iter().enumerate() {
            let want = match 0x100 + k {
                0x3ff => access_state::ACCESSED | access_state::DIRTY,
                0x400 => access_state::ACCESSED,
                _ => 0,
            };
            assert_eq!(*s, want);
        }
        // Cleared, a chunk answers at once; touched again, it reports the page again.
        hv.get_gpa_access_states(pt, 0x100, access_flags::CLEAR_ACCESSED, &mut st)?;
        hv.get_gpa_access_states(pt, 0x100, 0, &mut st)?;
        assert!(st.iter().all(|s| *s == 0));
        assert!(hv.leaf().sim().touch(pt.0, 0x3ff, false));
        hv.get_gpa_access_states(pt, 0x3ff, 0, &mut st[..2])?;
        assert_eq!(st[..2], [access_state::ACCESSED, 0]);
        // Another 1 GiB: its directory and a table.
        hv.map_gpa_pages(pt, 0x40005, rw, &pfns[..1])?;
        assert_eq!(used(&hv), 4);
        hv.unmap_gpa_pages(pt, 0x40005, 1, PageSize::Small)?;
        assert_eq!(used(&hv), 2);
        hv.unmap_gpa_pages(pt, 0x600, 2, PageSize::Small)?;
        assert_eq!(used(&hv), 1);
        hv.unmap_gpa_pages(pt, 0x200, 2, PageSize::Large)?;
        assert_eq!(used(&hv), 0);
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn rep_calls_restart_from_reps_completed() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        let (_keep, one) = pages(1)?;
        let n = 3 * MAP_GPA_BATCH + 7;
        let pfns = KVec::from_elem(one[0], n, GFP_KERNEL)?;
        hv.leaf().sim().set_partial_reps(0x9e37_79b9_7f4a_7c15);
        let before = hv.leaf().sim().calls(code::MAP_GPA_PAGES);
        hv.map_gpa_pages(pt, 0, map_flags::READABLE, &pfns)?;
        let issued = hv.leaf().sim().calls(code::MAP_GPA_PAGES) - before;
        let info = hv.leaf().sim().partition(pt.0).unwrap();
        assert_eq!(info.mapped_pages, n as u64);
        // More issues than batches: the layer restarted partially completed calls.
        assert!(issued > 4);
        hv.leaf().sim().set_partial_reps(0);
        let before = hv.leaf().sim().calls(code::MAP_GPA_PAGES);
        hv.map_gpa_pages(pt, 0x10000, map_flags::READABLE, &pfns)?;
        // Without partial completion and with memory deposited, the TLFS minimum.
        let issued = hv.leaf().sim().calls(code::MAP_GPA_PAGES) - before;
        assert!(issued >= 4 && issued <= 4 + u64::from(MAX_DEPOSIT_ROUNDS));
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn deposit_retry_is_bounded() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        // The hypervisor keeps asking for memory: the layer gives up after the bound.
        let rounds = MAX_DEPOSIT_ROUNDS;
        let short = status::INSUFFICIENT_MEMORY;
        hv.leaf()
            .sim()
            .inject_fault(Some(code::CREATE_VP), 1, rounds + 1, short)?;
        let deposits = hv.leaf().sim().calls(code::DEPOSIT_MEMORY);
        assert_eq!(hv.create_vp(pt, VpIndex(0)), Err(ENOMEM));
        assert_eq!(
            hv.leaf().sim().calls(code::DEPOSIT_MEMORY) - deposits,
            u64::from(MAX_DEPOSIT_ROUNDS)
        );
        assert_eq!(hv.leaf().sim().clear_faults(), 0);
        // One shortage less than the bound: it succeeds.
        let contiguous = status::INSUFFICIENT_CONTIGUOUS_MEMORY;
        hv.leaf()
            .sim()
            .inject_fault(Some(code::CREATE_VP), 1, rounds, contiguous)?;
        hv.create_vp(pt, VpIndex(0))?;
        // A root shortage deposits to the root.
        hv.leaf().sim().inject_fault(
            Some(code::CREATE_VP),
            1,
            1,
            status::INSUFFICIENT_ROOT_MEMORY,
        )?;
        let root = hv.leaf().sim().root_pool().0;
        hv.create_vp(pt, VpIndex(1))?;
        assert_eq!(hv.leaf().sim().root_pool().0, root + 1);
        // A failing deposit ends the retries with its errno.
        hv.leaf()
            .sim()
            .inject_fault(Some(code::CREATE_VP), 1, 1, status::INSUFFICIENT_MEMORY)?;
        hv.leaf()
            .sim()
            .inject_fault(Some(code::DEPOSIT_MEMORY), 1, 1, status::ACCESS_DENIED)?;
        assert_eq!(hv.create_vp(pt, VpIndex(2)), Err(EACCES));
        assert!(!glue::irqs_disabled());
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn fault_injection_reaches_the_caller() -> Result {
        let hv = hv()?;
        let pt = initialized(&hv)?;
        hv.leaf()
            .sim()
            .inject_fault(Some(code::CREATE_VP), 2, 1, status::OPERATION_DENIED)?;
        hv.create_vp(pt, VpIndex(0))?;
        assert_eq!(hv.create_vp(pt, VpIndex(1)), Err(EACCES));
        hv.create_vp(pt, VpIndex(1))?;
        // The n-th call of any code.
        hv.leaf()
            .sim()
            .inject_fault(None, 1, 1, status::PROCESSOR_FEATURE_NOT_SUPPORTED)?;
        assert_eq!(
            hv.get_partition_property(pt, property::XSAVE_STATES),
            Err(EOPNOTSUPP)
        );
        // A map that fails midway is undone: all or nothing.
        let (_keep, one) = pages(1)?;
        let pfns = KVec::from_elem(one[0], 2 * MAP_GPA_BATCH, GFP_KERNEL)?;
        hv.leaf()
            .sim()
            .inject_fault(Some(code::MAP_GPA_PAGES), 2, 1, status::INVALID_PARAMETER)?;
        assert_eq!(
            hv.map_gpa_pages(pt, 0, map_flags::READABLE, &pfns),
            Err(EINVAL)
        );
        assert_eq!(hv.leaf().sim().partition(pt.0).unwrap().mapped_pages, 0);
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn properties_and_interrupts() -> Result {
        let hv = hv()?;
        let pt = hv.create_partition(0, [0; 2], 0)?;
        // Early properties only before initialization; read-only ones never.
        hv.set_partition_property(pt, property::SYNTHETIC_PROC_FEATURES, 0x3)?;
        assert_eq!(
            hv.get_partition_property(pt, property::SYNTHETIC_PROC_FEATURES)?,
            0x3
        );
        assert_eq!(
            hv.set_partition_property(pt, property::XSAVE_STATES, 1),
            Err(EACCES)
        );
        assert_eq!(hv.get_partition_property(pt, 0x1234_5678), Err(EINVAL));
        hv.initialize_partition(pt)?;
        assert_eq!(
            hv.set_partition_property(pt, property::SYNTHETIC_PROC_FEATURES, 0),
            Err(EIO)
        );
        hv.set_partition_property(pt, property::GPA_PAGE_ACCESS_TRACKING, 1)?;
        assert_eq!(
            hv.set_partition_property(pt, property::GPA_PAGE_ACCESS_TRACKING, 2),
            Err(EINVAL)
        );
        assert_eq!(
            hv.get_partition_property(PartitionId::SELF, property::XSAVE_STATES)?,
            0x3
        );
        // Interrupts go to an existing VP, with a vector above the exceptions.
        hv.create_vp(pt, VpIndex(3))?;
        hv.assert_virtual_interrupt(pt, 0, 0, 3, 0x30)?;
        assert_eq!(hv.leaf().sim().pending_interrupts(pt.0, 3), 1);
        assert_eq!(hv.assert_virtual_interrupt(pt, 0, 0, 4, 0x30), Err(EINVAL));
        assert_eq!(hv.assert_virtual_interrupt(pt, 0, 0, 3, 0x5), Err(EINVAL));
        // Intercepts: known types and access masks only.
        hv.install_intercept(pt, 0x3, crate::abi::hv::intercept::X64_IO_PORT, 0x3f8)?;
        assert_eq!(hv.install_intercept(pt, 0x8, 0, 0), Err(EINVAL));
        assert_eq!(hv.install_intercept(pt, 0x1, 4, 0), Err(EINVAL));
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn malformed_calls_get_hyperv_statuses() -> Result {
        let hv = hv()?;
        let sim = hv.leaf().sim();
        let fast = |c: Control| HvResult::from_raw(sim.hypercall_fast(c.raw(), 1, 0)).status();
        assert_eq!(
            fast(Control::new(0x7fff).fast()),
            status::INVALID_HYPERCALL_CODE
        );
        assert_eq!(
            fast(Control::from_raw(
                Control::new(code::INITIALIZE_PARTITION).fast().raw() | 1 << 31
            )),
            status::INVALID_HYPERCALL_INPUT
        );
        // A simple call issued as a rep call, and a rep call issued as a simple one.
        let rep = Control::new(code::INITIALIZE_PARTITION)
            .fast()
            .rep(1, 0)
            .unwrap();
        assert_eq!(fast(rep), status::INVALID_HYPERCALL_INPUT);
        let head = PartitionIdIn {
            partition_id: HV_PARTITION_ID_SELF,
        };
        assert_eq!(
            hv.rep::<_, u64, u64>(code::DEPOSIT_MEMORY, &head, &[], &[], &mut [], 0..0)
                .1,
            Err(HvError(status::INVALID_HYPERCALL_INPUT))
        );
        // A variable header where none belongs; a fast call of a memory-only call.
        assert_eq!(
            hv.rep::<_, u64, u64>(code::CREATE_VP, &head, &[0], &[], &mut [], 0..0)
                .1,
            Err(HvError(status::INVALID_HYPERCALL_INPUT))
        );
        assert_eq!(
            fast(Control::new(code::CREATE_VP).fast()),
            status::INVALID_HYPERCALL_INPUT
        );
        // Input larger than the page, rep start past the count: refused before the leaf.
        let big = KVec::from_elem(0u64, 600, GFP_KERNEL)?;
        assert_eq!(
            hv.rep::<_, _, u64>(code::DEPOSIT_MEMORY, &head, &[], &big, &mut [], 0..600)
                .1,
            Err(HvError(status::INVALID_HYPERCALL_INPUT))
        );
        // Misaligned input pages.
        // SAFETY: The addresses are never dereferenced: the simulator refuses them first.
        let r = unsafe { sim.hypercall(Control::new(code::CREATE_VP).raw(), 0x1004, 0x2000) };
        assert_eq!(HvResult::from_raw(r).status(), status::INVALID_ALIGNMENT);
        // Withdrawing from an empty pool.
        assert_eq!(hv.withdraw_all(PartitionId::SELF)?, 0);
        // No path, failing or not, returns with interrupts off.
        assert!(!glue::irqs_disabled());
        assert!(drained(&hv));
        Ok(())
    }

    #[test]
    fn bench_one_simulated_hypercall() -> Result {
        const N: u32 = 20_000;
        let hv = hv()?;
        let pt = initialized(&hv)?;
        // The floor: the simulator alone, entered directly (no pages, no layer).
        let t = Instant::<Monotonic>::now();
        for _ in 0..N {
            core::hint::black_box(hv.leaf().sim().hypercall_fast(
                Control::new(code::GET_PARTITION_PROPERTY).raw(),
                pt.0,
                0,
            ));
        }
        let floor = t.elapsed().as_nanos() / i64::from(N);
        // The whole layer: encode, per-CPU pages with interrupts off, leaf, simulator, decode.
        let t = Instant::<Monotonic>::now();
        for _ in 0..N {
            core::hint::black_box(hv.get_partition_property(pt, property::XSAVE_STATES)?);
        }
        let layer = t.elapsed().as_nanos() / i64::from(N);
        pr_info!(
            "bench: one simulated hypercall through the layer: {layer} ns; a rejected call into the simulator alone: {floor} ns; ratio {}.{:02}\n",
            layer / floor.max(1),
            (layer * 100 / floor.max(1)) % 100
        );
        teardown(&hv, pt)?;
        assert!(drained(&hv));
        Ok(())
    }
}
