//! What a CA file or directory named by a setting holds, and what that does to the tool reading
//! it. A setting that REPLACES the tool's roots (SSL_CERT_FILE, npm `cafile`, cargo `cainfo`, ...)
//! must name a complete bundle: a file with the CA alone breaks every host the proxy does not
//! inspect (bypassed banking and health sites, off the VPN). A missing file is worse: uv >= 0.12
//! fails every request when SSL_CERT_FILE names one, Node warns and drops the extra CA.

use super::{read_file, shown, Collector, Finding, ReadOutcome, Severity};
use crate::analyze::certinfo::Cert;
use crate::analyze::certload;
use crate::tools::{Context, ToolId};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// How the tool uses the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// The file is all the tool trusts.
    Replaces,
    /// Added to the tool's own roots (NODE_EXTRA_CA_CERTS): the CA alone is right there.
    Adds,
}

/// What the setting names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    /// OpenSSL's hashed directory (SSL_CERT_DIR, curl `capath`).
    Dir,
    /// Either (conda's `ssl_verify`, git's `sslCAInfo` is a file but people point it at dirs).
    FileOrDir,
}

/// The setting being checked, for the finding's text.
pub struct Setting<'a> {
    pub tool: Option<ToolId>,
    /// "environment" or the config file.
    pub location: String,
    /// `SSL_CERT_FILE=/x` or `cafile=/x`.
    pub setting: String,
    /// How to take the setting away (a command, or the line to remove).
    pub remove: String,
    pub kind: Kind,
    pub usage: Use,
    pub ctx: &'a Context,
    /// A complete bundle to point it at instead, when one is known.
    pub suggested_bundle: Option<&'a Path>,
}

/// Subject and public key: what makes two certificates the same CA.
type Identity = (Vec<u8>, Vec<u8>);

/// Mozilla's roots by subject and key: a re-issued copy of a root in an OS bundle still counts.
fn mozilla_identities() -> &'static HashSet<Identity> {
    static IDS: OnceLock<HashSet<Identity>> = OnceLock::new();
    IDS.get_or_init(|| {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| Cert::parse_anchor(der.as_ref()).ok())
            .map(|c| c.anchor_identity())
            .collect()
    })
}

/// What doctor needs of each certificate in a CA file.
#[derive(Debug, Clone)]
pub struct Held {
    subject: String,
    identity: Identity,
}

/// The certificates of one file or directory, or why there are none; kept per run because
/// the same bundle is usually named by a dozen variables and keys.
pub type Contents = Result<Vec<Held>, String>;

/// At most this many files are read from a hashed directory.
const MAX_DIR_FILES: usize = 5_000;

/// The certificates at `path` (a file, or every file in a directory); `Err` says why none could
/// be read. Parsed as trust anchors: only names and keys matter here, not self-signatures.
fn certificates(path: &Path, kind: Kind) -> Contents {
    let is_dir = std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false);
    match (kind, is_dir) {
        (Kind::File, true) => Err("is a directory, not a file".to_string()),
        (Kind::Dir, false) => Err("is not a directory".to_string()),
        (_, true) => {
            let entries = std::fs::read_dir(path).map_err(|e| e.to_string())?;
            let mut certs = Vec::new();
            for entry in entries.flatten().take(MAX_DIR_FILES) {
                if let ReadOutcome::Read(bytes) = read_file(&entry.path()) {
                    certs.extend(held(&bytes).unwrap_or_default());
                }
            }
            Ok(certs)
        }
        (_, false) => match read_file(path) {
            ReadOutcome::Read(bytes) => held(&bytes),
            ReadOutcome::Missing => Err("missing".to_string()),
            ReadOutcome::Unreadable(why) => Err(why),
        },
    }
}

fn held(bytes: &[u8]) -> Contents {
    let ders = certload::load_ders(bytes).map_err(|e| e.to_string())?;
    Ok(ders
        .iter()
        .filter_map(|der| Cert::parse_anchor(der).ok())
        .map(|c| Held {
            subject: c.info.subject.clone(),
            identity: c.anchor_identity(),
        })
        .collect())
}

/// Checks the file or directory a setting names and adds what is wrong with it. Returns true
/// when it is usable (exists and holds certificates), so callers can count the tool configured.
pub fn check(path_text: &str, s: &Setting<'_>, out: &mut Collector) -> bool {
    let paths: Vec<PathBuf> = match s.kind {
        // OpenSSL reads SSL_CERT_DIR as a list (`:` on Unix, `;` on Windows).
        Kind::Dir => std::env::split_paths(path_text).collect(),
        _ => vec![PathBuf::from(path_text)],
    };
    let instead = match s.suggested_bundle {
        Some(b) => format!("a full bundle (OS roots + the CA), such as trust-proxy's {}", shown(s.ctx, b)),
        None => "a full bundle (OS roots + the CA; `trust-proxy install` writes one and `trust-proxy status` names it)".to_string(),
    };
    let mut usable = true;
    let mut all = Vec::new();
    for path in &paths {
        if !path.is_absolute() {
            // Relative paths resolve against whatever directory the tool runs in.
            out.push(finding(s, Severity::Warning, "bundle_relative_path",
                format!("{} is a relative path: the tool resolves it against the directory it runs in, so it works in some directories only", path.display()),
                format!("{}; point it at {instead} by its absolute path", s.remove)));
        }
        if std::fs::metadata(path).is_err() {
            // Said of the tool that reads this setting: PIP_CERT is no concern of uv's.
            let effect = match (s.usage, s.tool) {
                (Use::Replaces, Some(tool)) => format!(
                    "{} cannot load it and fails every HTTPS request",
                    tool.as_str()
                ),
                (Use::Replaces, None) => "the programs that read it fail every HTTPS request (uv >= 0.12 trusts nothing at all; Python, curl and git fail to load it)".to_string(),
                (Use::Adds, _) => {
                    "the tool skips it (Node with a warning), so hosts behind the proxy fail"
                        .to_string()
                }
            };
            out.push(finding(
                s,
                Severity::Error,
                "bundle_missing",
                format!("{} does not exist: {effect}", path.display()),
                format!("{}; or point it at {instead}", s.remove),
            ));
            usable = false;
            continue;
        }
        let contents = out
            .ca_files
            .entry((path.clone(), s.kind))
            .or_insert_with(|| certificates(path, s.kind))
            .clone();
        match contents {
            Ok(certs) if certs.is_empty() => {
                out.push(finding(
                    s,
                    Severity::Error,
                    "bundle_unreadable",
                    format!("{} holds no certificate the tool can load", path.display()),
                    format!("{}; or point it at {instead}", s.remove),
                ));
                usable = false;
            }
            Ok(certs) => all.extend(certs),
            Err(why) => {
                out.push(finding(
                    s,
                    Severity::Error,
                    "bundle_unreadable",
                    format!("{}: {why}", path.display()),
                    format!("{}; or point it at {instead}", s.remove),
                ));
                usable = false;
            }
        }
    }
    if !usable || s.usage == Use::Adds || all.is_empty() {
        return usable;
    }
    let mozilla = mozilla_identities();
    let public = all.iter().filter(|c| mozilla.contains(&c.identity)).count();
    let total_public = mozilla.len();
    if all.len() == 1 {
        let only = all.first().map(|c| c.subject.clone()).unwrap_or_default();
        out.push(finding(s, Severity::Error, "bundle_single_ca",
            format!("the file holds one certificate only ({only}) and REPLACES the tool's roots: every host the proxy does not inspect fails (bypassed sites, off the VPN, the proxy's own updates)"),
            format!("point it at {instead}, never at the CA alone; or {}", s.remove)));
    } else if public == 0 {
        out.push(finding(s, Severity::Error, "bundle_without_public_roots",
            format!("the file holds {} certificates and none of Mozilla's public roots, and REPLACES the tool's roots: every host the proxy does not inspect fails", all.len()),
            format!("point it at {instead}; or {}", s.remove)));
    } else if public.saturating_mul(2) < total_public {
        out.push(finding(s, Severity::Warning, "bundle_few_public_roots",
            format!("the file holds {public} of Mozilla's {total_public} public roots and REPLACES the tool's roots: hosts under the others fail when the proxy does not inspect them"),
            format!("point it at {instead}; or {}", s.remove)));
    }
    usable
}

fn finding(
    s: &Setting<'_>,
    severity: Severity,
    id: &'static str,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        id,
        severity,
        tool: s.tool,
        location: s.location.clone(),
        setting: s.setting.clone(),
        message,
        fix,
    }
}
