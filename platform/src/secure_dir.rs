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

    /// A root-owned directory with no group/world write anywhere above it, so that the checks
    /// below fail for what the test changes and not for an ancestor (a temp dir under `/tmp`,
    /// mode 1777, would fail whatever the test did). Needs root: only root can own such a place
    /// and chown the test directory away.
    #[cfg(unix)]
    fn root_owned_parent() -> Option<tempfile::TempDir> {
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        let candidates = [target, std::path::PathBuf::from("/run")];
        candidates
            .iter()
            .filter_map(|base| std::fs::canonicalize(base).ok())
            .filter(|base| crate::fs_safe::check_root_owned_not_writable(base).is_ok())
            .find_map(|base| {
                tempfile::Builder::new()
                    .prefix("secure-dir-")
                    .tempdir_in(base)
                    .ok()
            })
    }

    #[cfg(unix)]
    #[test]
    fn unix_accepts_root_owned_and_refuses_writable_or_foreign_directories() {
        use std::os::unix::fs::PermissionsExt;
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to own the test directories and chown them");
            return;
        }
        let Some(parent) = root_owned_parent() else {
            panic!("no root-owned, non-writable place for the test directory");
        };
        let dir = parent.path().join("trust-proxy");
        let mode = |m: u32| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(m));

        secure_system_dir(&dir).expect("a fresh root-owned 0755 directory is accepted");
        assert_eq!(
            std::fs::metadata(&dir)
                .expect("created")
                .permissions()
                .mode()
                & 0o7777,
            0o755
        );

        for writable in [0o775, 0o757, 0o777] {
            mode(writable).expect("chmod");
            match secure_system_dir(&dir) {
                Err(StoreError::Writable { path, mode }) => {
                    assert_eq!((path, mode), (dir.clone(), writable));
                }
                other => panic!("mode {writable:o}: expected Writable, got {other:?}"),
            }
        }
        mode(0o755).expect("chmod");
        secure_system_dir(&dir).expect("accepted again once the mode is back");

        // Owned by nobody (65534): a directory another account planted or can rewrite.
        std::os::unix::fs::chown(&dir, Some(65534), None).expect("chown");
        match secure_system_dir(&dir) {
            Err(StoreError::NotRootOwned { path, uid }) => {
                assert_eq!((path, uid), (dir.clone(), 65534))
            }
            other => panic!("expected NotRootOwned, got {other:?}"),
        }
        std::os::unix::fs::chown(&dir, Some(0), None).expect("chown back");

        // A writable ancestor is named as the culprit, not the directory itself.
        let inner = dir.join("sub");
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o770))
            .expect("chmod parent");
        match secure_system_dir(&inner) {
            Err(StoreError::Writable { path, .. }) => assert_eq!(path, parent.path()),
            other => panic!("expected Writable on the parent, got {other:?}"),
        }
    }
}
