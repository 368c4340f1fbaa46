//! Executes a plan under a lock. Every completed step records how to undo itself; if a later
//! step fails, the completed ones are undone in reverse order, so the previous installation is
//! left as it was.

use crate::install::plan::{
    read_managed_dir, user_file_effect, Action, Effect, Expect, Host, Plan, PlannedStep,
};
use crate::install::state::SessionVar;
use std::fs::File;
use std::path::{Path, PathBuf};
use trust_proxy_platform::fs_safe;
use trust_proxy_platform::{Change, PersistentEnv, StoreError};

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

/// How long a run waits for another one's lock before it says the directory is busy.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Test seams: make step `n` fail before it runs, to prove the rollback; run a hook between
/// reading the state and applying the plan, to prove no other run can slip in there.
#[derive(Clone, Default)]
pub struct ApplyOptions {
    pub fail_before_step: Option<usize>,
    pub after_state_read: Option<std::rc::Rc<dyn Fn()>>,
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("fail_before_step", &self.fail_before_step)
            .field("after_state_read", &self.after_state_read.is_some())
            .finish()
    }
}

impl ApplyOptions {
    /// Called by install, uninstall and refresh right after they read the state.
    pub(crate) fn state_was_read(&self) {
        if let Some(hook) = &self.after_state_read {
            hook();
        }
    }
}

enum Undo {
    Nothing,
    StoreRemove(crate::analyze::certinfo::Cert, String),
    StoreAdd(crate::analyze::certinfo::Cert, String),
    RestoreFile(PathBuf, Option<Vec<u8>>),
    RestoreDir(PathBuf, Option<Vec<(String, String)>>),
    /// The session variables as they were (`previous: None`: it was not set).
    RestoreSessionEnv(Vec<SessionVar>),
    /// A user's file as it was, with the directories the step created (removed again) and
    /// removed (made again).
    RestoreUserFile {
        path: PathBuf,
        previous: Option<Vec<u8>>,
        mode_if_new: u32,
        created_dirs: Vec<PathBuf>,
        removed_dirs: Vec<PathBuf>,
    },
    /// Add (`true`) or remove a root in an optional store again.
    ExtraStore(
        crate::install::stores::ExtraStore,
        crate::analyze::certinfo::Cert,
        String,
        bool,
    ),
}

/// Holds the lock for as long as it lives. The state is read, changed and written back while it
/// is held: a run that read the state before another run wrote it would write back a stale copy.
pub struct Lock {
    file: File,
    dir: PathBuf,
    system: bool,
    /// The directories this run created for `dir`, outermost first (`dir` itself last).
    created_dirs: Vec<PathBuf>,
    lock_path: PathBuf,
}

impl Lock {
    /// Creates `dir` (0755) if needed and takes an exclusive, non-blocking lock in it. A
    /// `system` directory decides what the whole machine trusts: it must be root-owned and not
    /// writable by others all the way up (Unix), or created with a protected ACL and owned by
    /// SYSTEM or Administrators (Windows).
    pub fn acquire(dir: &Path, lock_path: &Path, system: bool) -> Result<Lock, ApplyError> {
        // Another run holds the lock only as long as it runs; and a lock file descriptor can
        // outlive its run for a moment in a child forked by another thread of the same process
        // (between fork and exec), which would make a run right after this one fail for nothing.
        // So a busy lock is retried, from the start, for a short while before saying so.
        let started = std::time::Instant::now();
        loop {
            let attempt = Lock::try_acquire(dir, lock_path, system)?;
            match attempt {
                Ok(lock) => return Ok(lock),
                Err(mut busy) => {
                    // Whoever holds the lock owns the directory now: dropping this attempt
                    // must not tidy away their lock file.
                    busy.created_dirs.clear();
                    if started.elapsed() >= LOCK_WAIT {
                        return Err(busy.busy());
                    }
                }
            }
            std::thread::sleep(LOCK_RETRY);
        }
    }

    /// One attempt: the lock, or (as `Err`) the attempt that found it busy.
    fn try_acquire(
        dir: &Path,
        lock_path: &Path,
        system: bool,
    ) -> Result<Result<Lock, Lock>, ApplyError> {
        let created_dirs = missing_dirs(dir);
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
        let io_error = |op: &'static str, source: std::io::Error| ApplyError::Prepare {
            dir: dir.to_path_buf(),
            source: StoreError::Io {
                op,
                path: lock_path.to_path_buf(),
                source,
            },
        };
        let file = open_lock_file(lock_path).map_err(|source| io_error("open lock", source))?;
        let locked = Lock {
            file,
            dir: dir.to_path_buf(),
            system,
            created_dirs,
            lock_path: lock_path.to_path_buf(),
        };
        match locked.file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(Err(locked)),
            Err(std::fs::TryLockError::Error(source)) => return Err(io_error("lock", source)),
        }
        // A run that finished an uninstall removes the lock file while holding it: a lock taken
        // on that removed file excludes nobody, so it counts as busy (and the next attempt
        // starts again from the directory).
        if !locked
            .is_current()
            .map_err(|source| io_error("stat lock", source))?
        {
            return Ok(Err(locked));
        }
        Ok(Ok(locked))
    }

    fn busy(&self) -> ApplyError {
        ApplyError::Locked {
            dir: self.dir.clone(),
            lock: self.lock_path.clone(),
        }
    }

    fn is_current(&self) -> std::io::Result<bool> {
        fs_safe::names_same_file(&self.file, &self.lock_path)
    }

    /// The directories this run created (trust-proxy's and the missing ones above it),
    /// outermost first: an install records them so its uninstall can remove them again.
    pub fn created_dirs(&self) -> &[PathBuf] {
        &self.created_dirs
    }

    /// After a full uninstall: remove the lock file and, if they are empty, `force_dir` and the
    /// directories this run created.
    pub fn remove_traces(&self, force_dir: Option<&Path>) {
        let _ = std::fs::remove_file(&self.lock_path);
        if let Some(dir) = force_dir {
            let _ = std::fs::remove_dir(dir);
        }
        self.remove_created_dirs(&self.created_dirs);
    }

    /// Removes each of `created` (directories an install created, outermost first) that is
    /// empty now, innermost first. Only trust-proxy's directory and those above it are
    /// touched, and only when empty: a directory someone put something in stays.
    pub fn remove_created_dirs(&self, created: &[PathBuf]) {
        let mut dirs: Vec<&PathBuf> = created.iter().filter(|d| self.dir.starts_with(d)).collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Whether `path` is one of trust-proxy's own files (in its directory), which get its
    /// ownership, as opposed to a file of the system it edits (`/etc/environment`), which keeps
    /// the administrator's.
    fn owns(&self, path: &Path) -> bool {
        path.starts_with(&self.dir)
    }
}

impl Drop for Lock {
    /// A run that created the directory and wrote nothing in it (it failed, or found nothing
    /// to do) leaves no empty directory and lock file behind.
    fn drop(&mut self) {
        let Some(dir) = self.created_dirs.last() else {
            return;
        };
        let only_the_lock = std::fs::read_dir(dir)
            .map(|entries| entries.flatten().all(|e| e.path() == self.lock_path))
            .unwrap_or(false);
        if only_the_lock {
            self.remove_traces(None);
        }
    }
}

/// `dir` and each missing directory above it, outermost first: what creating `dir` creates.
/// One that cannot be looked at (no permission) is not known to be missing, so it and those
/// above it are never counted as created.
fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    let missing_here = |d: &Path| matches!(std::fs::symlink_metadata(d), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && missing_here(d))
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
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

/// Runs every action under `lock`; on failure undoes the completed ones.
pub fn apply(
    plan: &Plan,
    host: Host<'_>,
    options: &ApplyOptions,
    lock: &Lock,
) -> Result<Vec<PlannedStep>, ApplyError> {
    let mut undo: Vec<Undo> = Vec::new();
    let mut done = Vec::new();
    for (i, action) in plan.actions.iter().enumerate() {
        let (what, target) = action.describe();
        let result = if options.fail_before_step == Some(i) {
            Err(format!("injected failure before step {i}"))
        } else {
            run(action, host, lock).map_err(|e| e.to_string())
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
                let failures = rollback(undo, host, lock);
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

/// Writes `bytes` to `path`: trust-proxy's own files atomically with `mode`, and in the system
/// scope owned by root / Administrators; another file (`/etc/environment`, the profile.d
/// script) atomically too, keeping its owner, mode and extended attributes.
fn put(path: &Path, bytes: &[u8], mode: u32, lock: &Lock) -> Result<(), StoreError> {
    if !lock.owns(path) {
        return fs_safe::replace_keeping_metadata(path, bytes, mode);
    }
    fs_safe::write_atomic(path, bytes, mode)?;
    if lock.system {
        trust_proxy_platform::ownership::secure_system_file(path)?;
    }
    Ok(())
}

fn run(action: &Action, host: Host<'_>, lock: &Lock) -> Result<(Effect, Undo), StoreError> {
    let store = host.store;
    Ok(match action {
        Action::SessionEnv { set, unset } => match host.session_env {
            Some(env) => set_session_env(env, set, unset)?,
            None => (Effect::Unchanged, Undo::Nothing),
        },
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
                put(path, contents, *mode, lock)?;
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
                Some(old) if crate::install::state::sha256_hex(&old) == *sha256 => {
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
        Action::EditBlock {
            path,
            block,
            remove_if_empty,
        } => edit_block(path, block.as_deref(), *remove_if_empty, lock)?,
        Action::EditUserFile {
            path,
            contents,
            expect,
            mode_if_new,
            create_dirs,
            remove_dirs_if_empty,
        } => edit_user_file(
            path,
            contents.as_deref(),
            expect,
            *mode_if_new,
            create_dirs,
            remove_dirs_if_empty,
        )?,
        Action::ExtraStoreAdd { store, cert, name } => match store.add(cert, name)? {
            Change::Added => (
                Effect::Create,
                Undo::ExtraStore(store.clone(), cert.clone(), name.clone(), false),
            ),
            _ => (Effect::Unchanged, Undo::Nothing),
        },
        Action::ExtraStoreRemove { store, cert, name } => match store.remove(cert, name)? {
            Change::Removed => (
                Effect::Remove,
                Undo::ExtraStore(store.clone(), cert.clone(), name.clone(), true),
            ),
            _ => (Effect::Unchanged, Undo::Nothing),
        },
    })
}

/// Directories trust-proxy creates for a user's config file: private, as the XDG base
/// directory specification asks of a missing `~/.config`.
const USER_DIR_MODE: u32 = 0o700;

/// Changes a user's file only if it still holds what the plan read (`expect`): a person's editor
/// saving meanwhile wins over trust-proxy.
fn edit_user_file(
    path: &Path,
    contents: Option<&[u8]>,
    expect: &Expect,
    mode_if_new: u32,
    create_dirs: &[PathBuf],
    remove_dirs_if_empty: &[PathBuf],
) -> Result<(Effect, Undo), StoreError> {
    let previous = fs_safe::read_nofollow(path)?;
    let effect = user_file_effect(previous.as_deref(), contents, expect);
    if matches!(effect, Effect::KeptModified | Effect::Unchanged) {
        return Ok((effect, Undo::Nothing));
    }
    let mut created_dirs = Vec::new();
    let written = (|| {
        for dir in create_dirs {
            if std::fs::symlink_metadata(dir).is_err() {
                fs_safe::create_dir_all(dir, USER_DIR_MODE)?;
                created_dirs.push(dir.clone());
            }
        }
        match (contents, &previous) {
            (Some(bytes), _) => fs_safe::replace_keeping_metadata(path, bytes, mode_if_new),
            (None, Some(old)) => {
                fs_safe::remove_if_hash_matches(path, &trust_proxy_platform::sha256(old))
                    .map(|_| ())
            }
            (None, None) => Ok(()),
        }
    })();
    if let Err(e) = written {
        remove_empty_dirs(created_dirs.iter().rev());
        return Err(e);
    }
    let removed_dirs = remove_empty_dirs(remove_dirs_if_empty.iter());
    Ok((
        effect,
        Undo::RestoreUserFile {
            path: path.to_path_buf(),
            previous,
            mode_if_new,
            created_dirs,
            removed_dirs,
        },
    ))
}

/// Removes each directory that is empty (a directory holding anything, or a symlink, stays);
/// returns those removed.
fn remove_empty_dirs<'a>(dirs: impl Iterator<Item = &'a PathBuf>) -> Vec<PathBuf> {
    dirs.filter(|dir| std::fs::remove_dir(dir).is_ok())
        .cloned()
        .collect()
}

fn restore_user_file(
    path: &Path,
    previous: Option<&[u8]>,
    mode_if_new: u32,
    created_dirs: &[PathBuf],
    removed_dirs: &[PathBuf],
) -> Result<(), StoreError> {
    for dir in removed_dirs.iter().rev() {
        fs_safe::create_dir_all(dir, USER_DIR_MODE)?;
    }
    match previous {
        Some(bytes) => fs_safe::replace_keeping_metadata(path, bytes, mode_if_new)?,
        None => {
            if let Some(now) = fs_safe::read_nofollow(path)? {
                fs_safe::remove_if_hash_matches(path, &trust_proxy_platform::sha256(&now))?;
            }
        }
    }
    remove_empty_dirs(created_dirs.iter().rev());
    Ok(())
}

/// Sets and unsets session variables, remembering what each held so the undo restores it.
fn set_session_env(
    env: &dyn PersistentEnv,
    set: &[(String, String)],
    unset: &[String],
) -> Result<(Effect, Undo), StoreError> {
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
        return Ok((Effect::Unchanged, Undo::Nothing));
    }
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
    Ok((effect, Undo::RestoreSessionEnv(previous)))
}

/// Puts trust-proxy's marked block into a file someone else owns, or takes it out.
fn edit_block(
    path: &Path,
    block: Option<&str>,
    remove_if_empty: bool,
    lock: &Lock,
) -> Result<(Effect, Undo), StoreError> {
    let previous = fs_safe::read_nofollow(path)?;
    let old_bytes = previous.as_deref().unwrap_or_default();
    let new_bytes = crate::install::envsnippet::replace_marked_block_bytes(old_bytes, block)
        .map_err(|e| StoreError::Platform {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
    // An absent file and an empty one are the same to pam_env: nothing to write.
    if new_bytes == old_bytes {
        return Ok((Effect::Unchanged, Undo::Nothing));
    }
    if block.is_none() && remove_if_empty && new_bytes.is_empty() {
        // Removed only if it still holds what was just read: a line added meanwhile keeps it.
        return Ok(
            match fs_safe::remove_if_hash_matches(path, &trust_proxy_platform::sha256(old_bytes))? {
                fs_safe::Removal::Removed => (
                    Effect::Remove,
                    Undo::RestoreFile(path.to_path_buf(), previous),
                ),
                fs_safe::Removal::Absent => (Effect::Unchanged, Undo::Nothing),
                fs_safe::Removal::HashMismatch => (Effect::KeptModified, Undo::Nothing),
            },
        );
    }
    put(path, &new_bytes, 0o644, lock)?;
    let effect = if block.is_some() {
        Effect::Replace
    } else {
        Effect::Remove
    };
    Ok((effect, Undo::RestoreFile(path.to_path_buf(), previous)))
}

/// Makes `dir` hold exactly `entries`; an empty list removes the directory when nothing else
/// is in it.
fn sync_dir(dir: &Path, entries: &[(String, String)]) -> Result<(), StoreError> {
    crate::install::bundle::sync_hashed_dir(dir, entries).map_err(|e| StoreError::Platform {
        what: dir.display().to_string(),
        message: e.to_string(),
    })?;
    if entries.is_empty() {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}

fn rollback(undo: Vec<Undo>, host: Host<'_>, lock: &Lock) -> Vec<String> {
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
            Undo::RestoreUserFile {
                path,
                previous,
                mode_if_new,
                created_dirs,
                removed_dirs,
            } => restore_user_file(
                &path,
                previous.as_deref(),
                mode_if_new,
                &created_dirs,
                &removed_dirs,
            ),
            Undo::ExtraStore(extra, cert, name, true) => extra.add(&cert, &name).map(|_| ()),
            Undo::ExtraStore(extra, cert, name, false) => extra.remove(&cert, &name).map(|_| ()),
            Undo::RestoreFile(path, Some(bytes)) => put(&path, &bytes, 0o644, lock),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A lock that is released a moment later (the other run ends, or a forked child of
    /// another thread execs and drops its copy) is waited for, not reported as busy.
    #[test]
    fn a_lock_released_a_moment_later_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let managed = dir.path().join("trust-proxy");
        let lock_file = managed.join(".lock");
        let held = Lock::acquire(&managed, &lock_file, false).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let second = Lock::acquire(&managed, &lock_file, false);
        release.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }
}
