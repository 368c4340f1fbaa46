//! yarn: the FULL bundle under the key the version found reads (`yarn --version`; inside a
//! project pinned through corepack that is the project's yarn, so run from the home directory):
//!
//! - yarn 1: `cafile "<bundle>"` in `~/.yarnrc` (`paths::yarnrc_classic`), yarn 1's own syntax
//!   (the lockfile format: `key "JSON string"`); `~/.yarnrc` wins over `~/.npmrc`'s `cafile`
//!   (checked with yarn 1.22.22). Run as root, yarn 1 first reads `/usr/local/share/.yarnrc`
//!   (its "home" for root), then `$HOME/.yarnrc`.
//! - yarn 2.x / 3.x: `caFilePath: <bundle>` in `~/.yarnrc.yml` (`paths::yarnrc_berry`).
//! - yarn 4.x: `httpsCaFilePath: <bundle>` (renamed in 4.0.0; yarn 4.18.1 reads back
//!   `httpsCaFilePath` and ignores a `caFilePath` left from yarn 3, so a note names it).
//!
//! `.yarnrc.yml` is edited with `yaml_top` (line-level, refuses what it does not understand; its
//! module doc says why not a YAML crate). The value REPLACES Node's roots (it becomes the TLS `ca`
//! option), hence the full bundle. A key already set to another file is replaced, with a note
//! naming the old value (it comes back on uninstall). A project's `.yarnrc.yml` and a per-host
//! `networkSettings.<host>.httpsCaFilePath` override the home file; berry does not apply the
//! setting to the connection to an https:// proxy itself (yarnpkg/berry#2250). The files may hold
//! `npmAuthToken`s: sensitive (0600).

use super::lines::{decode, eol_of, file_edit, lines, path_text, push_line, split_eol};
use super::{
    paths, yaml_top, Context, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan,
};
use std::path::Path;

pub struct Yarn;

/// The setting the yarn of `major` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YarnKey {
    /// yarn 1, `~/.yarnrc`.
    Cafile,
    /// yarn 2 and 3, `~/.yarnrc.yml`.
    CaFilePath,
    /// yarn 4 and later, `~/.yarnrc.yml`.
    HttpsCaFilePath,
}

impl YarnKey {
    pub fn for_major(major: u32) -> YarnKey {
        match major {
            0 | 1 => YarnKey::Cafile,
            2 | 3 => YarnKey::CaFilePath,
            _ => YarnKey::HttpsCaFilePath,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            YarnKey::Cafile => "cafile",
            YarnKey::CaFilePath => "caFilePath",
            YarnKey::HttpsCaFilePath => "httpsCaFilePath",
        }
    }
}

impl Tool for Yarn {
    fn id(&self) -> ToolId {
        ToolId::Yarn
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("yarn", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let Some(version) = found.version else {
            return Ok(ToolPlan {
                tool: ToolId::Yarn,
                version: None,
                mechanism: Mechanism::Unsupported {
                    why: format!(
                        "`yarn --version` printed no version ({}), and yarn 1, 2-3 and 4 each read \
                         a different key",
                        found.version_text
                    ),
                    fix: "run configure-tools again from a directory outside any yarn project"
                        .to_string(),
                },
                edits: Vec::new(),
                run_after: Vec::new(),
                notes: Vec::new(),
            });
        };
        let key = YarnKey::for_major(version.major);
        let wanted = path_text(ToolId::Yarn, &ctx.bundle)?;
        let path = match key {
            YarnKey::Cafile => paths::yarnrc_classic(ctx),
            YarnKey::CaFilePath | YarnKey::HttpsCaFilePath => paths::yarnrc_berry(ctx),
        };
        let current = read(&path)?;
        let text = decode(ToolId::Yarn, &path, current.as_deref())?;
        let setting = match key {
            YarnKey::Cafile => classic_line(wanted),
            YarnKey::CaFilePath | YarnKey::HttpsCaFilePath => format!("{}: {wanted}", key.name()),
        };
        let mut notes = Vec::new();
        let (new_text, previous) = match key {
            YarnKey::Cafile => set_classic_cafile(&path, &text, wanted)?,
            YarnKey::CaFilePath | YarnKey::HttpsCaFilePath => {
                let edited = yaml_top::set_top_level(
                    ToolId::Yarn,
                    &path,
                    &text,
                    key.name(),
                    wanted,
                    eol_of(&text),
                )?;
                let other = if key == YarnKey::CaFilePath {
                    "httpsCaFilePath"
                } else {
                    "caFilePath"
                };
                if let Some(value) = yaml_top::top_level_value(&text, other) {
                    notes.push(format!(
                        "{}: {other}: {value} is left as it is; yarn {version} ignores it",
                        path.display()
                    ));
                }
                (edited.text, edited.previous)
            }
        };
        if let Some(old) = previous.filter(|old| old != wanted) {
            notes.push(format!(
                "{}: {} was {old}; it now names the full bundle {wanted} (the old value comes \
                 back on uninstall or configure-tools --undo)",
                path.display(),
                key.name()
            ));
        }
        let edit = file_edit(&path, new_text, true, setting.clone());
        Ok(ToolPlan {
            tool: ToolId::Yarn,
            version: Some(version),
            mechanism: Mechanism::BundleFile { setting },
            edits: vec![edit],
            run_after: Vec::new(),
            notes,
        })
    }
}

fn classic_line(path: &str) -> String {
    // A JSON string is what yarn 1's parser reads inside double quotes.
    let quoted = serde_json::to_string(path).unwrap_or_else(|_| format!("\"{path}\""));
    format!("cafile {quoted}")
}

/// Sets the top-level `cafile` of a yarn 1 `.yarnrc`: the first such line is rewritten (kept
/// when it already names `wanted`), later ones dropped, else one is appended. Returns the new
/// text and the previous value.
fn set_classic_cafile(
    path: &Path,
    text: &str,
    wanted: &str,
) -> Result<(String, Option<String>), ToolError> {
    let refuse = |message: String| ToolError::Unparsable {
        tool: ToolId::Yarn,
        path: path.to_path_buf(),
        message,
    };
    let new_line = classic_line(wanted);
    let mut out = String::with_capacity(text.len().saturating_add(new_line.len()));
    let mut previous: Option<String> = None;
    for (index, line) in lines(text).into_iter().enumerate() {
        let (body, end) = split_eol(line);
        let Some(value) = classic_value_of(body, "cafile") else {
            out.push_str(line);
            continue;
        };
        let number = index.saturating_add(1);
        let value = value.map_err(|why| refuse(format!("line {number}: cafile {why}")))?;
        if previous.is_some() {
            // A second top-level cafile: dropped, the first one (now the bundle) is the one.
            continue;
        }
        if value == wanted {
            out.push_str(line);
        } else {
            out.push_str(&new_line);
            out.push_str(end);
        }
        previous = Some(value);
    }
    if previous.is_none() {
        push_line(&mut out, &new_line, eol_of(text));
    }
    Ok((out, previous))
}

/// When `body` is a top-level (column 0) entry for `key` in yarn 1's format: its value, or why it
/// cannot be read.
fn classic_value_of(body: &str, key: &str) -> Option<Result<String, String>> {
    let rest = match body.strip_prefix('"') {
        Some(quoted) => quoted.strip_prefix(key)?.strip_prefix('"')?,
        None => body.strip_prefix(key)?,
    };
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None; // a longer key (`cafile2`)
    }
    let value = rest.trim();
    if value.is_empty() {
        return Some(Err("has no value on its line (a nested block)".to_string()));
    }
    if value.starts_with('"') {
        let mut escaped = false;
        for (at, c) in value.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let quoted = value.get(..=at).unwrap_or(value);
                return Some(
                    serde_json::from_str::<String>(quoted)
                        .map_err(|_| "has a quoted value yarn cannot read".to_string()),
                );
            }
        }
        return Some(Err("has an unterminated quoted value".to_string()));
    }
    Some(Ok(value
        .split([' ', '\t'])
        .next()
        .unwrap_or(value)
        .to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_per_major_version() {
        assert_eq!(YarnKey::for_major(1), YarnKey::Cafile);
        assert_eq!(YarnKey::for_major(2), YarnKey::CaFilePath);
        assert_eq!(YarnKey::for_major(3), YarnKey::CaFilePath);
        assert_eq!(YarnKey::for_major(4), YarnKey::HttpsCaFilePath);
        assert_eq!(YarnKey::for_major(5), YarnKey::HttpsCaFilePath);
    }

    #[test]
    fn classic_values() {
        assert_eq!(
            classic_value_of("cafile \"/a b.pem\"", "cafile"),
            Some(Ok("/a b.pem".to_string()))
        );
        assert_eq!(
            classic_value_of("cafile /u.pem", "cafile"),
            Some(Ok("/u.pem".to_string()))
        );
        assert_eq!(classic_value_of("cafile2 x", "cafile"), None);
        assert_eq!(classic_value_of("  cafile x", "cafile"), None);
        assert!(matches!(
            classic_value_of("cafile \"/open", "cafile"),
            Some(Err(_))
        ));
    }
}
