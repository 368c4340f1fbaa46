//! cargo: `[http] cainfo` in `$CARGO_HOME/config.toml`, edited with `toml_edit` so comments,
//! other keys and the rest of `[http]` stay as they were.
//!
//! cargo talks HTTPS through libcurl. Without `cainfo` it uses the system certificates: on
//! Linux the distribution's (rustup's cargo 1.95, with its own OpenSSL 3.5, logs `CAfile:
//! /usr/lib/ssl/cert.pem` and `CApath: /usr/lib/ssl/certs` with `CARGO_HTTP_DEBUG=true` in a
//! clean environment; Debian links them to /etc/ssl/certs/ca-certificates.crt and
//! /etc/ssl/certs), on Windows Schannel and so the Windows store (cargo doc/book/src/reference/config.md, `http.cainfo`). So with the CA
//! in the OS store nothing is written. `cainfo` REPLACES those roots (on Windows it even makes
//! Schannel ignore the store, curl/curl#4156), hence it only ever names the FULL bundle, and is
//! never introduced on Windows when the store has the CA.
//!
//! Windows: Schannel checks revocation and fails with CRYPT_E_NO_REVOCATION_CHECK on leaves the
//! proxy minted without CRL/OCSP pointers; cargo has no best-effort mode (rust-lang/cargo#8688),
//! so only then `[http] check-revoke = false` is written, with a note so doctor reports it as
//! expected. A `check-revoke` the person set is left as it is.
//!
//! A `cainfo` the person set follows [`super::existing_ca`].

use super::existing_ca::{self, Decision};
use super::{
    config_text, paths, Context, FileEdit, Found, Mechanism, Os, ReadFile, Tool, ToolError,
};
use super::{ToolId, ToolPlan};
use std::path::Path;
use toml_edit::{DocumentMut, Item, TableLike, Value};

pub struct Cargo;

impl Tool for Cargo {
    fn id(&self) -> ToolId {
        ToolId::Cargo
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("cargo", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let path = paths::cargo_config(ctx);
        let bundle = config_text::path_text(ToolId::Cargo, &ctx.bundle)?;
        let original = match read(&path)? {
            Some(bytes) => Some(config_text::decode(ToolId::Cargo, &path, bytes)?),
            None => None,
        };
        let text = original.as_deref().unwrap_or("");
        let mut doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| unparsable(&path, e.message()))?;
        let mut notes = Vec::new();
        let mut changed = false;
        // The settings of this file trust-proxy stands behind (written now or before).
        let mut owned = Vec::new();

        let existing_cainfo = string_at(&doc, "cainfo", &path)?;
        let cainfo = format!("[http] cainfo = \"{bundle}\"");
        let mechanism = match existing_ca::decide(
            ToolId::Cargo,
            "[http] cainfo",
            existing_cainfo.as_deref(),
            !ctx.ca_in_os_store,
            ctx,
            read,
        ) {
            Decision::NotNeeded => Mechanism::OsStoreAlready {
                why: match ctx.os {
                    Os::Windows => "cargo's libcurl uses Schannel, which reads the Windows store",
                    Os::Linux | Os::Macos => "cargo's libcurl reads the system CA bundle",
                }
                .to_owned(),
            },
            Decision::Keep(note) => {
                notes.push(note);
                Mechanism::BundleFile {
                    setting: format!(
                        "[http] cainfo (yours: {})",
                        existing_cainfo.as_deref().unwrap_or("")
                    ),
                }
            }
            Decision::AlreadyOurs => {
                owned.push(cainfo.clone());
                Mechanism::BundleFile { setting: cainfo }
            }
            Decision::Write(note) => {
                notes.extend(note);
                set(&mut doc, "cainfo", Value::from(bundle), &path)?;
                changed = true;
                owned.push(cainfo.clone());
                Mechanism::BundleFile { setting: cainfo }
            }
        };

        if ctx.os == Os::Windows && ctx.minted_without_revocation == Some(true) {
            let revoke = "[http] check-revoke = false".to_owned();
            match bool_at(&doc, "check-revoke", &path)? {
                None => {
                    set(&mut doc, "check-revoke", Value::from(false), &path)?;
                    changed = true;
                    notes.push(revocation_note());
                    owned.push(revoke);
                }
                Some(false) => {
                    notes.push(revocation_note());
                    owned.push(revoke);
                }
                Some(true) => notes.push(
                    "cargo: you set [http] check-revoke = true; the proxy's certificates carry no \
                     revocation pointer, so cargo will fail with CRYPT_E_NO_REVOCATION_CHECK: left \
                     as you set it"
                        .to_owned(),
                ),
            }
        }

        let mut edits = Vec::new();
        if !owned.is_empty() {
            let contents = if changed {
                keep_line_endings(text, doc.to_string())
            } else {
                text.to_owned()
            };
            edits.push(FileEdit {
                path,
                contents: contents.into_bytes(),
                sensitive: false,
                setting: owned.join("; "),
            });
        }
        Ok(ToolPlan {
            tool: ToolId::Cargo,
            version: found.version,
            mechanism,
            edits,
            run_after: Vec::new(),
            notes,
        })
    }
}

fn revocation_note() -> String {
    "cargo: [http] check-revoke = false, because the proxy mints certificates without CRL or \
     OCSP pointers and Schannel would fail with CRYPT_E_NO_REVOCATION_CHECK; set by trust-proxy, \
     expected"
        .to_owned()
}

fn unparsable(path: &Path, message: &str) -> ToolError {
    ToolError::Unparsable {
        tool: ToolId::Cargo,
        path: path.to_path_buf(),
        message: message.trim().to_owned(),
    }
}

/// `http`, as a table (a `[http]` section, dotted `http.x` keys or an inline table).
fn http<'d>(doc: &'d DocumentMut, path: &Path) -> Result<Option<&'d dyn TableLike>, ToolError> {
    match doc.as_table().get("http") {
        None => Ok(None),
        Some(item) => item
            .as_table_like()
            .map(Some)
            .ok_or_else(|| unparsable(path, "`http` is not a table")),
    }
}

fn string_at(doc: &DocumentMut, key: &str, path: &Path) -> Result<Option<String>, ToolError> {
    match http(doc, path)?.and_then(|t| t.get(key)) {
        None => Ok(None),
        Some(item) => item
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| unparsable(path, &format!("http.{key} is not a string"))),
    }
}

fn bool_at(doc: &DocumentMut, key: &str, path: &Path) -> Result<Option<bool>, ToolError> {
    match http(doc, path)?.and_then(|t| t.get(key)) {
        None => Ok(None),
        Some(item) => item
            .as_bool()
            .map(Some)
            .ok_or_else(|| unparsable(path, &format!("http.{key} is not true or false"))),
    }
}

/// Sets `http.<key>`, keeping the comment around an old value.
fn set(doc: &mut DocumentMut, key: &str, mut value: Value, path: &Path) -> Result<(), ToolError> {
    let table = doc
        .as_table_mut()
        .entry("http")
        .or_insert_with(toml_edit::table);
    let table = table
        .as_table_like_mut()
        .ok_or_else(|| unparsable(path, "`http` is not a table"))?;
    if let Some(old) = table.get_mut(key).and_then(Item::as_value_mut) {
        *value.decor_mut() = old.decor().clone();
        *old = value;
    } else {
        table.insert(key, Item::Value(value));
    }
    Ok(())
}

/// toml_edit writes new lines with `\n`; a CRLF file keeps CRLF throughout.
fn keep_line_endings(original: &str, edited: String) -> String {
    if config_text::newline_of(original) != "\r\n" {
        return edited;
    }
    let mut out = String::with_capacity(edited.len().saturating_add(16));
    let mut previous = '\0';
    for c in edited.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}
