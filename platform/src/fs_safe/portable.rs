//! Non-Unix (Windows): the same contract with path-based checks. Without `openat` a link swapped
//! in between the check and the use is not caught; creating symlinks on Windows needs a privilege
//! that ordinary users lack by default, and nothing here runs as a service. `mode` is ignored:
//! files inherit the directory's ACL.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{io_err, Removal};
use crate::StoreError;

/// Replaces `path` with `bytes` so readers see either the old or the new file, never a mix.
/// Refuses if any existing component of `path` is a symlink or junction. Parents must exist.
/// The portable stand-in for the Unix `SafeDir`: path-based, each write already durable.
pub struct SafeDir {
    path: PathBuf,
}

impl SafeDir {
    pub fn open(path: &Path, create: Option<u32>) -> Result<SafeDir, StoreError> {
        if let Some(mode) = create {
            create_dir_all(path, mode)?;
        }
        refuse_links(path)?;
        Ok(SafeDir {
            path: path.to_path_buf(),
        })
    }

    fn join(&self, name: &str) -> Result<PathBuf, StoreError> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            return Err(io_err(
                "resolve",
                &self.path.join(name),
                io::ErrorKind::InvalidInput.into(),
            ));
        }
        Ok(self.path.join(name))
    }

    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_nofollow(&self.join(name)?)
    }

    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
        write_atomic(&self.join(name)?, bytes, mode)
    }

    pub fn remove_if_hash_matches(
        &self,
        name: &str,
        sha256: &[u8; 32],
    ) -> Result<Removal, StoreError> {
        remove_if_hash_matches(&self.join(name)?, sha256)
    }

    pub fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8], _mode: u32) -> Result<(), StoreError> {
    refuse_links(path)?;
    if let Ok(meta) = fs::symlink_metadata(path) {
        if !meta.is_file() {
            return Err(io_err("replace", path, io::ErrorKind::InvalidInput.into()));
        }
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io_err("resolve", path, io::ErrorKind::InvalidInput.into()));
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut created = None;
    for _ in 0..16 {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => {
                created = Some((tmp, file));
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create temp for", path, e)),
        }
    }
    let Some((tmp, mut file)) = created else {
        return Err(io_err(
            "create temp for",
            path,
            io::ErrorKind::AlreadyExists.into(),
        ));
    };
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            // MoveFileEx with MOVEFILE_REPLACE_EXISTING: replaces in one step on NTFS.
            fs::rename(&tmp, path)
        });
    if let Err(e) = result {
        let _cleanup = fs::remove_file(&tmp);
        return Err(io_err("write", path, e));
    }
    Ok(())
}

/// The files trust-proxy edits but does not own (`/etc/environment`, profile.d) exist on Unix
/// only; here the replacement is [`write_atomic`]'s, whose rename (MoveFileEx) keeps neither
/// the replaced file's DACL nor its owner: the new file inherits the directory's.
pub fn replace_keeping_metadata(
    path: &Path,
    bytes: &[u8],
    mode_if_new: u32,
) -> Result<(), StoreError> {
    write_atomic(path, bytes, mode_if_new)
}

/// Whether `path` still names the file `open` was opened from (false when nothing is there):
/// a lock taken on a file that has since been removed or replaced excludes nobody. Files are
/// the same when their volume serial number and file index are.
#[cfg(windows)]
pub fn names_same_file(open: &fs::File, path: &Path) -> io::Result<bool> {
    let now = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(file_identity(open)? == file_identity(&now)?)
}

#[cfg(windows)]
fn file_identity(file: &fs::File) -> io::Result<(u32, u32, u32)> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
    };
    let mut info = BY_HANDLE_FILE_INFORMATION::default();
    // SAFETY: the handle is open for as long as `file` lives; `info` is a valid out-pointer.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((
        info.dwVolumeSerialNumber,
        info.nFileIndexHigh,
        info.nFileIndexLow,
    ))
}

#[cfg(not(windows))]
pub fn names_same_file(_open: &fs::File, path: &Path) -> io::Result<bool> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "telling whether {} is an open file on this OS",
            path.display()
        ),
    ))
}

/// Creates `path` and any missing parents, refusing links on the way.
pub fn create_dir_all(path: &Path, _mode: u32) -> Result<(), StoreError> {
    refuse_links(path)?;
    fs::create_dir_all(path).map_err(|e| io_err("create directory", path, e))
}

/// The file's bytes, `None` if it does not exist; a link at the file or above is an error.
pub fn read_nofollow(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    refuse_links(path)?;
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path, e)),
    }
}

/// Deletes `path` only if its contents hash to `sha256`.
pub fn remove_if_hash_matches(path: &Path, sha256: &[u8; 32]) -> Result<Removal, StoreError> {
    let Some(bytes) = read_nofollow(path)? else {
        return Ok(Removal::Absent);
    };
    if &crate::sha256(&bytes) != sha256 {
        return Ok(Removal::HashMismatch);
    }
    fs::remove_file(path).map_err(|e| io_err("remove", path, e))?;
    Ok(Removal::Removed)
}

/// Ownership by uid 0 has no meaning here; callers must not treat this as a pass.
pub fn check_root_owned_not_writable(path: &Path) -> Result<(), StoreError> {
    Err(StoreError::Unsupported(format!(
        "root-ownership check of {} is Unix-only",
        path.display()
    )))
}

fn refuse_links(path: &Path) -> Result<(), StoreError> {
    let mut prefix = PathBuf::new();
    for comp in path.components() {
        prefix.push(comp);
        match comp {
            Component::Prefix(_) | Component::CurDir => continue,
            Component::ParentDir => {
                return Err(io_err("resolve", path, io::ErrorKind::InvalidInput.into()))
            }
            Component::RootDir | Component::Normal(_) => {}
        }
        match fs::symlink_metadata(&prefix) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StoreError::Symlink { path: prefix })
            }
            Ok(_) => {}
            // Nothing below a missing component exists either.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("stat", &prefix, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replace_read_remove() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("a.crt");
        write_atomic(&p, b"one", 0o644).expect("write");
        write_atomic(&p, b"two", 0o644).expect("replace");
        assert_eq!(read_nofollow(&p).expect("read"), Some(b"two".to_vec()));
        assert_eq!(std::fs::read_dir(d.path()).expect("ls").count(), 1);
        assert!(write_atomic(&d.path().join("no/dir/a.crt"), b"x", 0o644).is_err());
        create_dir_all(&d.path().join("no/dir"), 0o755).expect("mkdir");
        assert_eq!(
            read_nofollow(&d.path().join("missing")).expect("read"),
            None
        );
        assert_eq!(
            remove_if_hash_matches(&p, &crate::sha256(b"one")).expect("rm"),
            Removal::HashMismatch
        );
        assert_eq!(
            remove_if_hash_matches(&p, &crate::sha256(b"two")).expect("rm"),
            Removal::Removed
        );
        assert!(check_root_owned_not_writable(d.path()).is_err());
    }

    #[cfg(windows)]
    #[test]
    fn names_same_file_tells_a_replaced_or_removed_file() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join(".lock");
        std::fs::write(&p, b"").expect("seed");
        let held = fs::File::open(&p).expect("open");
        assert!(names_same_file(&held, &p).expect("same"));
        // Windows refuses to rename over or reopen a file that is open: another name stands in.
        let other = d.path().join(".lock-new");
        std::fs::write(&other, b"").expect("seed");
        assert!(!names_same_file(&held, &other).expect("another file"));
        assert!(!names_same_file(&held, &d.path().join("gone")).expect("absent"));
    }
}
