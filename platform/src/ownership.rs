//! Who may change trust-proxy's own files. The system-scope state and every file in the system
//! directory decide what the whole machine trusts: root (Unix) or SYSTEM / Administrators
//! (Windows) own them and nobody else can write them. User-scope state decides what one user's
//! tools trust: it belongs to that user. Checked on every read, set on every write.

use std::path::Path;

use crate::StoreError;

#[cfg(windows)]
mod windows;

/// The Windows security descriptor for a file in the system directory, in SDDL: owner
/// Administrators, a protected DACL (nothing inherited) granting SYSTEM and Administrators full
/// access and Users read (`0x1200a9` = FILE_GENERIC_READ | FILE_GENERIC_EXECUTE).
pub const SYSTEM_FILE_SDDL: &str = "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)";

/// Refuses `path` unless only the system's administrators can change it (and, on Unix, every
/// directory above it: a writable parent could swap the file).
pub fn check_system_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        crate::fs_safe::check_root_owned_not_writable(path)
    }
    #[cfg(windows)]
    {
        windows::check_system_file(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        Err(unsupported(path))
    }
}

/// Gives a file trust-proxy just wrote in the system directory the ownership and permissions
/// [`check_system_file`] asks for, then checks them.
pub fn secure_system_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        crate::fs_safe::make_root_owned_not_writable(path)
    }
    #[cfg(windows)]
    {
        windows::secure_system_file(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        Err(unsupported(path))
    }
}

/// Refuses `path` unless it belongs to the user running and nobody else (administrators
/// aside, on Windows) can change it.
pub fn check_user_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        crate::fs_safe::check_owned_by_current_user(path)
    }
    #[cfg(windows)]
    {
        windows::check_user_file(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        Err(unsupported(path))
    }
}

#[cfg(not(any(unix, windows)))]
fn unsupported(path: &Path) -> StoreError {
    StoreError::Unsupported(format!(
        "ownership of {} on {}",
        path.display(),
        std::env::consts::OS
    ))
}
