//! The artefacts a fleet's management system imports to trust a root CA: PEM, the DER `.cer`
//! Windows admins expect, a macOS configuration profile (`com.apple.security.root`), a
//! PowerShell script for Intune/GPO and a `.reg` file for the LocalMachine Root store. Pure
//! functions from certificates to bytes: which roots are trusted is install's decision
//! (`install::trusted_roots`), writing the file is the CLI's.

pub mod mobileconfig;
pub mod ps1;
pub mod reg;

use crate::analyze::certinfo::Cert;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PEM, one block per root (Linux, `--ca-file` elsewhere).
    Pem,
    /// DER `.cer`: one certificate, as Windows' certificate tools import it.
    Der,
    /// macOS configuration profile (.mobileconfig) trusting each root, for an MDM to deploy.
    Mobileconfig,
    /// PowerShell script for Intune or Group Policy: checks each root's thumbprint, then adds
    /// it to the machine's Root store; running it again changes nothing.
    Ps1,
    /// Windows registry file: the roots as LocalMachine Root store entries.
    Reg,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pem => "pem",
            Format::Der => "der",
            Format::Mobileconfig => "mobileconfig",
            Format::Ps1 => "ps1",
            Format::Reg => "reg",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("nothing to export: no root was trusted")]
    Empty,
    #[error("a DER .cer holds one certificate and {0} roots were trusted: choose one with --fingerprint, or use --format pem")]
    DerHoldsOne(usize),
    #[error("the configuration profile could not be serialised: {0}")]
    Plist(String),
}

/// The bytes of the artefact for `roots` (each a verified, trusted root).
pub fn render(format: Format, roots: &[Cert]) -> Result<Vec<u8>, ExportError> {
    if roots.is_empty() {
        return Err(ExportError::Empty);
    }
    match format {
        Format::Pem => Ok(pem(roots).into_bytes()),
        Format::Der => match roots {
            [only] => Ok(only.der.as_ref().to_vec()),
            several => Err(ExportError::DerHoldsOne(several.len())),
        },
        Format::Mobileconfig => mobileconfig::render(roots),
        Format::Ps1 => Ok(ps1::render(roots).into_bytes()),
        Format::Reg => Ok(reg::render(roots)),
    }
}

/// PEM blocks, each after a comment naming the root (escaped: the subject came from a peer).
pub fn pem(roots: &[Cert]) -> String {
    let mut out = String::new();
    for root in roots {
        out.push_str(&format!(
            "# {}\n# SHA-256 {}\n",
            crate::discover::tunnel::printable(&root.info.subject),
            root.sha256()
        ));
        out.push_str(&root.to_pem());
    }
    out
}

/// A subject reduced to characters that mean nothing in any of the formats' syntaxes (a
/// PowerShell string or comment, an XML text node, a `.reg` comment): a peer chose these bytes.
pub(crate) fn inert_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " =,.-_()/+@:".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The subject's first CN (escaped as [`inert_text`]), else the whole subject: a display name.
pub(crate) fn display_name(cert: &Cert) -> String {
    let subject = &cert.info.subject;
    let cn = subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(subject);
    inert_text(cn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_text_keeps_names_and_drops_syntax() {
        assert_eq!(
            inert_text("CN=Corp Root CA, O=Corp"),
            "CN=Corp Root CA, O=Corp"
        );
        assert_eq!(
            inert_text("x'\n$(calc)`\"<a>&\u{202e}\u{e9}"),
            "x???(calc)???a????"
        );
    }
}
