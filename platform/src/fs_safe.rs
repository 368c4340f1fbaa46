//! File operations for trust-store paths that a privileged process writes: atomic replace,
//! no symlink following anywhere in the path, delete only what we wrote.

use std::io;
use std::path::Path;

use crate::StoreError;

#[cfg(not(unix))]
mod portable;
#[cfg(unix)]
mod unix;

#[cfg(not(unix))]
pub use portable::*;
#[cfg(unix)]
pub use unix::*;

/// What [`remove_if_hash_matches`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    Absent,
    /// The file holds other bytes (someone else's file or a newer version): left alone.
    HashMismatch,
}

pub(crate) fn io_err(op: &'static str, path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        op,
        path: path.into(),
        source,
    }
}
