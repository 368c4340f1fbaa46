//! GNU wget 1.x: `ca_certificate = <bundle>` in `.wgetrc`.
//!
//! Linux builds read the system CA locations (Debian 12's wget 1.21.3, a GnuTLS build, logs
//! `Certificates loaded: 144` from the distribution store), so with the CA in the OS store
//! nothing is written; elsewhere the FULL bundle is named (whether `ca_certificate` adds to or
//! replaces the defaults differs between builds: with the full bundle it does not matter).
//!
//! The format (wget manual, Wgetrc Syntax): `command = value`, command names case-, underscore-
//! and minus-insensitive, the value the rest of the line with white space trimmed, no quoting,
//! `#` comments only as whole lines. So a path with white space at either end, or one starting
//! with `~` (wget would expand it), cannot be carried: `UnsafePath`. Only the one
//! `ca_certificate` line is touched; two of them are refused as ambiguous. A value the person
//! set follows [`super::existing_ca`].

use super::config_text;
use super::existing_ca::{self, Decision};
use super::ToolPlan;
use super::{paths, Context, FileEdit, Found, Mechanism, Os, ReadFile, Tool, ToolError, ToolId};

pub struct Wget;

impl Tool for Wget {
    fn id(&self) -> ToolId {
        ToolId::Wget
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("wget", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let path = paths::wgetrc(ctx);
        let bundle = config_text::path_text(ToolId::Wget, &ctx.bundle)?;
        if bundle.trim() != bundle || bundle.starts_with('~') {
            return Err(ToolError::UnsafePath {
                tool: ToolId::Wget,
                path: ctx.bundle.clone(),
                why: "a .wgetrc value cannot start with ~ or start or end with white space"
                    .to_owned(),
            });
        }
        let text = match read(&path)? {
            Some(bytes) => config_text::decode(ToolId::Wget, &path, bytes)?,
            None => String::new(),
        };
        let settings = parse(&text);
        let ours: Vec<_> = settings.iter().filter(|s| s.0 == "cacertificate").collect();
        if ours.len() > 1 {
            return Err(ToolError::Unparsable {
                tool: ToolId::Wget,
                path,
                message: format!("ca_certificate is set {} times", ours.len()),
            });
        }
        let existing = ours.first().map(|s| s.2.clone());
        let needed = ctx.os != Os::Linux || !ctx.ca_in_os_store;
        let line = format!("ca_certificate = {bundle}");
        let mut notes = Vec::new();
        let mut edits = Vec::new();
        let mechanism = match existing_ca::decide(
            ToolId::Wget,
            "ca_certificate",
            existing.as_deref(),
            needed,
            ctx,
            read,
        ) {
            Decision::NotNeeded => Mechanism::OsStoreAlready {
                why: "wget reads the system CA locations".to_owned(),
            },
            Decision::Keep(note) => {
                notes.push(note);
                Mechanism::BundleFile {
                    setting: format!("ca_certificate (yours: {})", existing.unwrap_or_default()),
                }
            }
            decision @ (Decision::AlreadyOurs | Decision::Write(_)) => {
                let contents = match decision {
                    Decision::Write(note) => {
                        notes.extend(note);
                        match ours.first() {
                            Some(old) => {
                                config_text::splice(&text, old.1.start..old.1.content_end, &line)
                            }
                            None => config_text::append_lines(
                                &text,
                                std::slice::from_ref(&line),
                                config_text::newline_of(&text),
                            ),
                        }
                    }
                    _ => text.clone(),
                };
                edits.push(FileEdit {
                    path,
                    contents: contents.into_bytes(),
                    sensitive: false,
                    setting: line.clone(),
                });
                Mechanism::BundleFile { setting: line }
            }
        };
        Ok(ToolPlan {
            tool: ToolId::Wget,
            version: found.version,
            mechanism,
            edits,
            run_after: Vec::new(),
            notes,
        })
    }
}

/// Every `command = value` line: the command as wget compares it (lower case, no `_` or `-`),
/// the line, the value.
fn parse(text: &str) -> Vec<(String, config_text::Line, String)> {
    config_text::lines(text)
        .into_iter()
        .filter_map(|line| {
            let content = text.get(line.start..line.content_end)?.trim();
            if content.starts_with('#') {
                return None;
            }
            let (command, value) = content.split_once('=')?;
            let command: String = command
                .trim()
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .map(|c| c.to_ascii_lowercase())
                .collect();
            Some((command, line, value.trim().to_owned()))
        })
        .collect()
}
