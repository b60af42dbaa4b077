// SPDX-License-Identifier: GPL-2.0

//! KUnit suite of the hypercall layer's encoding: control word and result fields, the status
//! table, and what each shortage asks for.

use kernel::prelude::*;

#[kunit_tests(mshv_hvcall)]
mod t {
    use super::super::{
        deposit::DEPOSIT_MAX_PAGES,
        *, //
    };

    #[test]
    fn control_word_fields() {
        let c = Control::new(0x1234);
        assert_eq!(c.raw(), 0x1234);
        assert_eq!(c.code(), 0x1234);
        assert!(!c.is_fast());
        assert!(c.fast().is_fast());
        assert_eq!(c.fast().raw(), 0x1_1234);
        assert_eq!(c.fast().code(), 0x1234);
        let r = c.rep(0xfff, 0xffe).unwrap();
        assert_eq!(r.raw(), 0x0ffe_0fff_0000_1234);
        assert_eq!((r.rep_count(), r.rep_start()), (0xfff, 0xffe));
        assert!(c.rep(0x1000, 0).is_none());
        assert!(c.rep(5, 6).is_none());
        assert!(c.rep(5, 5).is_none());
        assert!(c.rep(0, 1).is_none());
        assert_eq!(c.rep(1, 0).unwrap().raw(), 0x1_0000_1234);
        assert_eq!(c.rep(0, 0).unwrap().raw(), 0x1234);
        // Re-encoding replaces the fields, it does not OR into them.
        assert_eq!(r.rep(2, 1).unwrap().raw(), 0x0001_0002_0000_1234);
        let v = c.varhead(0x3ff * 8).unwrap();
        assert_eq!(v.raw(), 0x1234 | (0x3ff << 17));
        assert_eq!(v.varhead_bytes(), 0x3ff * 8);
        assert!(c.varhead(0x400 * 8).is_none());
        assert!(c.varhead(12).is_none());
        assert_eq!(c.varhead(8).unwrap().raw(), 0x1234 | (1 << 17));
        assert!(!r.has_reserved_bits());
        for bit in [27, 28, 29, 30, 31, 44, 45, 46, 47, 60, 61, 62, 63] {
            assert!(Control::from_raw(1u64 << bit).has_reserved_bits());
        }
        for bit in [0, 15, 16, 17, 26, 32, 43, 48, 59] {
            assert!(!Control::from_raw(1u64 << bit).has_reserved_bits());
        }
    }

    #[test]
    fn result_fields() {
        let r = HvResult::from_raw(0xffff_f123_ffff_0005);
        assert_eq!(r.status(), 5);
        assert_eq!(r.reps_completed(), 0x123);
        assert_eq!(r.ok(), Err(HvError(5)));
        assert_eq!(HvResult::from_raw(0x0000_0fff_0000_0000).ok(), Ok(()));
        assert_eq!(HvResult::new(0xb, 0xfff).raw(), 0x0000_0fff_0000_000b);
        assert_eq!(HvResult::new(0, 0x1000).reps_completed(), 0);
    }

    #[test]
    fn status_table_matches_upstream() {
        use status::*;
        for s in [
            INVALID_HYPERCALL_CODE,
            INVALID_HYPERCALL_INPUT,
            INVALID_PARAMETER,
            UNKNOWN_PROPERTY,
            PROPERTY_VALUE_OUT_OF_RANGE,
            INVALID_PARTITION_ID,
            INVALID_VP_INDEX,
            INVALID_PORT_ID,
            INVALID_CONNECTION_ID,
            INVALID_LP_INDEX,
            INVALID_REGISTER_VALUE,
        ] {
            assert_eq!(status_to_errno(s), EINVAL);
        }
        assert_eq!(status_to_errno(ACCESS_DENIED), EACCES);
        assert_eq!(status_to_errno(OPERATION_DENIED), EACCES);
        for s in [
            INSUFFICIENT_MEMORY,
            INSUFFICIENT_ROOT_MEMORY,
            INSUFFICIENT_CONTIGUOUS_MEMORY,
            INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY,
        ] {
            assert_eq!(status_to_errno(s), ENOMEM);
        }
        assert_eq!(status_to_errno(PROCESSOR_FEATURE_NOT_SUPPORTED), EOPNOTSUPP);
        for s in [
            INVALID_ALIGNMENT,
            INVALID_PARTITION_STATE,
            NOT_FOUND,
            INSUFFICIENT_BUFFERS,
            INVALID_VP_STATE,
            NO_RESOURCES,
            OPERATION_FAILED,
            TIME_OUT,
            CALL_PENDING,
            0xffff,
        ] {
            assert_eq!(status_to_errno(s), EIO);
        }
    }

    #[test]
    fn shortages_name_their_pool() {
        let pt = 7;
        assert_eq!(
            Shortage::of(status::INSUFFICIENT_MEMORY, pt),
            Some(Shortage {
                partition_id: pt,
                pages: 1,
                contiguous: false
            })
        );
        assert_eq!(
            Shortage::of(status::INSUFFICIENT_CONTIGUOUS_MEMORY, pt),
            Some(Shortage {
                partition_id: pt,
                pages: 8,
                contiguous: true
            })
        );
        assert_eq!(
            Shortage::of(status::INSUFFICIENT_ROOT_MEMORY, pt).map(|s| s.partition_id),
            Some(HV_PARTITION_ID_SELF)
        );
        assert_eq!(
            Shortage::of(status::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY, pt).map(|s| s.partition_id),
            Some(HV_PARTITION_ID_SELF)
        );
        assert_eq!(Shortage::of(status::INVALID_PARAMETER, pt), None);
        let s = Shortage::of(status::INSUFFICIENT_MEMORY, pt).unwrap();
        assert_eq!(s.pages_in_round(0), 1);
        assert_eq!(s.pages_in_round(3), 8);
        assert_eq!(s.pages_in_round(8), 256);
        assert_eq!(s.pages_in_round(9), DEPOSIT_MAX_PAGES);
        assert_eq!(s.pages_in_round(70), DEPOSIT_MAX_PAGES);
    }
}
