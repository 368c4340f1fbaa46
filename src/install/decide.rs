//! Who decides that a CA is trusted. A root already in the OS store (IT pushed it) needs no pin
//! to go into bundles. Anything from the network or a file needs a `--fingerprint` pin matching a
//! certificate of its verified path, or a person at a terminal who confirms it after seeing the
//! report. Unattended and unpinned is refused, unless the person explicitly opts into
//! trust-on-first-use, which is never allowed for the system scope.

use crate::analyze::certinfo::Cert;
use crate::analyze::chain::SelfSignedShape;
use crate::discover::Provenance;
use serde::Serialize;

/// A SHA-256 pin as users paste it: hex with or without colons, any case, optional `sha256:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--fingerprint {0:?} is not a SHA-256 fingerprint (64 hex digits, colons optional, optional sha256: prefix)")]
pub struct PinError(String);

impl Pin {
    pub fn parse(input: &str) -> Result<Pin, PinError> {
        let trimmed = input.trim();
        let body = trimmed
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("sha256:"))
            .map(|_| &trimmed[7..])
            .unwrap_or(trimmed);
        let hex: String = body
            .chars()
            .filter(|c| *c != ':' && *c != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(PinError(input.to_string()));
        }
        Ok(Pin(hex))
    }

    /// Whether this pin names `cert` (compared on the SHA-256 of its DER).
    pub fn matches(&self, cert: &Cert) -> bool {
        cert.sha256().replace(':', "") == self.0
    }

    /// Colon form, as the report prints fingerprints.
    pub fn display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// One root offered for installation, with the verified path it anchors.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub root: Cert,
    /// Intermediates of the verified path (root side first); a pin may name any of them.
    pub path: Vec<Cert>,
    pub provenance: Provenance,
    /// Set when a probed host presented this certificate itself (a self-signed service).
    pub service: Option<ServiceUse>,
}

/// A self-signed service's certificate: which hosts presented it, and which of them it does
/// not name (an end-entity certificate is refused for those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUse {
    pub shape: SelfSignedShape,
    pub presented_by: Vec<String>,
    pub names_not_covered: Vec<String>,
}

/// How trust in a root was established; recorded in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    OsStore,
    Pinned,
    Confirmed,
    TrustOnFirstUse,
}

/// What the caller knows about how it runs.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub interactive: bool,
    /// `--yes`: do not ask. It never replaces a pin.
    pub assume_yes: bool,
    pub trust_on_first_use: bool,
    pub system_scope: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no --fingerprint pin matches any certificate found (pins: {pins}; found: {found}); nothing was changed. Check the pin with whoever published it; `trust-proxy discover` shows every certificate found with its SHA-256")]
    PinMismatch { pins: String, found: String },
    #[error("{subject} came from {}, no --fingerprint pin matches it, and without a terminal nobody can confirm it; nothing was changed. Compare its SHA-256 {sha256} with the one your IT department publishes; if they are the same, run again with --fingerprint {sha256}{}, or run at a terminal to confirm it yourself", crate::cli::words::came_from(*provenance), if *per_user_install { " (or, for this user only, --trust-on-first-use to trust it without that check)" } else { "" })]
    NeedsPin {
        subject: String,
        provenance: Provenance,
        sha256: String,
        /// A per-user install may be told of --trust-on-first-use; the system scope and export
        /// never accept it.
        per_user_install: bool,
    },
    #[error("--yes never replaces a --fingerprint pin, and no pin matches {subject}; nothing was changed. Compare its SHA-256 {sha256} with the one your IT department publishes; if they are the same, run again with --fingerprint {sha256}, or without --yes at a terminal to confirm it yourself")]
    YesIsNotAPin { subject: String, sha256: String },
    #[error("--trust-on-first-use is refused for the system scope: a root every user trusts needs a --fingerprint pin or a person's confirmation at the terminal; nothing was changed. Run again without --trust-on-first-use and with --fingerprint SHA-256, or with --scope user to trust it for yourself only")]
    TofuSystemScope,
}

/// What to do with each candidate before asking anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept(Decision),
    /// A person must confirm at the terminal.
    AskPerson,
    /// Pins were given and matched other roots: this one is left out (and said so), rather than
    /// refusing the roots the fleet did pin (several regions or products can intercept).
    Skip(String),
}

/// Decides every candidate. Pins are repeatable so a fleet can pin the old and the new CA during
/// a rotation; when pins are given and none matches anything found, the whole install is refused:
/// a wrong pin changes nothing, not even for other roots.
pub fn decide(
    candidates: &[Candidate],
    pins: &[Pin],
    policy: Policy,
) -> Result<Vec<Verdict>, Refusal> {
    if policy.trust_on_first_use && policy.system_scope {
        return Err(Refusal::TofuSystemScope);
    }
    let certs_of = |c: &Candidate| {
        std::iter::once(c.root.clone())
            .chain(c.path.iter().cloned())
            .collect::<Vec<_>>()
    };
    if !pins.is_empty() {
        let matched_any = pins.iter().any(|p| {
            candidates
                .iter()
                .any(|c| certs_of(c).iter().any(|x| p.matches(x)))
        });
        if !matched_any {
            return Err(Refusal::PinMismatch {
                pins: pins.iter().map(Pin::display).collect::<Vec<_>>().join(", "),
                found: candidates
                    .iter()
                    .map(|c| c.root.sha256().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    candidates
        .iter()
        .map(|c| {
            if c.provenance == Provenance::OsStore {
                return Ok(Verdict::Accept(Decision::OsStore));
            }
            if pins
                .iter()
                .any(|p| certs_of(c).iter().any(|x| p.matches(x)))
            {
                return Ok(Verdict::Accept(Decision::Pinned));
            }
            let subject = crate::discover::tunnel::printable(&c.root.info.subject);
            if !pins.is_empty() {
                return Ok(Verdict::Skip(format!(
                    "{subject} ({}) was also seen but matches no --fingerprint pin: not installed",
                    c.root.sha256()
                )));
            }
            if policy.assume_yes {
                return Err(Refusal::YesIsNotAPin {
                    subject,
                    sha256: c.root.sha256().to_string(),
                });
            }
            if policy.interactive {
                return Ok(Verdict::AskPerson);
            }
            if policy.trust_on_first_use {
                return Ok(Verdict::Accept(Decision::TrustOnFirstUse));
            }
            Err(Refusal::NeedsPin {
                subject,
                provenance: c.provenance,
                sha256: c.root.sha256().to_string(),
                per_user_install: !policy.system_scope,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_forms() {
        let hex = "ab".repeat(32);
        let colon = vec!["AB"; 32].join(":");
        for form in [
            hex.clone(),
            colon.clone(),
            format!("sha256:{hex}"),
            format!("SHA256:{colon}"),
            format!("  {hex} "),
        ] {
            assert_eq!(Pin::parse(&form).unwrap().0, "AB".repeat(32), "{form}");
        }
        assert_eq!(Pin::parse(&hex).unwrap().display(), colon);
        for bad in [
            "",
            "abc",
            &"zz".repeat(32),
            &"ab".repeat(31),
            &format!("sha1:{hex}"),
        ] {
            assert!(Pin::parse(bad).is_err(), "{bad}");
        }
    }
}
