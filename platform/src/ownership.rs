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

/// Refuses `path` unless it belongs to the user running and nobody else can change it
/// (administrators aside, on Windows, where an elevated run makes them the owner).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_file_sddl_grants_write_to_admins_only() {
        let (owner, dacl) = SYSTEM_FILE_SDDL.split_at(SYSTEM_FILE_SDDL.find("D:").unwrap_or(0));
        assert_eq!(owner, "O:BA");
        assert!(dacl.starts_with("D:P("), "protected: nothing inherited");
        let aces: Vec<Vec<&str>> = dacl
            .split('(')
            .skip(1)
            .map(|a| a.trim_end_matches(')').split(';').collect())
            .collect();
        assert_eq!(aces.len(), 3);
        for ace in &aces {
            match (ace.first(), ace.get(2), ace.get(5)) {
                (Some(&"A"), Some(&"FA"), Some(&("SY" | "BA"))) => {}
                (Some(&"A"), Some(&"0x1200a9"), Some(&"BU")) => {}
                other => panic!("unexpected ACE {other:?}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn user_file_must_be_the_running_users_and_not_group_writable() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(dir) = tempfile::tempdir() else { return };
        let p = dir.path().join("state.json");
        std::fs::write(&p, b"{}").expect("seed");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        check_user_file(&p).expect("own file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        assert!(matches!(
            check_user_file(&p),
            Err(StoreError::Writable { mode: 0o664, .. })
        ));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&p, Some(65534), None).expect("chown");
            assert!(matches!(
                check_user_file(&p),
                Err(StoreError::WrongOwner { .. })
            ));
            // Given back to root (it is the system scope's file now) with its write bits cut.
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).expect("chmod");
            secure_system_file(&p).expect("secure");
            let meta = std::fs::metadata(&p).expect("meta");
            assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
            assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        }
    }

    /// Whether this Windows is wine, which accepts a new owner or DACL for a file and keeps
    /// neither.
    #[cfg(windows)]
    fn under_wine() -> bool {
        use windows_sys::Win32::System::Registry::{
            RegCloseKey, RegOpenKeyExW, HKEY, HKEY_LOCAL_MACHINE, KEY_READ,
        };
        let name: Vec<u16> = "Software\\Wine".encode_utf16().chain([0]).collect();
        let mut key: HKEY = std::ptr::null_mut();
        // SAFETY: NUL-terminated name; the key is closed below.
        let found =
            unsafe { RegOpenKeyExW(HKEY_LOCAL_MACHINE, name.as_ptr(), 0, KEY_READ, &mut key) } == 0;
        if found {
            // SAFETY: opened above.
            unsafe { RegCloseKey(key) };
        }
        found
    }

    /// Runs on Windows CI and under wine (target x86_64-pc-windows-gnu, see README).
    #[cfg(windows)]
    #[test]
    fn windows_file_owner_and_dacl_are_checked_and_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("state.json");
        std::fs::write(&p, b"{}").expect("seed");
        check_user_file(&p).expect("a file this user just created is theirs");

        // Not Administrators' or SYSTEM's file: refused for the system scope.
        let err = check_system_file(&p).expect_err("owned by the user");
        assert!(matches!(err, StoreError::WrongOwner { .. }), "{err}");

        match secure_system_file(&p) {
            Ok(()) => check_system_file(&p).expect("checked after setting"),
            // Wine accepts the new owner and keeps the old one: the check after the set says so
            // instead of reporting a file it did not protect as protected.
            Err(StoreError::WrongOwner { .. }) if under_wine() => {
                eprintln!("wine ignored the owner change; refused as it should be")
            }
            Err(e) => panic!("{e}"),
        }
    }
}
