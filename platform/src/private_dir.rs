//! A fresh private directory for a file handed to another program (macOS `security` reads the
//! certificate from a path). Run as root, `$TMPDIR` may be a user's (`sudo -E`), who could then
//! swap the file between our write and the tool's read; so a privileged run uses a root-owned
//! parent, checked rather than assumed.

use crate::StoreError;
use std::path::Path;

/// A new 0700 directory owned by the effective user: in `system_parent` (which must be a real
/// root-owned directory in which nobody else can replace entries) when `privileged`, in the
/// user's temporary directory otherwise. Removed when the returned value is dropped.
pub fn private_dir(
    system_parent: &Path,
    privileged: bool,
) -> Result<tempfile::TempDir, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile's directories follow the umask (0755 here), not 0700.
    let builder = tempfile::Builder::new()
        .prefix("trust-proxy-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .to_owned();
    let dir = if privileged {
        check_root_owned(system_parent)?;
        builder.tempdir_in(system_parent)
    } else {
        builder.tempdir()
    }
    .map_err(|e| StoreError::Os {
        what: "create a private directory".into(),
        source: e,
    })?;
    let meta = rustix::fs::lstat(dir.path()).map_err(|e| StoreError::Io {
        op: "stat",
        path: dir.path().to_path_buf(),
        source: e.into(),
    })?;
    let mode = meta.st_mode as u32;
    let euid = rustix::process::geteuid();
    if meta.st_uid != euid.as_raw() || mode & 0o077 != 0 || mode & 0o170000 != 0o040000 {
        return Err(StoreError::Writable {
            path: dir.path().to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(dir)
}

/// `path` is a real directory of root's in which no one else can replace entries: not writable
/// by group or others, or sticky.
fn check_root_owned(path: &Path) -> Result<(), StoreError> {
    let meta = rustix::fs::lstat(path).map_err(|e| StoreError::Io {
        op: "stat",
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    if meta.st_uid != 0 {
        return Err(StoreError::NotRootOwned {
            path: path.to_path_buf(),
            uid: meta.st_uid,
        });
    }
    let mode = meta.st_mode as u32;
    let is_dir = mode & 0o170000 == 0o040000;
    let sticky = mode & 0o1000 != 0;
    if !is_dir || (mode & 0o022 != 0 && !sticky) {
        return Err(StoreError::Writable {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn privileged_runs_use_a_checked_root_owned_parent_never_tmpdir() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIPPED: needs root (chown of the test parent)");
            return;
        }
        // A user's directory, like the TMPDIR `sudo -E` passes on.
        let users_tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(users_tmp.path(), Some(65534), Some(65534)).unwrap();
        chmod(users_tmp.path(), 0o777);

        let base = tempfile::tempdir_in("/run")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let parent = base.path().join("parent");
        std::fs::create_dir(&parent).unwrap();
        chmod(&parent, 0o755);
        let dir = private_dir(&parent, true).unwrap();
        // In the checked parent, wherever TMPDIR points.
        assert_eq!(dir.path().parent(), Some(parent.as_path()));
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        drop(dir);

        chmod(&parent, 0o1777);
        assert!(
            private_dir(&parent, true).is_ok(),
            "a sticky parent is safe"
        );
        chmod(&parent, 0o777);
        assert!(matches!(
            private_dir(&parent, true),
            Err(StoreError::Writable { mode: 0o777, .. })
        ));
        chmod(&parent, 0o755);
        std::os::unix::fs::chown(&parent, Some(65534), None).unwrap();
        assert!(matches!(
            private_dir(&parent, true),
            Err(StoreError::NotRootOwned { uid: 65534, .. })
        ));
        let link = base.path().join("link");
        std::os::unix::fs::symlink(users_tmp.path(), &link).unwrap();
        assert!(
            private_dir(&link, true).is_err(),
            "a symlinked parent is refused"
        );
    }
}
