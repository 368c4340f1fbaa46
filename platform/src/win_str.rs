//! UTF-16 conversions for the `W` Windows APIs.

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;

use crate::StoreError;

/// NUL-terminated UTF-16. An interior NUL would silently cut the string short in the API, so
/// it is an error.
pub(crate) fn wide(s: impl AsRef<OsStr>) -> Result<Vec<u16>, StoreError> {
    let mut out: Vec<u16> = s.as_ref().encode_wide().collect();
    if out.contains(&0) {
        return Err(StoreError::Platform {
            what: format!("{:?}", s.as_ref()),
            message: "contains NUL".into(),
        });
    }
    out.push(0);
    Ok(out)
}

/// A Win32 error code (`WIN32_ERROR` / `LSTATUS`) as an [`StoreError::Os`].
pub(crate) fn os_err(what: impl Into<String>, code: u32) -> StoreError {
    StoreError::Os {
        what: what.into(),
        // Win32 error codes are small positive numbers; the cast keeps them intact.
        source: io::Error::from_raw_os_error(code as i32),
    }
}

/// `GetLastError()` after a BOOL-returning call failed.
pub(crate) fn last_err(what: impl Into<String>) -> StoreError {
    StoreError::Os {
        what: what.into(),
        source: io::Error::last_os_error(),
    }
}
