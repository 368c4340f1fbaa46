//! An install (or uninstall, or refresh) is first a list of actions. `--dry-run` prints it;
//! `apply` executes it. Each action can say, before running, what it would change, so the
//! printed plan and the applied result agree.

use crate::analyze::certinfo::Cert;
use serde::Serialize;
use std::path::{Path, PathBuf};
use trust_proxy_platform::fs_safe;
use trust_proxy_platform::{Distrust, PersistentEnv, StoreError, TrustStore};

/// The parts of the OS a plan changes besides files: the trust store, and (Windows, macOS) the
/// environment that GUI apps and services inherit. Tests pass in-memory stand-ins.
#[derive(Clone, Copy)]
pub struct Host<'a> {
    pub store: &'a dyn TrustStore,
    pub session_env: Option<&'a dyn PersistentEnv>,
    /// What the OS distrusts: never written into any file (`trust_proxy_platform::os_distrusted`).
    pub distrust: &'a Distrust,
    /// The optional stores an install was asked to add the CAs to (`--nss`, `--java`).
    pub extra_stores: &'a crate::install::stores::ExtraStores,
}

/// For hosts built without [`Host::with_distrust`] (tests with an in-memory store).
static NO_DISTRUST: Distrust = Distrust::empty();
static NO_EXTRA_STORES: crate::install::stores::ExtraStores =
    crate::install::stores::ExtraStores::none();

impl<'a> Host<'a> {
    pub fn new(store: &'a dyn TrustStore) -> Host<'a> {
        Host {
            store,
            session_env: None,
            distrust: &NO_DISTRUST,
            extra_stores: &NO_EXTRA_STORES,
        }
    }

    pub fn with_extra_stores(mut self, extra: &'a crate::install::stores::ExtraStores) -> Host<'a> {
        self.extra_stores = extra;
        self
    }

    pub fn with_distrust(mut self, distrust: &'a Distrust) -> Host<'a> {
        self.distrust = distrust;
        self
    }

    pub fn with_session_env(mut self, env: Option<&'a dyn PersistentEnv>) -> Host<'a> {
        self.session_env = env;
        self
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Add a root to the OS trust store (anchor file + refresh, keychain, cert store).
    StoreAdd { cert: Cert, name: String },
    /// Remove a root that trust-proxy added (`name` lets a rollback add it back).
    StoreRemove { cert: Cert, name: String },
    /// Make `path` hold exactly `contents` (atomic; unchanged bytes are not rewritten).
    Write {
        path: PathBuf,
        contents: Vec<u8>,
        mode: u32,
    },
    /// Delete `path` if it still holds what trust-proxy wrote (`sha256`); leave it otherwise.
    Remove { path: PathBuf, sha256: String },
    /// Make the hashed directory hold exactly these `(file name, PEM)` entries.
    SyncDir {
        dir: PathBuf,
        entries: Vec<(String, String)>,
    },
    /// Insert, replace (`Some`) or remove (`None`) trust-proxy's marked block in `path`.
    EditBlock {
        path: PathBuf,
        block: Option<String>,
        /// Install created the file: removing the block removes the file when nothing else is
        /// left in it.
        remove_if_empty: bool,
    },
    /// Set these variables and remove those in the environment new GUI apps and services get
    /// (Windows registry environment, macOS LaunchAgent).
    SessionEnv {
        set: Vec<(String, String)>,
        unset: Vec<String>,
    },
    /// Make one of the person's own files (`~/.config/pip/pip.conf`, `~/.bashrc`) hold
    /// `contents` (`None`: not exist), but only while it holds what `expect` says: a file
    /// changed since it was read is left alone (`KeptModified`), never overwritten. The file
    /// keeps its owner and mode; a new one gets `mode_if_new`. The bytes it held are kept for the
    /// rollback.
    EditUserFile {
        path: PathBuf,
        contents: Option<Vec<u8>>,
        expect: Expect,
        mode_if_new: u32,
        /// Missing directories to create first, outermost first (0700, as XDG asks); a
        /// rollback removes them again.
        create_dirs: Vec<PathBuf>,
        /// Directories to remove afterwards if empty, innermost first (those trust-proxy
        /// created for the file).
        remove_dirs_if_empty: Vec<PathBuf>,
    },
    /// Add a root to an optional store (`install --nss`, `--java`; see `install::stores`).
    ExtraStoreAdd {
        store: crate::install::stores::ExtraStore,
        cert: Cert,
        name: String,
    },
    /// Remove a root trust-proxy added to an optional store.
    ExtraStoreRemove {
        store: crate::install::stores::ExtraStore,
        cert: Cert,
        name: String,
    },
}

/// What a user's file must hold for an [`Action::EditUserFile`] to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Absent,
    /// These bytes, by SHA-256 (upper-case hex, as the state records hashes).
    Holds(String),
}

impl Expect {
    /// What `current` is now, as a precondition.
    pub fn of(current: Option<&[u8]>) -> Expect {
        match current {
            None => Expect::Absent,
            Some(bytes) => Expect::Holds(crate::install::state::sha256_hex(bytes)),
        }
    }

    pub fn matches(&self, current: Option<&[u8]>) -> bool {
        *self == Expect::of(current)
    }
}

/// What an action does (or would do) to the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Create,
    Replace,
    Remove,
    Unchanged,
    /// A file to remove was changed by someone else since trust-proxy wrote it: left in place.
    KeptModified,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub action: String,
    pub target: String,
    pub effect: Effect,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub actions: Vec<Action>,
}

impl Action {
    pub fn describe(&self) -> (String, String) {
        match self {
            Action::StoreAdd { cert, .. } => (
                "trust in OS store".to_string(),
                format!(
                    "{} ({})",
                    crate::discover::tunnel::printable(&cert.info.subject),
                    cert.sha256()
                ),
            ),
            Action::StoreRemove { cert, .. } => (
                "remove from OS store".to_string(),
                format!(
                    "{} ({})",
                    crate::discover::tunnel::printable(&cert.info.subject),
                    cert.sha256()
                ),
            ),
            Action::Write { path, .. } => ("write file".to_string(), path.display().to_string()),
            Action::Remove { path, .. } => ("remove file".to_string(), path.display().to_string()),
            Action::SyncDir { dir, entries } => (
                "sync hashed dir".to_string(),
                format!("{} ({} certificates)", dir.display(), entries.len()),
            ),
            Action::SessionEnv { set, unset } => (
                "set session environment".to_string(),
                format!("{} set, {} removed", set.len(), unset.len()),
            ),
            Action::EditUserFile { path, contents, .. } => (
                if contents.is_some() {
                    "edit user file".to_string()
                } else {
                    "remove user file".to_string()
                },
                path.display().to_string(),
            ),
            Action::EditBlock { path, block, .. } => (
                if block.is_some() {
                    "set marked block".to_string()
                } else {
                    "remove marked block".to_string()
                },
                path.display().to_string(),
            ),
            Action::ExtraStoreAdd { store, cert, .. } => store.describe(true, cert),
            Action::ExtraStoreRemove { store, cert, .. } => store.describe(false, cert),
        }
    }

    /// What running this action now would do.
    pub fn predict(&self, host: Host<'_>) -> Result<Effect, StoreError> {
        let store = host.store;
        Ok(match self {
            Action::SessionEnv { set, unset } => {
                let Some(env) = host.session_env else {
                    return Ok(Effect::Unchanged);
                };
                let mut changes = 0;
                for (name, value) in set {
                    if env.get(name)?.as_deref() != Some(value.as_str()) {
                        changes += 1;
                    }
                }
                for name in unset {
                    if env.get(name)?.is_some() {
                        changes += 1;
                    }
                }
                match (changes, set.is_empty()) {
                    (0, _) => Effect::Unchanged,
                    (_, true) => Effect::Remove,
                    _ => Effect::Replace,
                }
            }
            Action::StoreAdd { cert, .. } => {
                if store.contains(&cert.der)? {
                    Effect::Unchanged
                } else {
                    Effect::Create
                }
            }
            Action::StoreRemove { cert, .. } => {
                if store.contains(&cert.der)? {
                    Effect::Remove
                } else {
                    Effect::Unchanged
                }
            }
            Action::Write { path, contents, .. } => match fs_safe::read_nofollow(path)? {
                None => Effect::Create,
                Some(old) if old == *contents => Effect::Unchanged,
                Some(_) => Effect::Replace,
            },
            Action::Remove { path, sha256 } => match fs_safe::read_nofollow(path)? {
                None => Effect::Unchanged,
                Some(old) if crate::install::state::sha256_hex(&old) == *sha256 => Effect::Remove,
                Some(_) => Effect::KeptModified,
            },
            Action::SyncDir { dir, entries } => {
                let current = read_managed_dir(dir)?;
                if current.is_none() {
                    if entries.is_empty() {
                        Effect::Unchanged
                    } else {
                        Effect::Create
                    }
                } else if current.as_deref() == Some(entries.as_slice()) {
                    Effect::Unchanged
                } else if entries.is_empty() {
                    Effect::Remove
                } else {
                    Effect::Replace
                }
            }
            Action::EditUserFile {
                path,
                contents,
                expect,
                ..
            } => {
                let current = fs_safe::read_nofollow(path)?;
                user_file_effect(current.as_deref(), contents.as_deref(), expect)
            }
            Action::EditBlock { path, block, .. } => {
                let old = fs_safe::read_nofollow(path)?.unwrap_or_default();
                let old_text = String::from_utf8_lossy(&old).into_owned();
                match crate::install::envsnippet::replace_marked_block(&old_text, block.as_deref())
                {
                    Ok(new) if new == old_text => Effect::Unchanged,
                    Ok(_) if block.is_none() => Effect::Remove,
                    Ok(_) => Effect::Replace,
                    // Reported again, with its reason, when applied.
                    Err(_) => Effect::Replace,
                }
            }
            Action::ExtraStoreAdd { store, cert, .. } => store.predict(true, cert)?,
            Action::ExtraStoreRemove { store, cert, .. } => store.predict(false, cert)?,
        })
    }
}

/// What an [`Action::EditUserFile`] does to a file holding `current`.
pub fn user_file_effect(
    current: Option<&[u8]>,
    contents: Option<&[u8]>,
    expect: &Expect,
) -> Effect {
    if !expect.matches(current) {
        return Effect::KeptModified;
    }
    match (current, contents) {
        (old, new) if old == new => Effect::Unchanged,
        (Some(_), None) => Effect::Remove,
        (None, Some(_)) => Effect::Create,
        _ => Effect::Replace,
    }
}

impl Plan {
    pub fn steps(&self, host: Host<'_>) -> Result<Vec<PlannedStep>, StoreError> {
        self.actions
            .iter()
            .map(|a| {
                let (action, target) = a.describe();
                Ok(PlannedStep {
                    action,
                    target,
                    effect: a.predict(host)?,
                })
            })
            .collect()
    }
}

/// The managed entries of a hashed dir, sorted by name; `None` when the dir does not exist.
pub fn read_managed_dir(dir: &Path) -> Result<Option<Vec<(String, String)>>, StoreError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                op: "stat",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    if meta.file_type().is_symlink() {
        return Err(StoreError::Symlink {
            path: dir.to_path_buf(),
        });
    }
    let read = std::fs::read_dir(dir).map_err(|source| StoreError::Io {
        op: "read directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !crate::install::bundle::is_hashed_entry_name(&name) {
            continue;
        }
        if let Some(bytes) = fs_safe::read_nofollow(&entry.path())? {
            entries.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    entries.sort();
    Ok(Some(entries))
}
