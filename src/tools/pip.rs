//! pip: since 24.2, on Python 3.10 and later, pip verifies with the OS trust store (its vendored
//! truststore) plus certifi (pypa/pip NEWS 24.2, #11647; `src/pip/_internal/cli/index_command.py`
//! `_create_truststore_ssl_context`, read in pip 26.3 here): with the CA in the OS store there is
//! nothing to write. Otherwise `[global] cert = <full bundle>` in the user's pip.conf, which pip
//! hands to requests as `verify` (certifi only before 24.2: the file must hold every root).

use crate::tools::paths;
use crate::tools::{
    Context, FileEdit, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan, Version,
};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Pip;

pub static PIP: Pip = Pip;

impl Tool for Pip {
    fn id(&self) -> ToolId {
        ToolId::Pip
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("pip", &["--version"])
    }

    /// `pip 26.3 from /x/site-packages/pip (python 3.11)`: the Python it runs on.
    fn facts(&self, version_output: &str) -> BTreeMap<String, String> {
        Version::find_after(version_output, "(python ")
            .map(|v| BTreeMap::from([("python".to_string(), v.to_string())]))
            .unwrap_or_default()
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let python = found.facts.get("python").and_then(|v| Version::find_in(v));
        let mut notes = Vec::new();
        if python.is_some_and(|p| p.at_least(3, 13, 0)) && !ctx.strict_x509_findings.is_empty() {
            notes.push(format!(
                "Python {} enables VERIFY_X509_STRICT by default, and this CA fails it ({}): Python programs on it (requests, httpx, urllib, the clients pip installs) keep failing whatever is configured; the fix is to have the CA re-issued with those extensions, never to turn the flag off",
                python.map(|p| p.to_string()).unwrap_or_default(),
                ctx.strict_x509_findings.join("; ")
            ));
        }
        let uses_os_store = found.version.is_some_and(|v| v.at_least(24, 2, 0))
            && python.is_some_and(|p| p.at_least(3, 10, 0));
        if uses_os_store && ctx.ca_in_os_store {
            return Ok(ToolPlan {
                tool: ToolId::Pip,
                version: found.version,
                mechanism: Mechanism::OsStoreAlready {
                    why: "pip 24.2 and later on Python 3.10 and later verify with the OS trust store (truststore), which holds the CA".to_string(),
                },
                edits: Vec::new(),
                run_after: Vec::new(),
                notes,
            });
        }
        let config = paths::pip_config(ctx);
        let bundle = ini_value(&ctx.bundle)?;
        let current = read(&config)?.unwrap_or_default();
        let contents = set_ini_key(&current, "global", "cert", &bundle).map_err(|message| {
            ToolError::Unparsable {
                tool: ToolId::Pip,
                path: config.clone(),
                message,
            }
        })?;
        let overridden: Vec<String> = sections_setting(&current, "cert")
            .into_iter()
            .filter(|s| s != "global")
            .collect();
        if !overridden.is_empty() {
            notes.push(format!(
                "{} also sets cert in [{}], which wins over [global] for those commands",
                config.display(),
                overridden.join("], [")
            ));
        }
        let setting = format!("[global] cert = {bundle}");
        Ok(ToolPlan {
            tool: ToolId::Pip,
            version: found.version,
            mechanism: Mechanism::BundleFile {
                setting: setting.clone(),
            },
            edits: vec![FileEdit {
                path: config,
                contents,
                sensitive: false,
                setting,
            }],
            run_after: Vec::new(),
            notes,
        })
    }
}

/// The bundle path as an ini value: configparser strips surrounding blanks and a line break
/// would end the value, so those cannot be carried.
fn ini_value(path: &Path) -> Result<String, ToolError> {
    let unsafe_path = |why: &str| ToolError::UnsafePath {
        tool: ToolId::Pip,
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let text = path.to_str().ok_or_else(|| unsafe_path("not UTF-8"))?;
    if text.contains(['\n', '\r', '\0']) {
        return Err(unsafe_path("it holds a line break"));
    }
    if text.trim() != text {
        return Err(unsafe_path("it starts or ends with a blank"));
    }
    Ok(text.to_string())
}

/// One line of an ini file as Python's configparser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Blank,
    Section(String),
    /// `key = value` (or `key: value`), key lower-cased as configparser does.
    Key(String, String),
    /// An indented line continuing the value above.
    Continuation,
}

/// Classifies every line (each with its own end-of-line bytes), refusing what configparser
/// would refuse (a line that is neither a section, a key nor a continuation; a duplicate
/// section or key), so trust-proxy never guesses where its line goes.
fn parse_ini(text: &[u8]) -> Result<Vec<(&[u8], Line)>, String> {
    let mut out: Vec<(&[u8], Line)> = Vec::new();
    let mut section: Option<String> = None;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut seen_keys: Vec<(Option<String>, String)> = Vec::new();
    let mut in_value = false;
    for (i, raw) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        let lineno = i.saturating_add(1);
        let line = String::from_utf8_lossy(raw);
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        let indented = content.starts_with([' ', '\t']);
        let kind = if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            // configparser ends a value at a blank line only when the next line is not indented;
            // a comment inside a value is skipped as here.
            Line::Blank
        } else if indented && in_value {
            Line::Continuation
        } else if indented {
            return Err(format!(
                "line {lineno}: an indented line with no key above it"
            ));
        } else if trimmed.starts_with('[') {
            let name = trimmed
                .strip_prefix('[')
                .and_then(|t| t.rfind(']').and_then(|end| t.get(..end)))
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("line {lineno}: a section header without its ']'"))?;
            if seen_sections.iter().any(|s| s == name) {
                return Err(format!(
                    "line {lineno}: section [{name}] appears twice (pip refuses such a file too)"
                ));
            }
            seen_sections.push(name.to_string());
            section = Some(name.to_string());
            Line::Section(name.to_string())
        } else {
            let at = trimmed.find(['=', ':']).ok_or_else(|| {
                format!("line {lineno}: neither a section, a key = value nor a comment")
            })?;
            let key = trimmed.get(..at).unwrap_or_default().trim().to_lowercase();
            let value = trimmed
                .get(at.saturating_add(1)..)
                .unwrap_or_default()
                .trim();
            if section.is_none() {
                return Err(format!("line {lineno}: a key before any [section]"));
            }
            let id = (section.clone(), key.clone());
            if seen_keys.contains(&id) {
                return Err(format!(
                    "line {lineno}: {key} appears twice in its section (pip refuses such a file too)"
                ));
            }
            seen_keys.push(id);
            Line::Key(key, value.to_string())
        };
        in_value = match kind {
            Line::Key(..) | Line::Continuation => true,
            Line::Blank => in_value && !trimmed.is_empty(),
            Line::Section(_) => false,
        };
        out.push((raw, kind));
    }
    Ok(out)
}

/// The sections of `text` that set `key` (an unparsable file sets nothing knowable).
fn sections_setting(text: &[u8], key: &str) -> Vec<String> {
    let Ok(lines) = parse_ini(text) else {
        return Vec::new();
    };
    let mut section = String::new();
    let mut out = Vec::new();
    for (_, line) in lines {
        match line {
            Line::Section(name) => section = name,
            Line::Key(k, _) if k == key => out.push(section.clone()),
            _ => {}
        }
    }
    out
}

/// `text` with `key = value` in `[section]`: the key's line (and its continuation lines)
/// replaced when present, else a line added after the section's last setting, else the section
/// appended. Every other byte stays.
pub fn set_ini_key(text: &[u8], section: &str, key: &str, value: &str) -> Result<Vec<u8>, String> {
    let lines = parse_ini(text)?;
    let newline: &[u8] = if text.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let new_line = |end: &[u8]| [format!("{key} = {value}").as_bytes(), end].concat();
    let mut out = Vec::with_capacity(text.len().saturating_add(value.len()).saturating_add(16));
    let mut current: Option<&str> = None;
    // Where a new line goes: after the last setting (or header) of the section.
    let mut insert_after: Option<usize> = None;
    let mut replaced = false;
    let mut skipping_value = false;
    for (i, (raw, line)) in lines.iter().enumerate() {
        match line {
            Line::Section(name) => {
                current = Some(name);
                skipping_value = false;
                if name == section {
                    insert_after = Some(i);
                }
            }
            Line::Key(k, _) if current == Some(section) && k == key => {
                let end: &[u8] = if raw.ends_with(b"\r\n") {
                    b"\r\n"
                } else if raw.ends_with(b"\n") {
                    b"\n"
                } else {
                    b""
                };
                out.push((i, Some(new_line(end))));
                replaced = true;
                skipping_value = true;
                insert_after = Some(i);
                continue;
            }
            Line::Key(..) => {
                skipping_value = false;
                if current == Some(section) {
                    insert_after = Some(i);
                }
            }
            Line::Continuation if skipping_value => {
                out.push((i, Some(Vec::new())));
                continue;
            }
            Line::Continuation => {
                if current == Some(section) {
                    insert_after = Some(i);
                }
            }
            Line::Blank => {}
        }
        out.push((i, None));
    }
    let mut bytes = Vec::new();
    for (i, replacement) in out {
        let raw = lines.get(i).map(|(r, _)| *r).unwrap_or_default();
        match replacement {
            Some(new) => bytes.extend_from_slice(&new),
            None => bytes.extend_from_slice(raw),
        }
        if !replaced && insert_after == Some(i) {
            if !raw.ends_with(b"\n") {
                bytes.extend_from_slice(newline);
            }
            bytes.extend_from_slice(&new_line(newline));
        }
    }
    if !replaced && insert_after.is_none() {
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            bytes.extend_from_slice(newline);
        }
        bytes.extend_from_slice(format!("[{section}]").as_bytes());
        bytes.extend_from_slice(newline);
        bytes.extend_from_slice(&new_line(newline));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Os;
    use std::path::PathBuf;

    fn ctx(in_store: bool) -> Context {
        Context {
            os: Os::Linux,
            home: PathBuf::from("/home/u"),
            env: BTreeMap::new(),
            bundle: PathBuf::from("/home/u/.local/share/trust-proxy/ca-bundle.pem"),
            proxy_ca: PathBuf::from("/ca.pem"),
            ca_in_os_store: in_store,
            minted_without_revocation: None,
            strict_x509_findings: Vec::new(),
        }
    }

    fn found(text: &str) -> Found {
        Found {
            tool: ToolId::Pip,
            program: PathBuf::from("/usr/bin/pip"),
            version: Version::find_in(text),
            version_text: text.to_string(),
            facts: PIP.facts(text),
        }
    }

    fn set(text: &str) -> String {
        String::from_utf8(set_ini_key(text.as_bytes(), "global", "cert", "/b.pem").unwrap())
            .unwrap()
    }

    #[test]
    fn ini_edits_keep_every_other_byte() {
        assert_eq!(set(""), "[global]\ncert = /b.pem\n");
        assert_eq!(
            set("# mine\n[global]\ntimeout = 60\n\n[install]\nuser = true"),
            "# mine\n[global]\ntimeout = 60\ncert = /b.pem\n\n[install]\nuser = true"
        );
        assert_eq!(
            set("[global]\r\ncert = /old.pem\r\n  continued\r\nindex-url = x\r\n"),
            "[global]\r\ncert = /b.pem\r\nindex-url = x\r\n"
        );
        assert_eq!(
            set("[install]\nuser = true"),
            "[install]\nuser = true\n[global]\ncert = /b.pem\n"
        );
        assert_eq!(
            set("[global]\ntimeout: 5"),
            "[global]\ntimeout: 5\ncert = /b.pem\n"
        );
        assert_eq!(
            set("[global]\ncert = /b.pem\n"),
            "[global]\ncert = /b.pem\n"
        );
    }

    #[test]
    fn ini_files_pip_would_refuse_are_not_guessed_at() {
        for bad in [
            "[global]\njust words\n",
            "[global]\n[global]\n",
            "[global]\ncert = a\nCERT = b\n",
            "key = before any section\n",
            "  indented = first\n",
            "[global\n",
        ] {
            assert!(
                set_ini_key(bad.as_bytes(), "global", "cert", "/b").is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn os_store_pip_needs_nothing_older_pip_gets_the_bundle() {
        let read = |_: &Path| -> Result<Option<Vec<u8>>, ToolError> { Ok(None) };
        let new = found("pip 26.3 from /x/pip (python 3.11)");
        let plan = PIP.plan(&new, &ctx(true), &read).unwrap();
        assert!(matches!(plan.mechanism, Mechanism::OsStoreAlready { .. }));
        assert!(plan.edits.is_empty());
        // Not in the OS store (Linux user scope): the bundle.
        let plan = PIP.plan(&new, &ctx(false), &read).unwrap();
        assert_eq!(
            plan.edits[0].path,
            PathBuf::from("/home/u/.config/pip/pip.conf")
        );
        // pip 24.2 on Python 3.9, and pip 24.1 on 3.12: certifi only.
        for old in [
            "pip 24.2 from /x/pip (python 3.9)",
            "pip 24.1.2 from /x/pip (python 3.12)",
        ] {
            let plan = PIP.plan(&found(old), &ctx(true), &read).unwrap();
            assert!(
                matches!(plan.mechanism, Mechanism::BundleFile { .. }),
                "{old}"
            );
        }
        let mut strict = ctx(true);
        strict.strict_x509_findings = vec!["basicConstraints not critical".into()];
        let plan = PIP
            .plan(&found("pip 26.3 from /x/pip (python 3.13)"), &strict, &read)
            .unwrap();
        assert!(plan.notes.iter().any(|n| n.contains("re-issued")));
    }
}
