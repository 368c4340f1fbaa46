//! Executes a plan under a lock. Every completed step records how to undo itself; if a later
//! step fails, the completed ones are undone in reverse order, so the previous installation is
//! left as it was.

use crate::plan::{read_managed_dir, Action, Effect, Host, Plan, PlannedStep};
use crate::state::SessionVar;
use std::fs::File;
use std::path::{Path, PathBuf};
use trust_proxy_platform::fs_safe;
use trust_proxy_platform::{Change, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("another trust-proxy run is changing {} right now (lock {}); try again when it has finished", dir.display(), lock.display())]
    Locked { dir: PathBuf, lock: PathBuf },
    #[error("could not prepare {}: {source}", dir.display())]
    Prepare { dir: PathBuf, source: StoreError },
    #[error("step {step} ({what}) failed: {message}; {rollback}")]
    Step {
        step: usize,
        what: String,
        message: String,
        rollback: String,
    },
}

/// Test seam: make step `n` fail before it runs, to prove the rollback.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    pub fail_before_step: Option<usize>,
}

enum Undo {
    Nothing,
    StoreRemove(crate::certinfo::Cert, String),
    StoreAdd(crate::certinfo::Cert, String),
    RestoreFile(PathBuf, Option<Vec<u8>>),
    RestoreDir(PathBuf, Option<Vec<(String, String)>>),
    /// The session variables as they were (`previous: None`: it was not set).
    RestoreSessionEnv(Vec<SessionVar>),
}

/// Holds the lock for as long as it lives.
pub struct Lock {
    _file: File,
    created_dir: Option<PathBuf>,
    lock_path: PathBuf,
}

impl Lock {
    /// Creates `dir` (0755) if needed and takes an exclusive, non-blocking lock in it. A
    /// `system` directory decides what the whole machine trusts: it must be root-owned and not
    /// writable by others all the way up (Unix), or created with a protected ACL and owned by
    /// SYSTEM or Administrators (Windows).
    pub fn acquire(dir: &Path, lock_path: &Path, system: bool) -> Result<Lock, ApplyError> {
        let existed = std::fs::symlink_metadata(dir).is_ok();
        let prepared = if system {
            trust_proxy_platform::secure_system_dir(dir)
        } else {
            fs_safe::create_dir_all(dir, 0o755)
        };
        prepared.map_err(|source| ApplyError::Prepare {
            dir: dir.to_path_buf(),
            source,
        })?;
        if fs_safe::read_nofollow(lock_path).is_err() {
            return Err(ApplyError::Prepare {
                dir: dir.to_path_buf(),
                source: StoreError::Symlink {
                    path: lock_path.to_path_buf(),
                },
            });
        }
        let file = open_lock_file(lock_path).map_err(|source| ApplyError::Prepare {
            dir: dir.to_path_buf(),
            source: StoreError::Io {
                op: "open lock",
                path: lock_path.to_path_buf(),
                source,
            },
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Lock {
                _file: file,
                created_dir: (!existed).then(|| dir.to_path_buf()),
                lock_path: lock_path.to_path_buf(),
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(ApplyError::Locked {
                dir: dir.to_path_buf(),
                lock: lock_path.to_path_buf(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(ApplyError::Prepare {
                dir: dir.to_path_buf(),
                source: StoreError::Io {
                    op: "lock",
                    path: lock_path.to_path_buf(),
                    source,
                },
            }),
        }
    }

    /// After a failed first install or a full uninstall: remove the lock file and, if this run
    /// created the directory, the directory (only when empty).
    pub fn remove_traces(&self, force_dir: Option<&Path>) {
        let _ = std::fs::remove_file(&self.lock_path);
        if let Some(dir) = self.created_dir.as_deref().or(force_dir) {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(unix)]
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Runs every action; on failure undoes the completed ones. The caller holds the [`Lock`].
pub fn apply(
    plan: &Plan,
    host: Host<'_>,
    options: ApplyOptions,
) -> Result<Vec<PlannedStep>, ApplyError> {
    let mut undo: Vec<Undo> = Vec::new();
    let mut done = Vec::new();
    for (i, action) in plan.actions.iter().enumerate() {
        let (what, target) = action.describe();
        let result = if options.fail_before_step == Some(i) {
            Err(format!("injected failure before step {i}"))
        } else {
            run(action, host).map_err(|e| e.to_string())
        };
        match result {
            Ok((effect, u)) => {
                undo.push(u);
                done.push(PlannedStep {
                    action: what,
                    target,
                    effect,
                });
            }
            Err(message) => {
                let failures = rollback(undo, host);
                let rollback = if failures.is_empty() {
                    "every earlier step was undone; nothing changed".to_string()
                } else {
                    format!("rollback incomplete: {}", failures.join("; "))
                };
                return Err(ApplyError::Step {
                    step: i,
                    what: format!("{what} {target}"),
                    message,
                    rollback,
                });
            }
        }
    }
    Ok(done)
}

fn run(action: &Action, host: Host<'_>) -> Result<(Effect, Undo), StoreError> {
    let store = host.store;
    Ok(match action {
        Action::SessionEnv { set, unset } => {
            let Some(env) = host.session_env else {
                return Ok((Effect::Unchanged, Undo::Nothing));
            };
            let mut previous = Vec::new();
            for name in set.iter().map(|(n, _)| n).chain(unset.iter()) {
                previous.push(SessionVar {
                    name: name.clone(),
                    previous: env.get(name)?,
                });
            }
            let was = |name: &str| {
                previous
                    .iter()
                    .find(|v| v.name == name)
                    .and_then(|v| v.previous.clone())
            };
            let unchanged = set
                .iter()
                .all(|(n, v)| was(n).as_deref() == Some(v.as_str()))
                && unset.iter().all(|n| was(n).is_none());
            if unchanged {
                (Effect::Unchanged, Undo::Nothing)
            } else {
                if !set.is_empty() {
                    env.set(set)?;
                }
                if !unset.is_empty() {
                    env.unset(unset)?;
                }
                let effect = if set.is_empty() {
                    Effect::Remove
                } else {
                    Effect::Replace
                };
                (effect, Undo::RestoreSessionEnv(previous))
            }
        }
        Action::StoreAdd { cert, name } => match store.add(&cert.der, name)? {
            Change::Added => (
                Effect::Create,
                Undo::StoreRemove(cert.clone(), name.clone()),
            ),
            _ => (Effect::Unchanged, Undo::Nothing),
        },
        Action::StoreRemove { cert, name } => match store.remove(&cert.der, name)? {
            Change::Removed => (Effect::Remove, Undo::StoreAdd(cert.clone(), name.clone())),
            _ => (Effect::Unchanged, Undo::Nothing),
        },
        Action::Write {
            path,
            contents,
            mode,
        } => {
            let previous = fs_safe::read_nofollow(path)?;
            if previous.as_deref() == Some(contents.as_slice()) {
                (Effect::Unchanged, Undo::Nothing)
            } else {
                fs_safe::write_atomic(path, contents, *mode)?;
                let effect = if previous.is_some() {
                    Effect::Replace
                } else {
                    Effect::Create
                };
                (effect, Undo::RestoreFile(path.clone(), previous))
            }
        }
        Action::Remove { path, sha256 } => {
            let previous = fs_safe::read_nofollow(path)?;
            match previous {
                None => (Effect::Unchanged, Undo::Nothing),
                Some(old) if crate::state::sha256_hex(&old) == *sha256 => {
                    let digest = trust_proxy_platform::sha256(&old);
                    fs_safe::remove_if_hash_matches(path, &digest)?;
                    (Effect::Remove, Undo::RestoreFile(path.clone(), Some(old)))
                }
                Some(_) => (Effect::KeptModified, Undo::Nothing),
            }
        }
        Action::SyncDir { dir, entries } => {
            let previous = read_managed_dir(dir)?;
            if previous.as_deref() == Some(entries.as_slice())
                || (previous.is_none() && entries.is_empty())
            {
                (Effect::Unchanged, Undo::Nothing)
            } else {
                sync_dir(dir, entries)?;
                let effect = match (&previous, entries.is_empty()) {
                    (None, _) => Effect::Create,
                    (Some(_), true) => Effect::Remove,
                    (Some(_), false) => Effect::Replace,
                };
                (effect, Undo::RestoreDir(dir.clone(), previous))
            }
        }
        Action::EditBlock { path, block } => {
            let previous = fs_safe::read_nofollow(path)?;
            let old_text = previous
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let new_text = crate::envsnippet::replace_marked_block(&old_text, block.as_deref())
                .map_err(|e| StoreError::Platform {
                    what: path.display().to_string(),
                    message: e.to_string(),
                })?;
            // An absent file and an empty one are the same to pam_env: nothing to write.
            let absent_or_empty = previous.as_ref().is_none_or(|p| p.is_empty());
            if new_text == old_text || (new_text.is_empty() && absent_or_empty) {
                (Effect::Unchanged, Undo::Nothing)
            } else {
                fs_safe::write_atomic(path, new_text.as_bytes(), 0o644)?;
                let effect = if block.is_some() {
                    Effect::Replace
                } else {
                    Effect::Remove
                };
                (effect, Undo::RestoreFile(path.clone(), previous))
            }
        }
    })
}

/// Makes `dir` hold exactly `entries`; an empty list removes the directory when nothing else
/// is in it.
fn sync_dir(dir: &Path, entries: &[(String, String)]) -> Result<(), StoreError> {
    crate::bundle::sync_hashed_dir(dir, entries).map_err(|e| StoreError::Platform {
        what: dir.display().to_string(),
        message: e.to_string(),
    })?;
    if entries.is_empty() {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}

fn rollback(undo: Vec<Undo>, host: Host<'_>) -> Vec<String> {
    let store = host.store;
    let mut failures = Vec::new();
    for u in undo.into_iter().rev() {
        let result = match u {
            Undo::Nothing => Ok(()),
            Undo::RestoreSessionEnv(previous) => match host.session_env {
                Some(env) => {
                    let (set, unset) = SessionVar::restore(&previous);
                    env.set(&set).and_then(|_| env.unset(&unset))
                }
                None => Ok(()),
            },
            Undo::StoreRemove(cert, name) => store.remove(&cert.der, &name).map(|_| ()),
            Undo::StoreAdd(cert, name) => store.add(&cert.der, &name).map(|_| ()),
            Undo::RestoreFile(path, Some(bytes)) => fs_safe::write_atomic(&path, &bytes, 0o644),
            Undo::RestoreFile(path, None) => {
                std::fs::remove_file(&path).map_err(|source| StoreError::Io {
                    op: "remove",
                    path: path.clone(),
                    source,
                })
            }
            Undo::RestoreDir(dir, previous) => {
                sync_dir(&dir, previous.as_deref().unwrap_or_default()).map(|_| {
                    if previous.is_none() {
                        let _ = std::fs::remove_dir(&dir);
                    }
                })
            }
        };
        if let Err(e) = result {
            failures.push(e.to_string());
        }
    }
    failures
}
