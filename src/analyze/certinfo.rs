//! One parsed certificate: the facts the report shows and the raw parts path building compares.

use ring::digest;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{self, Oid};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Why bytes that claimed to be a certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("not a valid X.509 certificate ({0})")]
    Malformed(String),
    #[error("{0} trailing bytes after the certificate")]
    TrailingBytes(usize),
}

/// Key algorithm and size, as a person compares them against policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub bits: usize,
}

/// Name constraints rendered as text; a constrained CA is far less dangerous to trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameConstraintsInfo {
    pub permitted: Vec<String>,
    pub excluded: Vec<String>,
}

/// Everything the report shows about one certificate (schema: docs/discover-contract.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub sha256_fingerprint: String,
    pub sha1_thumbprint: String,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// `None` when the certificate has no basicConstraints extension at all.
    pub basic_constraints_critical: Option<bool>,
    pub path_len: Option<u32>,
    pub key_usage: Vec<String>,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    pub name_constraints: Option<NameConstraintsInfo>,
    pub aia_ca_issuers: Vec<String>,
    pub self_signed: bool,
    pub version: u32,
}

/// A certificate parsed once, keeping its DER so it can be verified, exported and compared.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: CertificateDer<'static>,
    pub info: CertInfo,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    spki_raw: Vec<u8>,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    not_before_unix: i64,
    not_after_unix: i64,
    signature_oid: String,
}

impl PartialEq for Cert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Cert {}

impl Cert {
    /// Parses a certificate from a trust store (OS roots, Mozilla's set): a trust anchor's own
    /// signature is never checked by any client, and verifying ~150 RSA self-signatures at every
    /// start dominated discover's CPU time, so a self-issued anchor counts as self-signed.
    pub fn parse_anchor(der: &[u8]) -> Result<Cert, CertError> {
        Cert::parse_with(der, false)
    }

    pub fn parse(der: &[u8]) -> Result<Cert, CertError> {
        Cert::parse_with(der, true)
    }

    fn parse_with(der: &[u8], verify_self_signature: bool) -> Result<Cert, CertError> {
        let (rest, x509) =
            X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::TrailingBytes(rest.len()));
        }
        let der = CertificateDer::from(der.to_vec());
        let Linking { ski, aki, aia } = linking(&x509);
        let basic = x509.basic_constraints().ok().flatten();
        let key_usage = match x509.key_usage() {
            Ok(Some(ku)) => key_usage_names(ku.value.flags),
            _ => Vec::new(),
        };
        let name_constraints = match x509.name_constraints() {
            Ok(Some(nc)) => Some(NameConstraintsInfo {
                permitted: subtrees(nc.value.permitted_subtrees.as_deref()),
                excluded: subtrees(nc.value.excluded_subtrees.as_deref()),
            }),
            _ => None,
        };
        let subject_raw = x509.subject().as_raw().to_vec();
        let issuer_raw = x509.issuer().as_raw().to_vec();
        let signature_oid = x509.signature_algorithm.algorithm.to_id_string();
        let self_issued = subject_raw == issuer_raw;
        let self_signed = self_issued && (!verify_self_signature || verify_signed_by(&x509, &x509));
        let info = CertInfo {
            subject: x509.subject().to_string(),
            issuer: x509.issuer().to_string(),
            serial: x509.raw_serial_as_string().to_uppercase(),
            not_before: rfc3339(x509.validity().not_before.timestamp()),
            not_after: rfc3339(x509.validity().not_after.timestamp()),
            sha256_fingerprint: colon_hex(digest::digest(&digest::SHA256, der.as_ref()).as_ref()),
            sha1_thumbprint: plain_hex(
                digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref()).as_ref(),
            ),
            key: key_info(&x509),
            signature_algorithm: signature_name(&x509.signature_algorithm.algorithm),
            is_ca: basic.as_ref().is_some_and(|b| b.value.ca),
            basic_constraints_critical: basic.as_ref().map(|b| b.critical),
            path_len: basic.as_ref().and_then(|b| b.value.path_len_constraint),
            key_usage,
            subject_key_id: ski.as_deref().map(colon_hex),
            authority_key_id: aki.as_deref().map(colon_hex),
            name_constraints,
            aia_ca_issuers: aia,
            self_signed,
            version: x509.version().0.saturating_add(1),
        };
        Ok(Cert {
            not_before_unix: x509.validity().not_before.timestamp(),
            not_after_unix: x509.validity().not_after.timestamp(),
            spki_raw: x509.public_key().raw.to_vec(),
            der,
            info,
            subject_raw,
            issuer_raw,
            ski,
            aki,
            signature_oid,
        })
    }

    pub fn sha256(&self) -> &str {
        &self.info.sha256_fingerprint
    }

    pub fn is_self_signed(&self) -> bool {
        self.info.self_signed
    }

    /// Whether it may issue certificates: CA:TRUE, or a v1 certificate (which predates the flag).
    pub fn may_issue(&self) -> bool {
        self.info.is_ca || self.info.version == 1
    }

    /// Same subject and key: the same CA even when re-issued with new dates or serial.
    pub fn same_identity(&self, other: &Cert) -> bool {
        self.subject_raw == other.subject_raw && self.spki_raw == other.spki_raw
    }

    /// Whether `issuer` could have issued `self`: names chain and, when both carry them, key ids
    /// agree. The signature is checked separately by [`Cert::is_signed_by`].
    pub fn names_issuer(&self, issuer: &Cert) -> bool {
        if self.issuer_raw != issuer.subject_raw {
            return false;
        }
        match (&self.aki, &issuer.ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        }
    }

    /// The signature on `self` verifies under `issuer`'s public key.
    pub fn is_signed_by(&self, issuer: &Cert) -> bool {
        let (Ok((_, child)), Ok((_, parent))) = (
            X509Certificate::from_der(self.der.as_ref()),
            X509Certificate::from_der(issuer.der.as_ref()),
        ) else {
            return false;
        };
        verify_signed_by(&child, &parent)
    }

    pub fn valid_at(&self, unix: i64) -> bool {
        self.not_before_unix <= unix && unix <= self.not_after_unix
    }

    pub fn not_after_unix(&self) -> i64 {
        self.not_after_unix
    }

    /// Subject and SPKI without their outer DER header: the form webpki trust anchors keep.
    pub fn anchor_identity(&self) -> (Vec<u8>, Vec<u8>) {
        (der_value(&self.subject_raw), der_value(&self.spki_raw))
    }

    pub fn has_ski(&self) -> bool {
        self.ski.is_some()
    }

    pub fn has_aki(&self) -> bool {
        self.aki.is_some()
    }

    pub fn signature_oid(&self) -> &str {
        &self.signature_oid
    }

    /// The issuer's distinguished name, for messages about a root that could not be found.
    pub fn issuer_name(&self) -> &str {
        &self.info.issuer
    }

    pub fn to_pem(&self) -> String {
        // LF, not the crate's default CRLF: these files are read by shell tools and diffed.
        pem::encode_config(
            &pem::Pem::new("CERTIFICATE", self.der.as_ref().to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }
}

/// Signature check with ring directly: x509-parser's own check refuses RSA keys under 2048 bits,
/// and a weak interception CA must still be found (and then flagged by the lint), not missed.
fn verify_signed_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> bool {
    use ring::signature as sig;
    let alg_oid = &child.signature_algorithm.algorithm;
    let spki = parent.public_key();
    let key_oid = &spki.algorithm.algorithm;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    let is_p256 = curve.as_ref() == Some(&oid_registry::OID_EC_P256);
    let is_p384 = curve.as_ref() == Some(&oid_registry::OID_NIST_EC_P384);
    let alg: &dyn sig::VerificationAlgorithm = if *alg_oid == oid_registry::OID_PKCS1_SHA1WITHRSA
        || *alg_oid == oid_registry::OID_SHA1_WITH_RSA
    {
        &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
    } else if *alg_oid == oid_registry::OID_PKCS1_SHA256WITHRSA {
        &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
    } else if *alg_oid == oid_registry::OID_PKCS1_SHA384WITHRSA {
        &sig::RSA_PKCS1_2048_8192_SHA384
    } else if *alg_oid == oid_registry::OID_PKCS1_SHA512WITHRSA {
        &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
    } else if *alg_oid == oid_registry::OID_PKCS1_RSASSAPSS {
        // PSS parameters name the hash; x509-parser knows how to read them.
        return child.verify_signature(Some(spki)).is_ok();
    } else if *alg_oid == oid_registry::OID_SIG_ECDSA_WITH_SHA256 && is_p256 {
        &sig::ECDSA_P256_SHA256_ASN1
    } else if *alg_oid == oid_registry::OID_SIG_ECDSA_WITH_SHA256 && is_p384 {
        &sig::ECDSA_P384_SHA256_ASN1
    } else if *alg_oid == oid_registry::OID_SIG_ECDSA_WITH_SHA384 && is_p256 {
        &sig::ECDSA_P256_SHA384_ASN1
    } else if *alg_oid == oid_registry::OID_SIG_ECDSA_WITH_SHA384 && is_p384 {
        &sig::ECDSA_P384_SHA384_ASN1
    } else if *alg_oid == oid_registry::OID_SIG_ED25519 && *key_oid == oid_registry::OID_SIG_ED25519
    {
        &sig::ED25519
    } else {
        return false;
    };
    let key = sig::UnparsedPublicKey::new(alg, &spki.subject_public_key.data);
    key.verify(child.tbs_certificate.as_ref(), &child.signature_value.data)
        .is_ok()
}

/// The extensions path building follows: key identifiers and AIA caIssuers URLs.
struct Linking {
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    aia: Vec<String>,
}

fn linking(x509: &X509Certificate<'_>) -> Linking {
    let mut linking = Linking {
        ski: None,
        aki: None,
        aia: Vec::new(),
    };
    for ext in x509.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => linking.ski = Some(id.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                linking.aki = a.key_identifier.as_ref().map(|id| id.0.to_vec())
            }
            ParsedExtension::AuthorityInfoAccess(access) => {
                for desc in access.iter() {
                    if desc.access_method == oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS {
                        if let GeneralName::URI(uri) = &desc.access_location {
                            linking.aia.push((*uri).to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    linking
}

fn key_info(x509: &X509Certificate<'_>) -> KeyInfo {
    let (kind, bits) = match x509.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA", rsa.key_size()),
        Ok(PublicKey::EC(ec)) => ("EC", ec.key_size()),
        Ok(PublicKey::DSA(y)) => ("DSA", y.len() * 8),
        _ if x509.public_key().algorithm.algorithm == oid_registry::OID_SIG_ED25519 => {
            ("Ed25519", 256)
        }
        _ if x509.public_key().algorithm.algorithm == oid_registry::OID_SIG_ED448 => ("Ed448", 456),
        _ => ("unknown", 0),
    };
    KeyInfo {
        kind: kind.to_string(),
        bits,
    }
}

fn signature_name(oid: &Oid<'_>) -> String {
    let known = [
        (oid_registry::OID_PKCS1_SHA1WITHRSA, "sha1WithRSAEncryption"),
        (oid_registry::OID_SHA1_WITH_RSA, "sha1WithRSA"),
        (
            oid_registry::OID_PKCS1_MD5WITHRSAENC,
            "md5WithRSAEncryption",
        ),
        (
            oid_registry::OID_PKCS1_MD2WITHRSAENC,
            "md2WithRSAEncryption",
        ),
        (
            oid_registry::OID_PKCS1_SHA256WITHRSA,
            "sha256WithRSAEncryption",
        ),
        (
            oid_registry::OID_PKCS1_SHA384WITHRSA,
            "sha384WithRSAEncryption",
        ),
        (
            oid_registry::OID_PKCS1_SHA512WITHRSA,
            "sha512WithRSAEncryption",
        ),
        (oid_registry::OID_PKCS1_RSASSAPSS, "rsassaPss"),
        (oid_registry::OID_SIG_ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
        (oid_registry::OID_SIG_ECDSA_WITH_SHA384, "ecdsa-with-SHA384"),
        (oid_registry::OID_SIG_ECDSA_WITH_SHA512, "ecdsa-with-SHA512"),
        (oid_registry::OID_SIG_ED25519, "ED25519"),
    ];
    known
        .iter()
        .find(|(k, _)| k == oid)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| oid.to_id_string())
}

fn key_usage_names(flags: u16) -> Vec<String> {
    const NAMES: [&str; 9] = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn subtrees(trees: Option<&[x509_parser::extensions::GeneralSubtree<'_>]>) -> Vec<String> {
    trees
        .unwrap_or_default()
        .iter()
        .map(|t| match &t.base {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::RFC822Name(m) => format!("email:{m}"),
            GeneralName::URI(u) => format!("URI:{u}"),
            GeneralName::IPAddress(ip) => format!("IP:{}", ip_subtree(ip)),
            GeneralName::DirectoryName(n) => format!("DirName:{n}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn ip_subtree(bytes: &[u8]) -> String {
    match bytes.len() {
        8 => {
            let addr = std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
            let mask = std::net::Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
            format!("{addr}/{mask}")
        }
        32 => {
            let mut a = [0u8; 16];
            let mut m = [0u8; 16];
            a.copy_from_slice(&bytes[..16]);
            m.copy_from_slice(&bytes[16..]);
            format!(
                "{}/{}",
                std::net::Ipv6Addr::from(a),
                std::net::Ipv6Addr::from(m)
            )
        }
        _ => plain_hex(bytes),
    }
}

fn der_value(tlv: &[u8]) -> Vec<u8> {
    use x509_parser::asn1_rs::Any;
    match Any::from_der(tlv) {
        Ok((_, any)) => any.data.to_vec(),
        Err(_) => tlv.to_vec(),
    }
}

/// `AB:CD:...`, exactly as `openssl x509 -fingerprint -sha256` prints it.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `ABCD...`, the form Windows shows for a thumbprint.
pub fn plain_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Seconds since the epoch, for validity checks (a clock before 1970 counts as 0).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Cert;

    /// x509-parser accepts any version number; "version + 1" for the report must not overflow.
    #[test]
    fn a_version_field_of_u32_max_parses() {
        let der = include_bytes!("../../tests/data/version_max.der");
        let cert = Cert::parse(der).unwrap();
        assert_eq!(cert.info.version, u32::MAX);
    }
}
