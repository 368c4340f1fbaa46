//! macOS: a LaunchAgent that runs `launchctl setenv` at login, plus `launchctl setenv` now.
//!
//! launchd hands its environment to every GUI app it starts, so this reaches apps opened from the
//! Dock and Finder, which never read shell profiles. The plist is the persistent record; `get`
//! reads it, not launchd, so it answers the same in an SSH session.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::{plist, validate_name, validate_var, PersistentEnv};
use crate::fs_safe::{self, Removal};
use crate::{sha256, Scope, StoreError};

const LAUNCHCTL: &str = "/bin/launchctl";

/// The plist's bytes as read (`None`: no file) and the variables parsed from them.
type Loaded = (Option<Vec<u8>>, BTreeMap<String, String>);

#[derive(Debug)]
pub struct LaunchAgentEnv {
    scope: Scope,
    plist: PathBuf,
    warnings: Mutex<Vec<String>>,
}

impl LaunchAgentEnv {
    /// User: `~/Library/LaunchAgents` (this user's logins). System: `/Library/LaunchAgents`,
    /// loaded into every user's session at login (launchd wants it root-owned, not writable by
    /// others: write_atomic's 0644 as root gives that).
    pub fn new(scope: Scope) -> Result<LaunchAgentEnv, StoreError> {
        let file = format!("{}.plist", plist::LABEL);
        let plist = match scope {
            Scope::System => Path::new("/Library/LaunchAgents").join(file),
            Scope::User => {
                let home = std::env::var_os("HOME").ok_or_else(|| {
                    StoreError::Unsupported("HOME is not set: no user LaunchAgents folder".into())
                })?;
                PathBuf::from(home).join("Library/LaunchAgents").join(file)
            }
        };
        Ok(LaunchAgentEnv {
            scope,
            plist,
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// The file's bytes (for the hash-checked delete) and the variables in it.
    fn load(&self) -> Result<Loaded, StoreError> {
        let Some(bytes) = fs_safe::read_nofollow(&self.plist)? else {
            return Ok((None, BTreeMap::new()));
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| StoreError::Platform {
            what: self.plist.display().to_string(),
            message: e.to_string(),
        })?;
        let vars = plist::parse(text)?;
        Ok((Some(bytes), vars))
    }

    fn save(&self, vars: &BTreeMap<String, String>, old: Option<&[u8]>) -> Result<(), StoreError> {
        let xml = plist::render(vars)?;
        if old == Some(xml.as_bytes()) {
            return Ok(());
        }
        if let Some(dir) = self.plist.parent() {
            fs_safe::create_dir_all(dir, 0o755)?;
        }
        fs_safe::write_atomic(&self.plist, xml.as_bytes(), 0o644)
    }

    /// Updates the running session too (user scope only: for the system scope the caller is
    /// root, whose launchctl would change root's domain, not the users'). A failure is a
    /// warning: the plist is saved and applies from the next login.
    fn launchctl(&self, args: &[&str]) {
        if self.scope != Scope::User {
            return;
        }
        let outcome = Command::new(LAUNCHCTL).args(args).output();
        let problem = match outcome {
            Ok(out) if out.status.success() => return,
            Ok(out) => format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => e.to_string(),
        };
        let verb = args.first().copied().unwrap_or_default();
        let name = args.get(1).copied().unwrap_or_default();
        self.warn(format!(
            "`launchctl {verb} {name}` failed ({problem}): applies from the next login"
        ));
    }

    fn warn(&self, message: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    fn clear_warnings(&self) {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

impl PersistentEnv for LaunchAgentEnv {
    fn describe(&self) -> String {
        let whom = match self.scope {
            Scope::User => "this user",
            Scope::System => "every user",
        };
        format!("LaunchAgent {} ({whom}, at login)", self.plist.display())
    }

    fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        validate_name(name)?;
        Ok(self.load()?.1.remove(name))
    }

    fn set(&self, vars: &[(String, String)]) -> Result<(), StoreError> {
        self.clear_warnings();
        for (name, value) in vars {
            validate_var(name, value)?;
        }
        let (old, mut current) = self.load()?;
        for (name, value) in vars {
            current.insert(name.clone(), value.clone());
        }
        self.save(&current, old.as_deref())?;
        // Every pair, not only changed ones: this session may predate an earlier install.
        for (name, value) in vars {
            self.launchctl(&["setenv", name, value]);
        }
        Ok(())
    }

    fn unset(&self, names: &[String]) -> Result<(), StoreError> {
        self.clear_warnings();
        for name in names {
            validate_name(name)?;
        }
        let (old, mut current) = self.load()?;
        if let Some(old) = old.as_deref() {
            let before = current.len();
            current.retain(|n, _| !names.contains(n));
            if current.is_empty() {
                // Only the bytes we just parsed: a file changed since then is left alone.
                if fs_safe::remove_if_hash_matches(&self.plist, &sha256(old))?
                    == Removal::HashMismatch
                {
                    return Err(StoreError::Platform {
                        what: self.plist.display().to_string(),
                        message: "changed while being removed; run again".into(),
                    });
                }
            } else if current.len() != before {
                self.save(&current, Some(old))?;
            }
        }
        for name in names {
            self.launchctl(&["unsetenv", name]);
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
