//! `cafile=` in an npmrc-style ini file (`~/.npmrc` for npm and pnpm <= 10, pnpm >= 11's
//! `auth.ini`), edited line by line: every other line stays byte for byte (these files hold
//! registry tokens and comments people care about).
//!
//! Rules, read from npm 11's `@npmcli/config` and `ini` 6 and pnpm 11's config reader:
//! - the file is ini: a `[section]` header puts the keys after it in that section, where npm and
//!   pnpm never look for `cafile`; so a new `cafile=` goes before the first section header;
//! - the value is parsed like `ini`'s `unsafe()`: a quoted value is JSON, an unquoted one ends at
//!   an unescaped `;` or `#`; trust-proxy writes plain paths as they are and quotes the rest as
//!   JSON; a `${` is refused, since npm and pnpm expand `${VAR}` in values;
//! - several top-level `cafile=` lines: the last wins in `ini`; trust-proxy keeps one (the
//!   first, rewritten) and drops the others;
//! - `ca=` / `ca[]=` lines beside `cafile`: npm flattens keys in file order, so whichever of `ca`
//!   and `cafile` comes LAST wins, and pnpm 11 prefers `ca` outright. Leaving them would make
//!   whether the bundle is used depend on line order, so they are REMOVED (restored with the rest
//!   of the file on uninstall) with a note: if they named a CA other than the proxy's, that CA
//!   belongs in trust-proxy's bundle (`install --ca-file`), which every tool then trusts;
//! - a `cafile=` the person set to another file is REPLACED by the full bundle, with a note
//!   naming the old value: a file without the proxy CA cannot work behind the proxy, and the old
//!   line comes back on uninstall;
//! - per-registry `//host/:cafile` / `//host/:ca` keys are left alone (they apply to that
//!   registry only), with a note.

use super::lines::{decode, eol_of, file_edit, lines, path_text, push_line, split_eol};
use super::{FileEdit, ToolError, ToolId};
use std::path::Path;

/// The result of setting `cafile`: the edit (none when already set) and what people should know.
#[derive(Debug)]
pub(crate) struct CafileEdit {
    pub edit: Option<FileEdit>,
    pub setting: String,
    pub notes: Vec<String>,
}

/// Sets the top-level `cafile` of the ini file at `path` (now `current`) to `bundle`.
pub(crate) fn set_cafile(
    tool: ToolId,
    path: &Path,
    current: Option<&[u8]>,
    bundle: &Path,
) -> Result<CafileEdit, ToolError> {
    let text = decode(tool, path, current)?;
    let wanted = path_text(tool, bundle)?;
    let rendered = render_value(tool, bundle, wanted)?;
    let new_line = format!("cafile={rendered}");
    let eol = eol_of(&text);
    let all = lines(&text);
    let insert_at = insertion_point(&all);

    let mut out = String::with_capacity(text.len().saturating_add(new_line.len()));
    let mut notes = Vec::new();
    let mut have_cafile = false;
    let mut removed_ca = 0usize;
    let mut in_top = true;
    let existing = has_top_level_cafile(&all);
    for (index, line) in all.iter().enumerate() {
        if Some(index) == insert_at && !existing {
            out.push_str(&new_line);
            out.push_str(eol);
            have_cafile = true;
        }
        let (body, end) = split_eol(line);
        let kind = if in_top {
            classify(body)
        } else {
            IniLine::Other
        };
        match kind {
            IniLine::Section => {
                in_top = false;
                out.push_str(line);
            }
            IniLine::Key {
                key: "cafile",
                value,
            } => {
                let old = value.map(ini_value).unwrap_or_else(|| "true".to_string());
                if have_cafile {
                    notes.push(format!(
                        "{}: dropped a second top-level cafile line ({old}); only one is kept",
                        path.display()
                    ));
                } else if old == wanted {
                    out.push_str(line);
                } else {
                    notes.push(format!(
                        "{}: cafile was {old}; it now names the full bundle {wanted} (the old line \
                         comes back on uninstall or configure-tools --undo; CAs of your own that only that file held belong \
                         in trust-proxy's bundle: trust-proxy install --ca-file FILE)",
                        path.display()
                    ));
                    out.push_str(&new_line);
                    out.push_str(end);
                }
                have_cafile = true;
            }
            IniLine::Key {
                key: "ca" | "ca[]", ..
            } => {
                removed_ca = removed_ca.saturating_add(1);
            }
            IniLine::Key { key, .. } if is_registry_ca_key(key) => {
                notes.push(format!(
                    "{}: {key} is left as it is: requests to that registry use it, not the bundle",
                    path.display()
                ));
                out.push_str(line);
            }
            IniLine::Key { .. } | IniLine::Other => out.push_str(line),
        }
    }
    if !have_cafile {
        push_line(&mut out, &new_line, eol);
    }
    if removed_ca > 0 {
        notes.push(format!(
            "{}: removed {removed_ca} ca/ca[] line(s): beside cafile, npm uses whichever comes \
             last and pnpm prefers ca, so the bundle would not be used reliably; they come back on \
             uninstall or configure-tools --undo; a CA they named that is not the proxy's belongs in trust-proxy's bundle \
             (trust-proxy install --ca-file FILE)",
            path.display()
        ));
    }
    let edit = Some(file_edit(path, out, true, new_line.clone()));
    Ok(CafileEdit {
        edit,
        setting: new_line,
        notes,
    })
}

enum IniLine<'a> {
    Section,
    Key {
        key: &'a str,
        value: Option<&'a str>,
    },
    Other,
}

/// `ini` 6's line grammar: `[name]` alone is a section, `key=value` or a bare `key` an entry,
/// `;`/`#` lines and blank lines nothing.
fn classify(body: &str) -> IniLine<'_> {
    let trimmed = body.trim();
    if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
        return IniLine::Other;
    }
    if let Some(inner) = trimmed.strip_prefix('[') {
        if let Some(name) = inner.strip_suffix(']') {
            if !name.contains(']') {
                return IniLine::Section;
            }
        }
    }
    match trimmed.split_once('=') {
        Some((key, value)) => IniLine::Key {
            key: key.trim(),
            value: Some(value),
        },
        None => IniLine::Key {
            key: trimmed,
            value: None,
        },
    }
}

fn has_top_level_cafile(all: &[&str]) -> bool {
    for line in all {
        match classify(split_eol(line).0) {
            IniLine::Section => return false,
            IniLine::Key { key: "cafile", .. } => return true,
            _ => {}
        }
    }
    false
}

/// Where a new top-level line goes: before the first section header and the comment lines
/// right above it (they describe the section); `None` when there is no section (append).
fn insertion_point(all: &[&str]) -> Option<usize> {
    let header = all
        .iter()
        .position(|line| matches!(classify(split_eol(line).0), IniLine::Section))?;
    let mut at = header;
    while let Some(before) = at.checked_sub(1) {
        let body = all.get(before).map(|l| split_eol(l).0.trim()).unwrap_or("");
        if body.starts_with(';') || body.starts_with('#') {
            at = before;
        } else {
            break;
        }
    }
    Some(at)
}

fn is_registry_ca_key(key: &str) -> bool {
    key.starts_with("//") && (key.ends_with(":cafile") || key.ends_with(":ca"))
}

/// A value as `ini`'s `unsafe()` reads it.
pub(crate) fn ini_value(raw: &str) -> String {
    let value = raw.trim();
    let double = value.len() > 1 && value.starts_with('"') && value.ends_with('"');
    let single = value.len() > 1 && value.starts_with('\'') && value.ends_with('\'');
    if double || single {
        let source = if single {
            value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value)
        } else {
            value
        };
        return serde_json::from_str::<String>(source).unwrap_or_else(|_| source.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            if !matches!(c, '\\' | ';' | '#') {
                out.push('\\');
            }
            out.push(c);
            escaped = false;
        } else if c == ';' || c == '#' {
            break;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    if escaped {
        out.push('\\');
    }
    out.trim().to_string()
}

/// The bundle path as an ini value that [`ini_value`] (and so npm and pnpm) reads back exactly.
fn render_value(tool: ToolId, bundle: &Path, text: &str) -> Result<String, ToolError> {
    let unsafe_path = |why: &str| ToolError::UnsafePath {
        tool,
        path: bundle.to_path_buf(),
        why: why.to_string(),
    };
    if text.contains("${") {
        return Err(unsafe_path("npm and pnpm would expand the ${...} in it"));
    }
    let plain = text
        .chars()
        .all(|c| c.is_alphanumeric() || "/._-:+~@ ,()\\".contains(c))
        && !text.contains("\\\\")
        && !text.ends_with('\\')
        && !text.starts_with('[')
        && text.trim() == text;
    if plain {
        return Ok(text.to_string());
    }
    serde_json::to_string(text).map_err(|e| unsafe_path(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_like_ini_unsafe() {
        assert_eq!(ini_value(" /a/b.pem ; comment"), "/a/b.pem");
        assert_eq!(ini_value("\"/a;b.pem\""), "/a;b.pem");
        assert_eq!(ini_value("'/a b.pem'"), "/a b.pem");
        assert_eq!(ini_value("C:\\Users\\x.pem"), "C:\\Users\\x.pem");
        assert_eq!(ini_value("a\\;b"), "a;b");
    }

    #[test]
    fn rendered_values_read_back_exactly() {
        for path in [
            "/etc/trust-proxy/ca-bundle.pem",
            "C:\\ProgramData\\trust-proxy\\bundle.pem",
            "\\\\server\\share\\bundle.pem",
            "/a;b#c/bundle.pem",
            "/with \"quote\"/b.pem",
            " /leading-space.pem",
            "[odd].pem",
        ] {
            let rendered = render_value(ToolId::Npm, Path::new(path), path).unwrap();
            assert_eq!(ini_value(&rendered), path, "{rendered}");
        }
        assert!(render_value(ToolId::Npm, Path::new("/${HOME}/b"), "/${HOME}/b").is_err());
    }
}
