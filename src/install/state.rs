//! The state file: what an install applied, with the hash of every byte it wrote, so that
//! `uninstall` reverses exactly that and nothing else, and `status` can tell what drifted.

use crate::discover::Provenance;
use crate::install::decide::Decision;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub schema_version: u32,
    pub scope: String,
    /// The installed CAs: a set keyed by SHA-256 (vendors rotate by adding a new CA first).
    pub cas: Vec<InstalledCa>,
    /// Files trust-proxy wrote (whole files it owns), with the SHA-256 of their content.
    pub files: Vec<OwnedFile>,
    /// Files where trust-proxy owns only a marked block (e.g. /etc/environment).
    pub blocks: Vec<PathBuf>,
    /// The proxy the CAs were discovered through (no credentials): for HTTPS_PROXY & co.
    pub proxy: Option<String>,
    pub no_proxy: Option<String>,
    /// Variables set in the session environment (Windows registry, macOS LaunchAgent), with
    /// what they held before trust-proxy first set them, so uninstall puts that back.
    #[serde(default)]
    pub session_env: Vec<SessionVar>,
    /// What the proxy minted when it was probed: `Some(true)` when no leaf it presented carried
    /// a CRL distribution point or an OCSP responder (Windows schannel clients then fail their
    /// revocation check); `None` when no minted leaf was seen (`--ca-file` without a probe).
    #[serde(default)]
    pub minted_without_revocation: Option<bool>,
    /// Which optional stores (NSS databases, JDK keystores) trust-proxy added which CA to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_stores: Vec<crate::install::stores::ExtraStoreRecord>,
    /// The directories the first install created (trust-proxy's own and the missing ones above
    /// it, such as `~/.local/share` in a fresh home), outermost first: uninstall removes those
    /// still empty, so the tree is left as install found it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
    /// Files of `blocks` that did not exist before install wrote its block into them (an
    /// `/etc/environment` a minimal image lacks): uninstall removes such a file when taking the
    /// block out leaves it empty, and keeps it when anyone added a line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_block_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionVar {
    pub name: String,
    pub previous: Option<String>,
}

impl SessionVar {
    /// The actions that put back what these variables held before trust-proxy.
    pub fn restore(vars: &[SessionVar]) -> (Vec<(String, String)>, Vec<String>) {
        let set = vars
            .iter()
            .filter_map(|v| v.previous.clone().map(|p| (v.name.clone(), p)))
            .collect();
        let unset = vars
            .iter()
            .filter(|v| v.previous.is_none())
            .map(|v| v.name.clone())
            .collect();
        (set, unset)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledCa {
    pub sha256: String,
    pub subject: String,
    pub pem: String,
    /// Intermediates of its verified path the proxy does not send (go into proxy-ca.pem).
    pub extra_pem: Vec<String>,
    pub decision: Decision,
    pub provenance: Provenance,
    /// True only when trust-proxy itself added it to the OS store; uninstall removes only those.
    pub added_to_os_store: bool,
    /// In the OS store after the install (added, or already there): the distro bundle then
    /// holds it and the variables can point at that bundle.
    pub in_os_store: bool,
    pub store_name: String,
    /// A self-signed service's certificate: the hosts that presented it (an end-entity one is
    /// trusted for exactly these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedFile {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {} is damaged ({message}): trust-proxy no longer knows what it installed in this scope, so it changes nothing. Restore the file from a backup, or move it aside and run `trust-proxy install` again, which writes a new one", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("state file {} was written by a newer trust-proxy (state schema {found}): upgrade trust-proxy to the version that wrote it, then run the command again", path.display())]
    Newer { path: PathBuf, found: u32 },
    #[error("state file {} names {}, which trust-proxy never writes; refusing to act on it: restore the file from a backup, or move it aside and run `trust-proxy install` again", path.display(), named.display())]
    ForeignPath { path: PathBuf, named: PathBuf },
    #[error("state could not be encoded: {message}")]
    Encode { message: String },
    #[error(transparent)]
    Fs(#[from] trust_proxy_platform::StoreError),
}

impl State {
    pub fn empty(scope: &str) -> State {
        State {
            schema_version: STATE_VERSION,
            scope: scope.to_string(),
            cas: Vec::new(),
            files: Vec::new(),
            blocks: Vec::new(),
            proxy: None,
            no_proxy: None,
            session_env: Vec::new(),
            minted_without_revocation: None,
            extra_stores: Vec::new(),
            created_dirs: Vec::new(),
            created_block_files: Vec::new(),
        }
    }

    /// `None` when nothing is installed.
    pub fn load(path: &Path) -> Result<Option<State>, StateError> {
        let Some(bytes) = trust_proxy_platform::fs_safe::read_nofollow(path)? else {
            return Ok(None);
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if state.schema_version > STATE_VERSION {
            return Err(StateError::Newer {
                path: path.to_path_buf(),
                found: state.schema_version,
            });
        }
        Ok(Some(state))
    }

    /// Pretty JSON whose names from certificates cannot put raw controls on a terminal that
    /// shows the file (`cat state.json`); the values stay exact.
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        let mut s = crate::terminal_text::to_json_pretty(self).map_err(|e| StateError::Encode {
            message: e.to_string(),
        })?;
        s.push('\n');
        Ok(s.into_bytes())
    }

    pub fn file_hash(&self, path: &Path) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.sha256.as_str())
    }
}

/// Whether a certificate names somewhere to check its revocation: a CRL distribution point or
/// an OCSP responder in its authorityInfoAccess. `None` when it does not parse.
pub fn has_revocation_pointer(der: &[u8]) -> Option<bool> {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    Some(
        cert.extensions()
            .iter()
            .any(|ext| match ext.parsed_extension() {
                ParsedExtension::CRLDistributionPoints(points) => !points.points.is_empty(),
                ParsedExtension::AuthorityInfoAccess(access) => access.iter().any(|d| {
                    d.access_method == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP
                }),
                _ => false,
            }),
    )
}

/// From the leaves the proxy minted (the first certificate each intercepted target presented):
/// `Some(true)` when none names a revocation source, `None` when there were none.
pub fn minted_without_revocation<'a>(leaves: impl Iterator<Item = &'a [u8]>) -> Option<bool> {
    let mut seen = None;
    for leaf in leaves {
        match has_revocation_pointer(leaf) {
            Some(true) => return Some(false),
            Some(false) => seen = Some(true),
            None => {}
        }
    }
    seen
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    trust_proxy_platform::hex_upper(&trust_proxy_platform::sha256(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(with: impl FnOnce(&mut rcgen::CertificateParams)) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["pypi.org".to_string()]).unwrap();
        with(&mut params);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn minted_leaves_without_crl_or_ocsp_pointers_are_recorded_as_such() {
        let bare = leaf(|_| {});
        let with_crl = leaf(|p| {
            p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec!["http://crl.corp/ca.crl".into()],
            }]
        });
        // authorityInfoAccess with one OCSP responder, http://o.
        let ocsp_aia = [
            0x30, 0x16, 0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01,
            0x86, 0x08, b'h', b't', b't', b'p', b':', b'/', b'/', b'o',
        ];
        let with_ocsp = leaf(|p| {
            p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                ocsp_aia.to_vec(),
            )]
        });
        assert_eq!(has_revocation_pointer(&bare), Some(false));
        assert_eq!(has_revocation_pointer(&with_crl), Some(true));
        assert_eq!(has_revocation_pointer(&with_ocsp), Some(true));
        assert_eq!(has_revocation_pointer(b"not a certificate"), None);
        let of = |leaves: &[&[u8]]| minted_without_revocation(leaves.iter().copied());
        assert_eq!(of(&[&bare, &bare]), Some(true));
        assert_eq!(of(&[&bare, &with_ocsp]), Some(false));
        assert_eq!(of(&[]), None);
        // An old state file without the field still reads.
        let old = r#"{"schema_version":1,"scope":"user","cas":[],"files":[],"blocks":[],"proxy":null,"no_proxy":null}"#;
        let state: State = serde_json::from_str(old).unwrap();
        assert_eq!(state.minted_without_revocation, None);
    }

    #[test]
    fn names_from_certificates_are_escaped_on_disk_and_exact_when_read() {
        let subject = "CN=Corp\u{1b}[2J\u{202e}toor\u{200b} Root\u{9b}";
        let mut state = State::empty("user");
        state.cas.push(InstalledCa {
            sha256: "00".repeat(32),
            subject: subject.to_string(),
            pem: String::new(),
            extra_pem: vec![],
            decision: Decision::Pinned,
            provenance: Provenance::Network,
            added_to_os_store: false,
            in_os_store: false,
            store_name: "corp".into(),
            service_targets: vec![],
        });
        let bytes = state.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        for raw in ['\u{1b}', '\u{202e}', '\u{200b}', '\u{9b}'] {
            assert!(!text.contains(raw), "raw {raw:?} in {text}");
        }
        let back: State = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.cas[0].subject, subject);
    }
}
