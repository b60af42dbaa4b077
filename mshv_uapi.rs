// SPDX-License-Identifier: GPL-2.0

//! Rust mirrors of `uapi/linux/mshv.h`: ioctl numbers and capability numbers.
//!
//! The C header is the definition. The `mshv_uapi` KUnit suite compares every constant here
//! with the value the C compiler computes from the header (`mshv_uapi_check.c`).

use kernel::{
    ioctl::_IOW,
    prelude::*, //
};

/// The ioctl type shared by every `/dev/mshv` ioctl.
pub(crate) const MSHV_IOCTL: u32 = 0xB8;

/// Capability numbers, the argument of [`MSHV_CHECK_EXTENSION`]. Never reused.
pub(crate) mod cap {
    /// The interface is kept stable.
    pub(crate) const CORE_API_STABLE: u32 = 0x0;
    /// The VP register page can be mapped (not provided yet).
    pub(crate) const REGISTER_PAGE: u32 = 0x1;
    /// The VTL driver's return action; never supported by a root driver.
    pub(crate) const VTL_RETURN_ACTION: u32 = 0x2;
    /// The VTL driver's shared DR6; never supported by a root driver.
    pub(crate) const DR6_SHARED: u32 = 0x3;
}

/// `/dev/mshv`: is the capability whose number the argument points to supported?
pub(crate) const MSHV_CHECK_EXTENSION: u32 = _IOW::<u32>(MSHV_IOCTL, 0x00);

/// Every constant of this file, by its name in the C header.
#[cfg(CONFIG_KUNIT = "y")]
pub(crate) const CONSTANTS: &[(&str, u64)] = &[
    ("MSHV_IOCTL", MSHV_IOCTL as u64),
    ("MSHV_CAP_CORE_API_STABLE", cap::CORE_API_STABLE as u64),
    ("MSHV_CAP_REGISTER_PAGE", cap::REGISTER_PAGE as u64),
    ("MSHV_CAP_VTL_RETURN_ACTION", cap::VTL_RETURN_ACTION as u64),
    ("MSHV_CAP_DR6_SHARED", cap::DR6_SHARED as u64),
    ("MSHV_CHECK_EXTENSION", MSHV_CHECK_EXTENSION as u64),
];

#[cfg(CONFIG_KUNIT = "y")]
mod c_values {
    //! The header's constants as the C compiler computed them (`mshv_uapi_check.c`).

    use kernel::{
        ffi::c_char,
        prelude::*, //
    };

    /// One `#define` of the header: `struct mshv_rs_uapi_const` in `mshv_uapi_check.h`.
    #[repr(C)]
    pub(super) struct UapiConst {
        name: *const c_char,
        value: u64,
    }

    extern "C" {
        static mshv_rs_uapi_consts: [UapiConst; 0];
        static mshv_rs_uapi_consts_len: usize;
    }

    /// Returns the C table as `(name, value)` pairs.
    pub(super) fn entries() -> impl Iterator<Item = (&'static CStr, u64)> {
        // SAFETY: `mshv_uapi_check.c` defines both statics as constant data: an array of
        // `mshv_rs_uapi_consts_len` initialised entries, never written.
        let table = unsafe {
            core::slice::from_raw_parts(
                core::ptr::addr_of!(mshv_rs_uapi_consts).cast::<UapiConst>(),
                mshv_rs_uapi_consts_len,
            )
        };
        table.iter().map(|c| {
            // SAFETY: Each `name` is a string literal of the C file: NUL-terminated and static.
            let name = unsafe { CStr::from_char_ptr(c.name) };
            (name, c.value)
        })
    }
}

#[kunit_tests(mshv_uapi)]
mod tests {
    use super::*;

    /// Looks a Rust mirror up by its C name.
    fn rust_value(name: &CStr) -> Option<u64> {
        CONSTANTS
            .iter()
            .find(|(n, _)| n.as_bytes() == name.to_bytes())
            .map(|&(_, v)| v)
    }

    #[test]
    fn every_c_constant_has_an_equal_rust_mirror() {
        let mut count = 0;
        for (name, value) in c_values::entries() {
            assert_eq!(rust_value(name), Some(value));
            count += 1;
        }
        assert_eq!(count, CONSTANTS.len());
    }

    #[test]
    fn check_extension_keeps_the_reserved_number() {
        // The number Linux's own header reserves for MSHV_CHECK_EXTENSION.
        assert_eq!(MSHV_CHECK_EXTENSION, 0x4004_B800);
    }
}
