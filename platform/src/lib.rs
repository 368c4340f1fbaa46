//! The operating system's trust store behind one interface.
//!
//! One file per OS (`linux.rs`, `macos.rs`, `windows.rs`); each keeps reading, adding and removing
//! side by side so the three operations stay consistent about what "present" means.

use std::io;
use std::path::PathBuf;

pub use rustls_pki_types::CertificateDer;

mod elevation;
pub mod fs_safe;
pub mod gui_session;
pub mod java;
pub mod nss;
pub mod ownership;
#[cfg(unix)]
pub mod private_dir;
mod run_tool;
pub mod secure_dir;
pub mod session_env;
#[cfg(windows)]
mod win_str;

pub use elevation::is_elevated;
pub use gui_session::gui_session_available;
pub use secure_dir::secure_system_dir;
pub use session_env::{persistent_env, PersistentEnv};

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "macos")]
pub mod macos;
// Plain Rust, so its rules are unit-tested on every OS.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod macos_trust;
#[cfg(windows)]
pub mod windows;

/// Where trust-proxy reads a proxy password from; the OS tools it runs never need it, so it is
/// removed from their environment (which their other processes could read).
pub const PROXY_PASSWORD_VAR: &str = "TRUST_PROXY_PROXY_PASSWORD";

/// Whose trust the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every user and service on the machine (needs root / administrator to change).
    System,
    /// The current user only, where the OS has such a store (macOS, Windows).
    User,
}

/// What a write operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Change {
    Added,
    Removed,
    /// Already in the requested state; nothing was written.
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is a symlink, which trust-proxy does not follow (a planted link could redirect what it reads or writes): if the link is yours, replace it with the file it points to and run the command again", path.display())]
    Symlink { path: PathBuf },
    #[error("{} is owned by uid {uid}, not root, and decides what the whole machine trusts: check who changed it, then `sudo chown root {}` and run the command again", path.display(), path.display())]
    NotRootOwned { path: PathBuf, uid: u32 },
    #[error("{} is writable by group or others (mode {mode:o}), so anyone could change what the machine trusts: check its contents, then `sudo chmod go-w {}` and run the command again", path.display(), path.display())]
    Writable { path: PathBuf, mode: u32 },
    #[error("{} is owned by {owner}, not {expected}, and decides what the whole machine trusts: check who changed it, give it back to {expected} (as an administrator) and run the command again", path.display())]
    WrongOwner {
        path: PathBuf,
        owner: String,
        expected: String,
    },
    #[error("{} can be changed by {who}, not only by {allowed}: check its contents, remove the other permissions (as an administrator) and run the command again", path.display())]
    WritableBy {
        path: PathBuf,
        who: String,
        allowed: String,
    },
    #[error("{} holds a different certificate; remove it first or choose another name", path.display())]
    NameTaken { path: PathBuf },
    #[error("invalid certificate name {0:?}: needs at least one of [A-Za-z0-9._-]")]
    InvalidName(String),
    #[error("no CA bundle found (looked in {})", display_paths(searched))]
    NoBundle { searched: Vec<PathBuf> },
    #[error(
        "refresh tool {tool} not found for {family} (looked in {})",
        display_paths(searched)
    )]
    RefreshToolMissing {
        tool: String,
        family: String,
        searched: Vec<PathBuf>,
    },
    #[error("`{command}` failed: {detail}")]
    Refresh { command: String, detail: String },
    #[error("{what}: {source}")]
    Os {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{what}: {message}")]
    Platform { what: String, message: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the OS distrusts this certificate ({origin}); refusing to trust it")]
    Distrusted { origin: String },
}

fn display_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

pub trait TrustStore {
    /// One line for humans, naming the store and where it lives.
    fn describe(&self) -> String;
    /// The roots the OS trusts for TLS, as the OS's own TLS stack sees them.
    fn list(&self) -> Result<Vec<CertificateDer<'static>>, StoreError>;
    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError>;
    /// `name` labels the entry (file name, friendly name); it is sanitised by the backend.
    fn add(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError>;
    /// Removes the entry `add` made for `cert` under the same `name`, and nothing else: another
    /// copy of the same CA (a package's anchor, an administrator's) is not ours to delete.
    fn remove(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError>;
    /// Whether a self-signed end-entity certificate (CA:FALSE) added here becomes a TLS trust
    /// anchor. Windows Root and macOS trust settings take any self-signed certificate.
    fn accepts_end_entity_anchor(&self) -> bool {
        true
    }
}

/// The trust store of the running OS for `scope`.
pub fn os_store(scope: Scope) -> Result<Box<dyn TrustStore>, StoreError> {
    #[cfg(target_os = "linux")]
    {
        match scope {
            Scope::System => Ok(Box::new(linux::LinuxStore::detect("/"))),
            Scope::User => Err(StoreError::Unsupported(
                "Linux has no per-user OS trust store".into(),
            )),
        }
    }
    #[cfg(target_os = "macos")]
    {
        Ok(Box::new(macos::MacStore::new(scope)))
    }
    #[cfg(windows)]
    {
        Ok(Box::new(windows::WindowsStore::new(scope)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = scope;
        Err(StoreError::Unsupported(format!(
            "no trust store backend for {}",
            std::env::consts::OS
        )))
    }
}

/// The roots the OS itself trusts for `scope`. Unlike rustls-native-certs this never consults
/// `SSL_CERT_FILE`/`SSL_CERT_DIR`: discover must compare against what the OS trusts, and those
/// variables are exactly what a user may have pointed at a half-fixed bundle. The system scope
/// leaves out what one user trusts for themselves (CurrentUser\Root, the macOS user domain);
/// distrusted roots are never in the list.
pub fn os_roots(scope: Scope) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    #[cfg(target_os = "linux")]
    {
        // Linux has one, system-wide store.
        let _ = scope;
        linux::LinuxStore::detect("/").list()
    }
    #[cfg(target_os = "macos")]
    {
        macos::trusted_roots(scope)
    }
    #[cfg(windows)]
    {
        windows::trusted_roots(scope)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = scope;
        Err(StoreError::Unsupported(format!(
            "no trust store backend for {}",
            std::env::consts::OS
        )))
    }
}

/// The certificates the OS explicitly distrusts for `scope`. Nothing trust-proxy writes may
/// contain one (see [`Distrust`]). Linux has one machine-wide policy, so both scopes read it.
pub fn os_distrusted(scope: Scope) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    #[cfg(target_os = "linux")]
    {
        let _ = scope;
        linux::distrusted(std::path::Path::new("/"))
    }
    #[cfg(target_os = "macos")]
    {
        macos::distrusted(scope)
    }
    #[cfg(windows)]
    {
        windows::distrusted(scope)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        Err(StoreError::Unsupported(format!(
            "no trust store backend for {} (scope {scope:?})",
            std::env::consts::OS
        )))
    }
}

/// Distrusted certificates, matched as the stores match them, and a little wider: the same DER,
/// the same issuer and serial number (how p11-kit and NSS record distrust), or the same subject
/// and public key (the same CA re-issued with new dates, as Mozilla's and a vendor's copy of a
/// root often are). Erring wide only ever drops a root or refuses an install.
#[derive(Debug, Clone, Default)]
pub struct Distrust {
    entries: Vec<DistrustEntry>,
}

#[derive(Debug, Clone)]
struct DistrustEntry {
    der: Vec<u8>,
    /// `None` when the DER does not parse: then only the exact bytes match.
    names: Option<CertNames>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CertNames {
    subject: Vec<u8>,
    spki: Vec<u8>,
    issuer: Vec<u8>,
    serial: Vec<u8>,
}

impl CertNames {
    fn of(der: &[u8]) -> Option<CertNames> {
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
        Some(CertNames {
            subject: cert.subject().as_raw().to_vec(),
            spki: cert.public_key().raw.to_vec(),
            issuer: cert.issuer().as_raw().to_vec(),
            serial: cert.raw_serial().to_vec(),
        })
    }
}

impl Distrust {
    pub const fn empty() -> Distrust {
        Distrust {
            entries: Vec::new(),
        }
    }

    pub fn new(certs: &[CertificateDer<'_>]) -> Distrust {
        Distrust {
            entries: certs
                .iter()
                .map(|c| DistrustEntry {
                    der: c.as_ref().to_vec(),
                    names: CertNames::of(c.as_ref()),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether `cert` is one of the distrusted certificates (see the type's rule).
    pub fn covers(&self, cert: &[u8]) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let names = CertNames::of(cert);
        self.entries.iter().any(|e| {
            e.der == cert
                || match (&e.names, &names) {
                    (Some(d), Some(c)) => {
                        (d.subject == c.subject && d.spki == c.spki)
                            || (d.issuer == c.issuer && d.serial == c.serial)
                    }
                    _ => false,
                }
        })
    }
}

/// Keeps `[A-Za-z0-9._-]`, maps anything else to `-`, and strips leading dots so the result can
/// never be `..`, a hidden file, or contain a path separator.
pub fn sanitize_name(name: &str) -> Result<String, StoreError> {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed: String = mapped.trim_start_matches('.').chars().take(100).collect();
    if trimmed.chars().any(|c| c.is_ascii_alphanumeric()) {
        Ok(trimmed)
    } else {
        Err(StoreError::InvalidName(name.to_owned()))
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Windows identifies store entries by this thumbprint; serial numbers are not unique.
pub fn sha1_thumbprint(bytes: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes).as_ref(),
    );
    out
}

pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// PEM `CERTIFICATE` blocks (or one raw DER certificate) in `data`; other block types are skipped.
/// Each block is parsed on its own so one damaged entry does not hide the rest of a bundle.
pub fn parse_certificates(data: &[u8]) -> Vec<CertificateDer<'static>> {
    if data.len() > 1 && data[0] == 0x30 && (0x81..=0x84).contains(&data[1]) {
        return vec![CertificateDer::from(data.to_vec())];
    }
    const BEGIN: &[u8] = b"-----BEGIN ";
    let starts = data
        .windows(BEGIN.len())
        .enumerate()
        .filter(|(_, w)| *w == BEGIN)
        .map(|(i, _)| i);
    starts
        .filter_map(|i| pem::parse(&data[i..]).ok())
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| CertificateDer::from(p.into_contents()))
        .collect()
}

pub fn to_pem(cert: &CertificateDer<'_>) -> String {
    let block = pem::Pem::new("CERTIFICATE", cert.as_ref().to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_safe_chars_only() {
        assert_eq!(
            sanitize_name("Corp Proxy/Root CA").ok(),
            Some("Corp-Proxy-Root-CA".into())
        );
        assert_eq!(
            sanitize_name("../../etc/passwd").ok(),
            Some("-..-etc-passwd".into())
        );
        assert_eq!(sanitize_name("..hidden").ok(), Some("hidden".into()));
        assert!(sanitize_name("..").is_err());
        assert!(sanitize_name("///").is_err());
        assert!(sanitize_name("").is_err());
    }

    #[test]
    fn parse_skips_non_certificate_blocks() {
        let ca = include_str!("../testdata/test-ca-a.pem");
        let mixed =
            format!("junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{ca}");
        let certs = parse_certificates(mixed.as_bytes());
        assert_eq!(certs.len(), 1);
        assert_eq!(parse_certificates(to_pem(&certs[0]).as_bytes()), certs);
        assert_eq!(parse_certificates(certs[0].as_ref()), certs);
    }
}
