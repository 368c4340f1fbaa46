//! The tools record: every file of the person's own that `configure-tools` changed (tool config
//! files, shell start-up files), with the bytes it held before the FIRST change and the hash of
//! what trust-proxy wrote last, so `uninstall` (or `configure-tools --undo`) gives each file back
//! byte for byte, or keeps it with a warning when someone changed it since.
//!
//! It lives in the user scope's directory (`tools.json`, mode 0600: the previous bytes of
//! `.npmrc` or `~/.aws/config` may hold tokens) and is checked for ownership like the state.

use crate::install::envsnippet;
use crate::install::layout::Layout;
use crate::install::plan::{Action, Expect};
use crate::install::state::sha256_hex;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trust_proxy_platform::{fs_safe, ownership, StoreError};

pub const RECORD_VERSION: u32 = 1;

/// The record's mode: it holds copies of files that may carry secrets.
pub const RECORD_MODE: u32 = 0o600;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolsRecord {
    pub schema_version: u32,
    pub files: Vec<RecordedFile>,
    /// Commands that built a file from the OS store (Homebrew's CA bundle): what they built
    /// keeps the CA until they run again after the CA has left the store, which a user-scope
    /// uninstall cannot do itself (the system uninstall comes after it, as root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rebuilds: Vec<RecordedRebuild>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRebuild {
    pub tool: String,
    pub command: Vec<String>,
}

impl RecordedRebuild {
    /// What uninstall tells the person, since nothing else will ever rebuild that file.
    pub fn reminder(&self) -> String {
        format!(
            "{}: what `{command}` built still holds the CA: once the CA has left the OS store \
             (sudo trust-proxy uninstall --scope system), run `{command}` again as yourself",
            self.tool,
            command = self.command.join(" ")
        )
    }
}

/// How trust-proxy changed a file, which decides how a file changed since is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditKind {
    /// A tool's config file, edited as a whole (`[global] cert` in pip.conf): a file changed
    /// since is kept as it is, with a warning naming the setting to remove by hand.
    Whole,
    /// A marked block in a start-up file (`~/.bashrc`): a file changed since loses only the
    /// block, every other byte stays.
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFile {
    /// The tool (`pip`, `uv`, ...) or `startup` for the shell start-up blocks.
    pub tool: String,
    pub path: PathBuf,
    pub kind: EditKind,
    /// The file's bytes before trust-proxy first changed it (base64); `None`: it did not exist.
    #[serde(with = "base64_bytes")]
    pub previous: Option<Vec<u8>>,
    /// SHA-256 of what trust-proxy wrote last.
    pub sha256: String,
    /// Directories trust-proxy created for the file, outermost first: removed when empty.
    pub dirs_created: Vec<PathBuf>,
    /// For people: what was set (`[global] cert = ...`).
    pub setting: String,
    /// The file may hold secrets: recreated 0600 if a rollback brings it back.
    pub sensitive: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{}: the record of the tool settings trust-proxy made cannot be read ({message}); nothing was changed: restore the file from a backup (without it trust-proxy cannot give the tools' files back)", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{}: the record of the tool settings trust-proxy made was written by a newer trust-proxy (schema {found}); nothing was changed: use that version, or upgrade this one", path.display())]
    Newer { path: PathBuf, found: u32 },
    #[error("the record of the tool settings trust-proxy made could not be encoded: {0}")]
    Encode(String),
    #[error(transparent)]
    Fs(#[from] StoreError),
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t.as_bytes())
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// Where the record lives: the user scope's directory, whichever scope the CA is installed in.
pub fn record_path(user_layout: &Layout) -> PathBuf {
    user_layout.dir.join("tools.json")
}

impl ToolsRecord {
    pub fn empty() -> ToolsRecord {
        ToolsRecord {
            schema_version: RECORD_VERSION,
            files: Vec::new(),
            rebuilds: Vec::new(),
        }
    }

    /// `None` when no tool was configured. Refused unless it (and its directory) belong to the
    /// user running: the record says which files to overwrite.
    pub fn load(user_layout: &Layout) -> Result<Option<ToolsRecord>, RecordError> {
        let path = record_path(user_layout);
        for p in [&user_layout.dir, &path] {
            if std::fs::symlink_metadata(p).is_ok() {
                ownership::check_user_file(p)?;
            }
        }
        let Some(bytes) = fs_safe::read_nofollow(&path)? else {
            return Ok(None);
        };
        let record: ToolsRecord =
            serde_json::from_slice(&bytes).map_err(|e| RecordError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if record.schema_version > RECORD_VERSION {
            return Err(RecordError::Newer {
                path,
                found: record.schema_version,
            });
        }
        Ok(Some(record))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let mut s = crate::terminal_text::to_json_pretty(self)
            .map_err(|e| RecordError::Encode(e.to_string()))?;
        s.push('\n');
        Ok(s.into_bytes())
    }

    pub fn find(&self, path: &Path) -> Option<&RecordedFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// Everything needed to give the recorded files back.
#[derive(Debug, Default)]
pub struct UndoPlan {
    pub actions: Vec<Action>,
    /// Files kept because they changed since trust-proxy wrote them: what to remove by hand.
    pub warnings: Vec<String>,
}

/// The actions that give back every recorded file, and last remove the record itself. `None`
/// when there is no record.
pub fn undo_plan(user_layout: &Layout) -> Result<Option<UndoPlan>, RecordError> {
    let Some(record) = ToolsRecord::load(user_layout)? else {
        return Ok(None);
    };
    let mut plan = UndoPlan::default();
    // Latest first: a file two runs touched is given back in the reverse order it was changed.
    for entry in record.files.iter().rev() {
        let (action, warning) = undo_entry(entry)?;
        plan.actions.extend(action);
        plan.warnings.extend(warning);
    }
    plan.warnings
        .extend(record.rebuilds.iter().map(RecordedRebuild::reminder));
    let path = record_path(user_layout);
    let current = fs_safe::read_nofollow(&path)?.unwrap_or_default();
    plan.actions.push(Action::Remove {
        path,
        sha256: sha256_hex(&current),
    });
    Ok(Some(plan))
}

/// How to give one file back, read now: its previous bytes when it still holds what
/// trust-proxy wrote; for a start-up file changed since, the file without trust-proxy's block;
/// else nothing, and a warning naming the setting.
pub fn undo_entry(entry: &RecordedFile) -> Result<(Option<Action>, Option<String>), RecordError> {
    let current = fs_safe::read_nofollow(&entry.path)?;
    let Some(now) = current.as_deref() else {
        // Removed by the person since: nothing of trust-proxy's is left in it.
        return Ok((None, None));
    };
    let remove_dirs_if_empty: Vec<PathBuf> = entry.dirs_created.iter().rev().cloned().collect();
    let restore = |contents: Option<Vec<u8>>| Action::EditUserFile {
        path: entry.path.clone(),
        contents,
        expect: Expect::of(Some(now)),
        mode_if_new: if entry.sensitive { 0o600 } else { 0o644 },
        create_dirs: Vec::new(),
        remove_dirs_if_empty: remove_dirs_if_empty.clone(),
    };
    if sha256_hex(now) == entry.sha256 {
        return Ok((Some(restore(entry.previous.clone())), None));
    }
    if entry.kind == EditKind::Block {
        if let Ok(without) = envsnippet::replace_marked_block_bytes(now, None) {
            if without == now {
                return Ok((None, None));
            }
            let contents = if without.is_empty() && entry.previous.is_none() {
                None
            } else {
                Some(without)
            };
            return Ok((Some(restore(contents)), None));
        }
    }
    Ok((
        None,
        Some(format!(
            "{} ({}) changed since trust-proxy wrote it: kept as it is; remove `{}` from it by hand",
            entry.path.display(),
            entry.tool,
            entry.setting
        )),
    ))
}

/// The directories above `path` that do not exist yet, outermost first.
pub fn missing_dirs(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|dir| !dir.as_os_str().is_empty() && std::fs::symlink_metadata(dir).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_bytes_survive_the_record_exactly() {
        let mut record = ToolsRecord::empty();
        let odd = b"a\r\nb\x00\xff no final newline".to_vec();
        record.files.push(RecordedFile {
            tool: "pip".into(),
            path: PathBuf::from("/h/.config/pip/pip.conf"),
            kind: EditKind::Whole,
            previous: Some(odd.clone()),
            sha256: "AB".into(),
            dirs_created: vec![],
            setting: "[global] cert".into(),
            sensitive: false,
        });
        record.files.push(RecordedFile {
            previous: None,
            ..record.files[0].clone()
        });
        let back: ToolsRecord = serde_json::from_slice(&record.to_bytes().unwrap()).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.files[0].previous.as_deref(), Some(odd.as_slice()));
    }

    #[test]
    fn missing_dirs_lists_outermost_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/c.conf");
        assert_eq!(
            missing_dirs(&file),
            vec![dir.path().join("a"), dir.path().join("a/b")]
        );
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        assert!(missing_dirs(&file).is_empty());
    }
}
