// SPDX-License-Identifier: GPL-2.0

//! The capability table: what `MSHV_CHECK_EXTENSION` answers.
//!
//! Every ABI element (ioctl, flag bit, mmap offset, passthrough hypercall) belongs to exactly one
//! capability, added in the same commit as the element. Adding one is an entry in [`CAPS`], a
//! test in the suite below, and a line in `Documentation/mshv.rst`. Numbers live in
//! `uapi/linux/mshv.h` and are never reused.

use kernel::prelude::*;

use crate::abi::uapi::{
    cap,
    limits::*, //
};

/// How a supported capability is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Supported, answered with this positive value: 1 for a plain feature, the limit for a
    /// value-bearing capability.
    Value(u32),
}

/// One supported capability.
pub(crate) struct Cap {
    /// The number userspace asks for.
    pub(crate) id: u32,
    /// The name of the number in `uapi/linux/mshv.h`.
    pub(crate) name: &'static str,
    /// The answer.
    pub(crate) answer: Answer,
}

/// Every capability this build supports. Ids missing here (unknown, reserved, or VTL-only ones)
/// are answered 0.
pub(crate) static CAPS: &[Cap] = &[
    Cap {
        id: cap::CORE_API_STABLE,
        name: "MSHV_CAP_CORE_API_STABLE",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::REGISTER_PAGE,
        name: "MSHV_CAP_REGISTER_PAGE",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::INTERCEPT_MESSAGE_PAGE,
        name: "MSHV_CAP_INTERCEPT_MESSAGE_PAGE",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::MSI_ROUTING,
        name: "MSHV_CAP_MSI_ROUTING",
        answer: Answer::Value(crate::abi::uapi::MSHV_MAX_GUEST_IRQS),
    },
    Cap {
        id: cap::IRQFD,
        name: "MSHV_CAP_IRQFD",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::MOVABLE_MEMORY,
        name: "MSHV_CAP_MOVABLE_MEMORY",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::PINNED_MEMORY,
        name: "MSHV_CAP_PINNED_MEMORY",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::MMIO_MEMORY,
        name: "MSHV_CAP_MMIO_MEMORY",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::IOEVENTFD,
        name: "MSHV_CAP_IOEVENTFD",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::IOEVENTFD_PIO,
        name: "MSHV_CAP_IOEVENTFD_PIO",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::IRQFD_RESAMPLE,
        name: "MSHV_CAP_IRQFD_RESAMPLE",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::NR_MEM_REGIONS,
        name: "MSHV_CAP_NR_MEM_REGIONS",
        answer: Answer::Value(MAX_REGIONS),
    },
    Cap {
        id: cap::NR_IOEVENTFDS,
        name: "MSHV_CAP_NR_IOEVENTFDS",
        answer: Answer::Value(MAX_IOEVENTFDS),
    },
    Cap {
        id: cap::NR_IRQFDS,
        name: "MSHV_CAP_NR_IRQFDS",
        answer: Answer::Value(MAX_IRQFDS),
    },
    Cap {
        id: cap::GPAP_ACCESS_BITMAP,
        name: "MSHV_CAP_GPAP_ACCESS_BITMAP",
        answer: Answer::Value(GPAP_MAX_PAGES),
    },
    Cap {
        id: cap::VP_STATE,
        name: "MSHV_CAP_VP_STATE",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::CREATE_PARTITION,
        name: "MSHV_CAP_CREATE_PARTITION",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::CREATE_PARTITION_V2,
        name: "MSHV_CAP_CREATE_PARTITION_V2",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::CHECK_EXTENSION_PARTITION,
        name: "MSHV_CAP_CHECK_EXTENSION_PARTITION",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::VPS,
        name: "MSHV_CAP_VPS",
        answer: Answer::Value(MAX_VPS),
    },
    Cap {
        id: cap::GUEST_MEMORY,
        name: "MSHV_CAP_GUEST_MEMORY",
        answer: Answer::Value(1),
    },
    Cap {
        id: cap::ROOT_HVCALL,
        name: "MSHV_CAP_ROOT_HVCALL",
        answer: Answer::Value(1),
    },
];

/// The largest answer: it travels back as the ioctl's `int` return value.
const MAX_ANSWER: u32 = i32::MAX as u32;

/// Answers `MSHV_CHECK_EXTENSION` for capability `id`: 0 when unsupported or unknown.
pub(crate) fn check_extension(id: u32) -> u32 {
    match CAPS.iter().find(|c| c.id == id).map(|c| c.answer) {
        Some(Answer::Value(v)) => v.min(MAX_ANSWER),
        None => 0,
    }
}

#[kunit_tests(mshv_caps)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        for (i, a) in CAPS.iter().enumerate() {
            for b in &CAPS[i + 1..] {
                assert!(a.id != b.id);
                assert!(a.name != b.name);
            }
        }
    }

    #[test]
    fn names_match_the_header() {
        // The header's values are checked against the C compiler by the `mshv_uapi` suite; here
        // each entry's name must be the header's name for its id.
        for c in CAPS {
            let mirror = crate::abi::uapi::CONSTANTS
                .iter()
                .find(|(n, _)| *n == c.name)
                .map(|&(_, v)| v);
            assert_eq!(mirror, Some(u64::from(c.id)));
        }
    }

    #[test]
    fn answers_are_positive_ints() {
        for c in CAPS {
            let Answer::Value(v) = c.answer;
            assert!(v > 0 && v <= MAX_ANSWER);
            assert_eq!(check_extension(c.id), v);
        }
    }

    #[test]
    fn core_api_stable_answers_one() {
        assert_eq!(check_extension(cap::CORE_API_STABLE), 1);
    }

    #[test]
    fn vps_answers_the_limit() {
        // More than upstream's 256 (cloud-hypervisor #5357).
        assert_eq!(check_extension(cap::VPS), 1024);
    }

    #[test]
    fn unsupported_and_unknown_ids_answer_zero() {
        // VTL-only, taken out of tree, and never assigned.
        for id in [
            cap::VTL_RETURN_ACTION,
            cap::DR6_SHARED,
            4,
            0xffff,
            0x8000_0000,
            u32::MAX,
        ] {
            assert_eq!(check_extension(id), 0);
        }
    }
}
