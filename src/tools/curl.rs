//! curl (the command line tool): `cacert = "<bundle>"` in `.curlrc`.
//!
//! `--cacert` REPLACES the build's CA store (curl docs/cmdline-opts/cacert.md), so it names the
//! FULL bundle. Linux builds read the distribution bundle (Debian's curl 7.88.1 logs `CAfile:
//! /etc/ssl/certs/ca-certificates.crt`), so with the CA in the OS store nothing is written.
//! macOS: Apple's curl and Homebrew's differ in what they read, and with Apple's SecTrust a
//! `cacert` alone means that file only: the full bundle is right for every build, so it is
//! always named. Windows: a Schannel build (what `curl --version` lists first after `libcurl/`)
//! verifies with the Windows store, so with the CA there nothing is written; and only when the
//! proxy mints leaves without CRL/OCSP pointers `ssl-revoke-best-effort` is added (curl 7.70.0,
//! docs/cmdline-opts/ssl-revoke-best-effort.md), with a note so doctor reports it as expected.
//!
//! The line follows docs/cmdline-opts/config.md: a parameter with white space must be quoted,
//! and inside quotes `\\` and `\"` are escapes (so a Windows path's backslashes are doubled).
//! Only the one `cacert` line is touched; two of them (curl would take the last) are refused as
//! ambiguous. A value the person set follows [`super::existing_ca`].

use super::config_text;
use super::existing_ca::{self, Decision};
use super::{paths, Context, FileEdit, Found, Mechanism, Os, ReadFile, Tool, ToolError, ToolId};
use super::{ToolPlan, Version};
use std::collections::BTreeMap;

pub struct Curl;

const REVOKE_BEST_EFFORT_SINCE: Version = Version::new(7, 70, 0);

impl Tool for Curl {
    fn id(&self) -> ToolId {
        ToolId::Curl
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("curl", &["--version"])
    }

    /// `tls_backend`: the TLS library curl uses by default, lower case (`schannel`, `openssl`).
    fn facts(&self, version_output: &str) -> BTreeMap<String, String> {
        tls_backend(version_output)
            .map(|b| BTreeMap::from([("tls_backend".to_owned(), b)]))
            .unwrap_or_default()
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let path = paths::curlrc(ctx);
        let bundle = config_text::path_text(ToolId::Curl, &ctx.bundle)?;
        let text = match read(&path)? {
            Some(bytes) => config_text::decode(ToolId::Curl, &path, bytes)?,
            None => String::new(),
        };
        let options = parse(&text);
        let cacert: Vec<&Opt> = options.iter().filter(|o| o.name == "cacert").collect();
        if cacert.len() > 1 {
            return Err(ToolError::Unparsable {
                tool: ToolId::Curl,
                path,
                message: format!("cacert is set {} times", cacert.len()),
            });
        }
        let schannel = found.facts.get("tls_backend").map(String::as_str) == Some("schannel");
        let needed = match ctx.os {
            Os::Linux => !ctx.ca_in_os_store,
            Os::Macos => true,
            Os::Windows => !(schannel && ctx.ca_in_os_store),
        };
        let existing = cacert.first().map(|o| o.param.clone());
        let line = format!("cacert = {}", quote(bundle));
        let nl = config_text::newline_of(&text);
        let mut new_text = text.clone();
        let mut notes = Vec::new();
        let mut owned = Vec::new();
        let mechanism = match existing_ca::decide(
            ToolId::Curl,
            "cacert",
            existing.as_deref(),
            needed,
            ctx,
            read,
        ) {
            Decision::NotNeeded => Mechanism::OsStoreAlready {
                why: if schannel {
                    "curl uses Schannel, which reads the Windows store".to_owned()
                } else {
                    "curl reads the system CA bundle".to_owned()
                },
            },
            Decision::Keep(note) => {
                notes.push(note);
                Mechanism::BundleFile {
                    setting: format!("cacert (yours: {})", existing.unwrap_or_default()),
                }
            }
            decision @ (Decision::AlreadyOurs | Decision::Write(_)) => {
                if let Decision::Write(note) = decision {
                    notes.extend(note);
                    new_text = match cacert.first() {
                        Some(old) => {
                            config_text::splice(&text, old.line.start..old.line.content_end, &line)
                        }
                        None => config_text::append_lines(&text, std::slice::from_ref(&line), nl),
                    };
                }
                owned.push(line.clone());
                Mechanism::BundleFile { setting: line }
            }
        };

        if ctx.os == Os::Windows && schannel && ctx.minted_without_revocation == Some(true) {
            let why =
                "the proxy mints certificates without CRL or OCSP pointers and Schannel would \
                       fail with CRYPT_E_NO_REVOCATION_CHECK";
            if found.version.is_some_and(|v| v < REVOKE_BEST_EFFORT_SINCE) {
                notes.push(format!(
                    "curl: {why}; ssl-revoke-best-effort needs curl {REVOKE_BEST_EFFORT_SINCE}: update curl"
                ));
            } else {
                if !options.iter().any(|o| o.name == "ssl-revoke-best-effort") {
                    new_text = config_text::append_lines(
                        &new_text,
                        &["ssl-revoke-best-effort".to_owned()],
                        nl,
                    );
                }
                owned.push("ssl-revoke-best-effort".to_owned());
                notes.push(format!(
                    "curl: ssl-revoke-best-effort, because {why}; set by trust-proxy, expected"
                ));
            }
        }

        let edits = if owned.is_empty() {
            Vec::new()
        } else {
            vec![FileEdit {
                path,
                contents: new_text.into_bytes(),
                sensitive: false,
                setting: owned.join("; "),
            }]
        };
        Ok(ToolPlan {
            tool: ToolId::Curl,
            version: found.version,
            mechanism,
            edits,
            run_after: Vec::new(),
            notes,
        })
    }
}

/// The first TLS library after `libcurl/x.y.z` not in parentheses (a multi-SSL build lists the
/// others in parentheses).
fn tls_backend(version_output: &str) -> Option<String> {
    let first = version_output.lines().next()?;
    let mut words = first
        .split_whitespace()
        .skip_while(|w| !w.starts_with("libcurl/"));
    words.next()?;
    let word = words.find(|w| !w.starts_with('('))?;
    let name = word.split('/').next()?;
    Some(name.to_lowercase())
}

/// One option line of a `.curlrc`.
#[derive(Debug)]
struct Opt {
    line: config_text::Line,
    /// Without leading dashes.
    name: String,
    /// The parameter as curl reads it (quotes and escapes resolved).
    param: String,
}

/// The long options of a `.curlrc`, read as curl's `parseconfig` does.
fn parse(text: &str) -> Vec<Opt> {
    let mut out = Vec::new();
    for line in config_text::lines(text) {
        let content = text.get(line.start..line.content_end).unwrap_or("");
        let content = content.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let dashed = content.starts_with('-');
        let end = content
            .find(|c: char| c.is_whitespace() || (!dashed && (c == '=' || c == ':')))
            .unwrap_or(content.len());
        let option = content.get(..end).unwrap_or("");
        // A single dash starts short options: none of them is one this module reads.
        let name = match option.strip_prefix("--") {
            Some(long) => long,
            None if dashed => continue,
            None => option,
        };
        let rest = content
            .get(end..)
            .unwrap_or("")
            .trim_start_matches(|c: char| c.is_whitespace() || (!dashed && (c == '=' || c == ':')));
        out.push(Opt {
            line,
            name: name.to_owned(),
            param: param(rest),
        });
    }
    out
}

fn param(rest: &str) -> String {
    let Some(quoted) = rest.strip_prefix('"') else {
        return rest
            .split(char::is_whitespace)
            .next()
            .unwrap_or("")
            .to_owned();
    };
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('v') => out.push('\u{b}'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().saturating_add(2));
    out.push('"');
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_the_first_unparenthesized_library() {
        let cases = [
            (
                "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.19 zlib/1.2.13",
                "openssl",
            ),
            (
                "curl 8.9.1 (Windows) libcurl/8.9.1 Schannel zlib/1.3 WinIDN",
                "schannel",
            ),
            (
                "curl 8.4.0 (x86_64-w64-mingw32) libcurl/8.4.0 (OpenSSL/3.1.3) Schannel zlib",
                "schannel",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(tls_backend(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn options_read_as_curl_reads_them() {
        let opts = parse("# c\n--cacert \"C:\\\\a b\\\"\"\nproxy: http://p:1\n-k\ncacert=/x y\n");
        let got: Vec<_> = opts
            .iter()
            .map(|o| (o.name.as_str(), o.param.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("cacert", "C:\\a b\""),
                ("proxy", "http://p:1"),
                ("cacert", "/x")
            ]
        );
        assert_eq!(param(&quote("C:\\a \"b\"")), "C:\\a \"b\"");
    }
}
