//! What to do when the person already pointed a tool's CA setting somewhere else.
//!
//! The rule, the same for every tool: a setting already naming trust-proxy's bundle is ours
//! and stays. Another file is **kept** when it already works behind the proxy, meaning it holds
//! every certificate of the installed CA *and* at least one other certificate (a bundle the
//! person built, typically with their own extra roots: replacing it could drop those). It is
//! **replaced** by the full bundle when it cannot work: the file is missing, holds no PEM
//! certificate, lacks the CA, or holds nothing but the CA (every host the proxy does not
//! inspect then fails). A file that cannot be read is kept: without reading it there is no
//! knowing, and the person's choice wins over a guess. Every outcome other than "ours" puts a
//! note in the plan; a replaced value comes back on uninstall, since the engine records the
//! file's previous bytes.

use super::config_text::{self, IniDoc};
use super::{Context, FileEdit, Mechanism, ReadFile, ToolId};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Already the bundle.
    Ours,
    /// Left as the person set it; the note says why.
    Kept(String),
    /// To be replaced by the bundle; the note says why.
    Replaced(String),
}

/// What a tool plan does with its CA setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not set, and the tool's default trust already holds the CA: nothing to write.
    NotNeeded,
    /// Write the bundle into the setting; the note says what it replaces, if anything.
    Write(Option<String>),
    /// The setting already names the bundle.
    AlreadyOurs,
    /// The person's value stays; the note says why.
    Keep(String),
}

/// Decides for a setting currently holding `existing`, where `needed` says whether the tool's
/// default trust lacks the CA. A value that cannot work is replaced even when the default would
/// do: it overrides the default, so leaving it would leave the tool broken.
pub fn decide(
    tool: ToolId,
    setting: &str,
    existing: Option<&str>,
    needed: bool,
    ctx: &Context,
    read: ReadFile<'_>,
) -> Decision {
    match existing.map(|current| judge(tool, setting, current, ctx, read)) {
        None if needed => Decision::Write(None),
        None => Decision::NotNeeded,
        Some(Existing::Ours) => Decision::AlreadyOurs,
        Some(Existing::Kept(note)) => Decision::Keep(note),
        Some(Existing::Replaced(note)) => Decision::Write(Some(note)),
    }
}

/// Judges `current`, the value the person's `setting` of `tool` holds now.
pub fn judge(
    tool: ToolId,
    setting: &str,
    current: &str,
    ctx: &Context,
    read: ReadFile<'_>,
) -> Existing {
    let bundle = ctx.bundle.to_string_lossy();
    if current == bundle {
        return Existing::Ours;
    }
    let tool = tool.as_str();
    let replaced = |why: &str| {
        Existing::Replaced(format!(
            "{tool}: {setting} named {current}, which {why}; replaced by {bundle} (uninstall or \
             configure-tools --undo puts yours back)"
        ))
    };
    let Some(file) = resolve(current, ctx) else {
        return replaced("is not an absolute path");
    };
    let theirs = match read(&file) {
        Ok(Some(bytes)) => certificates(&bytes),
        Ok(None) => return replaced("does not exist"),
        Err(e) => {
            return Existing::Kept(format!(
                "{tool}: {setting} names {current}, which could not be read ({e}); kept as you \
                 set it: it must hold the proxy's CA, or point it at {bundle}"
            ))
        }
    };
    let ca = match read(&ctx.proxy_ca) {
        Ok(Some(bytes)) => certificates(&bytes),
        _ => BTreeSet::new(),
    };
    if theirs.is_empty() {
        return replaced("holds no PEM certificate");
    }
    if ca.is_empty() || !ca.is_subset(&theirs) {
        return replaced("does not hold the proxy's CA");
    }
    if theirs.len() <= ca.len() {
        return replaced("holds only the proxy's CA (every host it does not inspect would fail)");
    }
    Existing::Kept(format!(
        "{tool}: {setting} names {current}, which already holds the proxy's CA and other roots; \
         kept as you set it"
    ))
}

/// The value as a file: absolute, or `~/...` under the home (git, AWS CLI and curl expand it).
fn resolve(value: &str, ctx: &Context) -> Option<PathBuf> {
    if let Some(rest) = value.strip_prefix("~/") {
        return Some(ctx.home.join(rest));
    }
    let path = PathBuf::from(value);
    // A Windows plan is also tested on Linux, where `C:\x` is not absolute for `Path`.
    let windows_drive = value.as_bytes().get(1) == Some(&b':')
        && value
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
        && matches!(value.as_bytes().get(2), Some(b'\\' | b'/'));
    (path.is_absolute() || windows_drive).then_some(path)
}

/// The DER of every PEM certificate in `bytes`.
fn certificates(bytes: &[u8]) -> BTreeSet<Vec<u8>> {
    pem::parse_many(bytes)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect()
}

/// An INI key that must name the full bundle whatever the OS store holds, because the tool
/// carries its own roots (the AWS CLI's `ca_bundle`, gcloud's `custom_ca_certs_file`).
pub struct IniCaKey<'a> {
    pub tool: ToolId,
    /// The setting as `decide` and its notes name it (`core/custom_ca_certs_file`).
    pub name: &'a str,
    /// The section header a new section gets (`[default]`, `[core]`).
    pub header: &'a str,
    /// The key as written in the file (`custom_ca_certs_file`).
    pub key: &'a str,
    /// The whole line to write (`ca_bundle = /etc/...`).
    pub line: &'a str,
    /// What the report says is set.
    pub setting: String,
    pub sensitive: bool,
}

/// Where the key stands in the parsed file, and what it holds now.
pub struct IniPlace<'a> {
    pub path: PathBuf,
    pub text: &'a str,
    pub doc: &'a IniDoc,
    pub section: Option<usize>,
    pub option: Option<usize>,
    pub existing: Option<String>,
}

/// The mechanism and the edit for `key` in `place`: the person's working value is kept (with
/// its note), anything else becomes the bundle; an edit that changes nothing is still named,
/// so the engine keeps the file recorded.
pub fn plan_ini_key(
    key: IniCaKey<'_>,
    place: IniPlace<'_>,
    ctx: &Context,
    read: ReadFile<'_>,
    notes: &mut Vec<String>,
) -> (Mechanism, Vec<FileEdit>) {
    match decide(
        key.tool,
        key.name,
        place.existing.as_deref(),
        true,
        ctx,
        read,
    ) {
        Decision::Keep(note) => {
            notes.push(note);
            let setting = format!(
                "{} {} (yours: {})",
                key.header,
                key.key,
                place.existing.unwrap_or_default()
            );
            (Mechanism::BundleFile { setting }, Vec::new())
        }
        decision => {
            let contents = match decision {
                Decision::Write(note) => {
                    notes.extend(note);
                    config_text::ini_set(
                        place.text,
                        place.doc,
                        place.section,
                        place.option,
                        key.header,
                        key.line,
                    )
                }
                _ => place.text.to_owned(),
            };
            let edit = FileEdit {
                path: place.path,
                contents: contents.into_bytes(),
                sensitive: key.sensitive,
                setting: key.setting.clone(),
            };
            (
                Mechanism::BundleFile {
                    setting: key.setting,
                },
                vec![edit],
            )
        }
    }
}
