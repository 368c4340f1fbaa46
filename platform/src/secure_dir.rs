//! The system-scope directory (state, bundles) made safe before anything is written into it.
//!
//! What sits there decides what every program on the machine trusts, so no ordinary user may
//! create, replace or edit files in it. On Unix that is root ownership and no group/world write
//! (`fs_safe` already checks it). On Windows `%ProgramData%` lets Users create folders and files
//! by default, and a folder inherits that, so ours gets its own protected DACL and a checked owner
//! (a folder a user planted before the first install is owned by that user: refused).

use std::path::Path;

use crate::StoreError;

#[cfg(windows)]
pub(crate) mod windows;

/// The Windows security descriptor for the directory, in SDDL:
/// - `O:BA` owner Administrators, so the owner check below also passes when a policy would
///   otherwise make the creating admin account the owner (and creation fails for a non-elevated
///   process, whose Administrators membership is deny-only: the right answer);
/// - `D:P` a protected DACL: nothing inherited from `%ProgramData%`;
/// - SYSTEM and Administrators full access (`FA`), Users read and execute (`0x1200a9` =
///   FILE_GENERIC_READ | FILE_GENERIC_EXECUTE), all inherited by files and subfolders (`OICI`).
pub const SYSTEM_DIR_SDDL: &str = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)";

/// Creates `path` if missing and checks that only administrators can change what is in it.
///
/// Unix: created with mode 0755, then [`crate::fs_safe::check_root_owned_not_writable`] on it
/// and every directory above. Windows: created with [`SYSTEM_DIR_SDDL`]; an existing directory
/// must be owned by SYSTEM or Administrators (else refused, naming the owner) and gets the
/// protected DACL if it has a different one.
pub fn secure_system_dir(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        crate::fs_safe::create_dir_all(path, 0o755)?;
        crate::fs_safe::check_root_owned_not_writable(path)
    }
    #[cfg(windows)]
    {
        windows::secure_system_dir(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        Err(StoreError::Unsupported(format!(
            "securing {} on {}",
            path.display(),
            std::env::consts::OS
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ACEs of an SDDL string, `(A;OICI;FA;;;SY)` -> `["A", "OICI", "FA", "", "", "SY"]`.
    fn aces(sddl: &str) -> Vec<Vec<&str>> {
        sddl.split('(')
            .skip(1)
            .map(|a| a.trim_end_matches(')').split(';').collect())
            .collect()
    }

    #[test]
    fn sddl_grants_write_to_admins_only() {
        let (owner, dacl) = SYSTEM_DIR_SDDL.split_at(SYSTEM_DIR_SDDL.find("D:").unwrap_or(0));
        assert_eq!(owner, "O:BA");
        // Protected: nothing inherited from %ProgramData%, whose ACL lets Users create files.
        assert!(dacl.starts_with("D:P("));
        let aces = aces(dacl);
        assert_eq!(aces.len(), 3);
        for ace in &aces {
            assert_eq!(ace.len(), 6, "{ace:?}");
            assert_eq!(ace[0], "A", "allow ACEs only");
            assert_eq!(ace[1], "OICI", "inherited by files and subfolders");
            match (ace[2], ace[5]) {
                ("FA", "SY" | "BA") => {}
                // FILE_GENERIC_READ | FILE_GENERIC_EXECUTE, no write/append/delete bit.
                (mask, "BU") => {
                    let bits = u32::from_str_radix(mask.trim_start_matches("0x"), 16).unwrap_or(0);
                    assert_eq!(bits, 0x0012_00a9);
                    let write = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x1_0000 | 0x4_0000 | 0x8_0000;
                    assert_eq!(bits & write, 0, "Users must not write");
                }
                other => panic!("unexpected ACE {other:?}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn unix_creates_then_refuses_a_writable_directory() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(tmp) = tempfile::tempdir() else { return };
        let dir = tmp.path().join("trust-proxy");
        // Whatever the verdict on the parents (a temp dir need not be root-owned), it is created.
        let _ = secure_system_dir(&dir);
        assert!(dir.is_dir());
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
        assert!(secure_system_dir(&dir).is_err());
    }
}
