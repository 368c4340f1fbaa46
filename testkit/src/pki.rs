//! PKI helpers: root / intermediate CAs and leaves built with rcgen, including
//! deliberately "bad" CAs, an AuthorityInfoAccess encoder and a PKCS#7 bundle encoder.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Pre-generated RSA-2048 keys: ring cannot generate RSA keys, so RSA CAs/leaves rotate through these.
const RSA_KEYS: [&str; 6] = [
    include_str!("keys/rsa2048-1.pem"),
    include_str!("keys/rsa2048-2.pem"),
    include_str!("keys/rsa2048-3.pem"),
    include_str!("keys/rsa2048-4.pem"),
    include_str!("keys/rsa2048-5.pem"),
    include_str!("keys/rsa2048-6.pem"),
];

static NEXT_RSA_KEY: AtomicUsize = AtomicUsize::new(0);

/// Which kind of key a generated certificate gets (RSA keys come from a fixed pool of six).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    /// ECDSA P-256 with SHA-256 signatures (fresh random key each time).
    #[default]
    EcdsaP256,
    /// RSA 2048 with PKCS#1 v1.5 SHA-256 signatures (one of 6 embedded keys, rotated).
    Rsa2048,
}

impl KeyKind {
    fn generate(self) -> KeyPair {
        match self {
            KeyKind::EcdsaP256 => {
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate P-256 key")
            }
            KeyKind::Rsa2048 => {
                let i = NEXT_RSA_KEY.fetch_add(1, Ordering::Relaxed) % RSA_KEYS.len();
                KeyPair::from_pkcs8_pem_and_sign_algo(RSA_KEYS[i], &rcgen::PKCS_RSA_SHA256)
                    .expect("load embedded RSA key")
            }
        }
    }
}

/// A calendar date (year, month, day), UTC midnight.
pub type Date = (i32, u8, u8);

/// A validity window (notBefore, notAfter).
pub type Validity = (Date, Date);

/// Knobs for building well-formed or deliberately broken CA certificates.
#[derive(Debug, Clone)]
pub struct CaOptions {
    /// Key algorithm of the CA.
    pub key: KeyKind,
    /// Mark basicConstraints critical (RFC 5280 requires it; `false` trips strict clients).
    pub bc_critical: bool,
    /// Emit SubjectKeyIdentifier (and AuthorityKeyIdentifier on issued CAs).
    pub key_identifiers: bool,
    /// Emit keyUsage keyCertSign + cRLSign (critical).
    pub key_usage: bool,
    /// Optional pathLenConstraint.
    pub path_len: Option<u8>,
    /// Validity as ((y, m, d), (y, m, d)); `None` = from last year to ten years ahead.
    pub validity: Option<Validity>,
    /// Name constraints: (permitted DNS subtrees, excluded DNS subtrees).
    pub name_constraints: Option<(Vec<String>, Vec<String>)>,
    /// Extra organisation attribute in the subject, handy to make subjects distinct.
    pub organization: Option<String>,
}

impl Default for CaOptions {
    fn default() -> Self {
        CaOptions {
            key: KeyKind::EcdsaP256,
            bc_critical: true,
            key_identifiers: true,
            key_usage: true,
            path_len: None,
            validity: None,
            name_constraints: None,
            organization: None,
        }
    }
}

impl CaOptions {
    /// Use an RSA-2048 key instead of ECDSA P-256.
    pub fn rsa(mut self) -> Self {
        self.key = KeyKind::Rsa2048;
        self
    }
    /// Emit basicConstraints without the critical flag (a common corporate-CA defect).
    pub fn bc_not_critical(mut self) -> Self {
        self.bc_critical = false;
        self
    }
    /// Omit SubjectKeyIdentifier / AuthorityKeyIdentifier.
    pub fn no_key_identifiers(mut self) -> Self {
        self.key_identifiers = false;
        self
    }
    /// Omit the keyUsage extension entirely.
    pub fn no_key_usage(mut self) -> Self {
        self.key_usage = false;
        self
    }
    /// Set a pathLenConstraint.
    pub fn path_len(mut self, n: u8) -> Self {
        self.path_len = Some(n);
        self
    }
    /// Make the certificate expired (valid 2000-01-01 .. 2001-01-01).
    pub fn expired(mut self) -> Self {
        self.validity = Some(((2000, 1, 1), (2001, 1, 1)));
        self
    }
    /// Explicit validity window as calendar dates (UTC midnight).
    pub fn validity(mut self, not_before: Date, not_after: Date) -> Self {
        self.validity = Some((not_before, not_after));
        self
    }
    /// Add DNS name constraints (permitted / excluded subtrees, e.g. "corp.example").
    pub fn name_constraints(mut self, permitted: &[&str], excluded: &[&str]) -> Self {
        self.name_constraints = Some((
            permitted.iter().map(|s| s.to_string()).collect(),
            excluded.iter().map(|s| s.to_string()).collect(),
        ));
        self
    }
    /// Add an O= attribute to the subject.
    pub fn organization(mut self, o: &str) -> Self {
        self.organization = Some(o.to_string());
        self
    }
}

/// Knobs for leaf certificates.
#[derive(Debug, Clone, Default)]
pub struct LeafOptions {
    /// Key algorithm of the leaf.
    pub key: KeyKind,
    /// Validity as ((y, m, d), (y, m, d)); `None` = from last year to ten years ahead.
    pub validity: Option<Validity>,
}

/// A certificate authority (root or intermediate) that can issue further certificates.
pub struct Ca {
    params: CertificateParams,
    key: KeyPair,
    cert: CertificateDer<'static>,
    key_identifiers: bool,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.params.distinguished_name)
            .finish_non_exhaustive()
    }
}

/// A leaf (end-entity) certificate and its private key.
#[derive(Debug)]
pub struct Leaf {
    /// DER of the leaf certificate.
    pub cert_der: CertificateDer<'static>,
    /// PKCS#8 DER of the leaf's private key.
    pub key_der: PrivateKeyDer<'static>,
}

impl Clone for Leaf {
    fn clone(&self) -> Self {
        Leaf {
            cert_der: self.cert_der.clone(),
            key_der: self.key_der.clone_key(),
        }
    }
}

impl Leaf {
    /// PEM of the leaf certificate.
    pub fn cert_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.cert_der)
    }

    /// A self-signed leaf (not a CA) for `name`: the "server presents a lone self-signed cert" case.
    pub fn self_signed(name: &str) -> Leaf {
        let key = KeyKind::EcdsaP256.generate();
        let mut params = leaf_params(&[name], &LeafOptions::default());
        params.use_authority_key_identifier_extension = false;
        let cert = params.self_signed(&key).expect("self-sign leaf");
        Leaf {
            cert_der: cert.der().clone(),
            key_der: key_der_of(&key),
        }
    }
}

impl Leaf {
    /// What `openssl req -x509 -addext subjectAltName=DNS:name` makes: one self-signed
    /// certificate with critical basicConstraints CA:TRUE, key identifiers and no keyUsage, used
    /// directly as a server's certificate.
    pub fn self_signed_ca(names: &[&str]) -> Leaf {
        let key = KeyKind::EcdsaP256.generate();
        let mut params = leaf_params(names, &LeafOptions::default());
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = Vec::new();
        params.extended_key_usages = Vec::new();
        params.use_authority_key_identifier_extension = false;
        let cert = params.self_signed(&key).expect("self-sign CA");
        Leaf {
            cert_der: cert.der().clone(),
            key_der: key_der_of(&key),
        }
    }

    /// A self-signed end-entity certificate (CA:FALSE, serverAuth) for `names`, with `opts`
    /// (validity, key kind) and an optional extended key usage other than serverAuth.
    pub fn self_signed_with(
        names: &[&str],
        opts: &LeafOptions,
        eku: Option<ExtendedKeyUsagePurpose>,
    ) -> Leaf {
        let key = opts.key.generate();
        let mut params = leaf_params(names, opts);
        params.use_authority_key_identifier_extension = false;
        if let Some(purpose) = eku {
            params.extended_key_usages = vec![purpose];
        }
        let cert = params.self_signed(&key).expect("self-sign leaf");
        Leaf {
            cert_der: cert.der().clone(),
            key_der: key_der_of(&key),
        }
    }
}

fn random_serial() -> SerialNumber {
    let mut bytes = Vec::with_capacity(16);
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        bytes.extend_from_slice(&h.finish().to_be_bytes());
    }
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn current_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    1970 + (secs / 31_556_952) as i32
}

fn apply_validity(params: &mut CertificateParams, v: Option<Validity>) {
    let ((y1, m1, d1), (y2, m2, d2)) = v.unwrap_or_else(|| {
        let y = current_year();
        ((y - 1, 1, 1), (y + 10, 1, 1))
    });
    params.not_before = date_time_ymd(y1, m1, d1);
    params.not_after = date_time_ymd(y2, m2, d2);
}

fn key_der_of(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];

fn ca_params(cn: &str, opts: &CaOptions) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let Some(o) = &opts.organization {
        dn.push(DnType::OrganizationName, o.as_str());
    }
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.serial_number = Some(random_serial());
    apply_validity(&mut params, opts.validity);
    let bc = match opts.path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    };
    if opts.bc_critical && opts.key_identifiers {
        // rcgen's own encoding: SKI + critical basicConstraints.
        params.is_ca = IsCa::Ca(bc);
    } else {
        // rcgen always writes SKI and a critical BC for IsCa::Ca, so hand-encode them instead.
        params.is_ca = IsCa::NoCa;
        let mut bc_der = vec![0x01, 0x01, 0xff];
        if let Some(n) = opts.path_len {
            bc_der.extend(der_integer_u8(n));
        }
        let mut ext =
            CustomExtension::from_oid_content(OID_BASIC_CONSTRAINTS, der_tlv(0x30, &bc_der));
        ext.set_criticality(opts.bc_critical);
        params.custom_extensions.push(ext);
    }
    if opts.key_usage {
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    if let Some((permitted, excluded)) = &opts.name_constraints {
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted
                .iter()
                .map(|s| GeneralSubtree::DnsName(s.clone()))
                .collect(),
            excluded_subtrees: excluded
                .iter()
                .map(|s| GeneralSubtree::DnsName(s.clone()))
                .collect(),
        });
    }
    params
}

/// Add the hand-encoded SKI extension when rcgen would not write one itself.
fn add_manual_ski(params: &mut CertificateParams, opts: &CaOptions, key: &KeyPair) {
    if opts.key_identifiers && !opts.bc_critical {
        let ski = params.key_identifier(key);
        params.custom_extensions.insert(
            0,
            CustomExtension::from_oid_content(OID_SUBJECT_KEY_ID, der_tlv(0x04, &ski)),
        );
    }
}

fn leaf_params(names: &[&str], opts: &LeafOptions) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
    params.distinguished_name = dn;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).try_into().expect("valid DNS name")),
        })
        .collect();
    params.serial_number = Some(random_serial());
    apply_validity(&mut params, opts.validity);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params
}

impl Ca {
    /// A well-formed self-signed root CA (critical BC, keyCertSign+cRLSign, SKI), ECDSA P-256.
    pub fn new_root(common_name: &str) -> Ca {
        Ca::new_root_with(common_name, &CaOptions::default())
    }

    /// A self-signed root CA built from `opts` (use this to make "bad" roots).
    pub fn new_root_with(common_name: &str, opts: &CaOptions) -> Ca {
        let key = opts.key.generate();
        let mut params = ca_params(common_name, opts);
        add_manual_ski(&mut params, opts, &key);
        let cert = params.self_signed(&key).expect("self-sign root");
        Ca {
            params,
            key,
            cert: cert.der().clone(),
            key_identifiers: opts.key_identifiers,
        }
    }

    /// A well-formed intermediate CA signed by `self`, with AKI and optional AIA caIssuers URL.
    pub fn issue_intermediate(&self, common_name: &str, aia_ca_issuers_url: Option<&str>) -> Ca {
        self.issue_intermediate_with(common_name, aia_ca_issuers_url, &CaOptions::default())
    }

    /// An intermediate CA signed by `self`, built from `opts` (use this for "bad" intermediates).
    pub fn issue_intermediate_with(
        &self,
        common_name: &str,
        aia_ca_issuers_url: Option<&str>,
        opts: &CaOptions,
    ) -> Ca {
        let key = opts.key.generate();
        let mut params = ca_params(common_name, opts);
        add_manual_ski(&mut params, opts, &key);
        params.use_authority_key_identifier_extension =
            self.key_identifiers && opts.key_identifiers;
        if let Some(url) = aia_ca_issuers_url {
            params.custom_extensions.push(aia_extension(&[url]));
        }
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("sign intermediate");
        Ca {
            params,
            key,
            cert: cert.der().clone(),
            key_identifiers: opts.key_identifiers,
        }
    }

    /// A TLS server leaf for a DNS name or IP address, signed by `self`, optional AIA caIssuers URL.
    pub fn issue_leaf(&self, dns_name_or_ip: &str, aia_ca_issuers_url: Option<&str>) -> Leaf {
        self.issue_leaf_with(
            &[dns_name_or_ip],
            aia_ca_issuers_url,
            &LeafOptions::default(),
        )
    }

    /// A leaf with several SAN entries (first one is also the CN) and options.
    pub fn issue_leaf_with(
        &self,
        names: &[&str],
        aia_ca_issuers_url: Option<&str>,
        opts: &LeafOptions,
    ) -> Leaf {
        let key = opts.key.generate();
        let mut params = leaf_params(names, opts);
        params.use_authority_key_identifier_extension = self.key_identifiers;
        if let Some(url) = aia_ca_issuers_url {
            params.custom_extensions.push(aia_extension(&[url]));
        }
        let cert = params.signed_by(&key, &self.issuer()).expect("sign leaf");
        Leaf {
            cert_der: cert.der().clone(),
            key_der: key_der_of(&key),
        }
    }

    /// The rcgen issuer view of this CA, for building custom certificates with rcgen directly.
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        // params.key_identifier_method is SHA-256, so AKI matches the SKI we emitted.
        Issuer::from_params(&self.params, &self.key)
    }

    /// DER of this CA's certificate.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// PEM of this CA's certificate.
    pub fn cert_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.cert)
    }

    /// PKCS#8 DER of this CA's private key.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        key_der_of(&self.key)
    }

    /// The rcgen key pair, for custom rcgen use.
    pub fn key_pair(&self) -> &KeyPair {
        &self.key
    }
}

/// PEM-encode DER bytes with the given label (64-column base64).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Standard base64 with padding (used for PEM and Proxy-Authorization).
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Minimal DER encoding.

/// DER length octets.
fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

/// A DER TLV with the given tag byte and content.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_integer_u8(n: u8) -> Vec<u8> {
    if n >= 0x80 {
        der_tlv(0x02, &[0x00, n])
    } else {
        der_tlv(0x02, &[n])
    }
}

/// DER OID content bytes (without tag/length) from arcs.
fn der_oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut push_base128 = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        content.extend(tmp);
    };
    push_base128(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push_base128(a);
    }
    der_tlv(0x06, &content)
}

/// DER of AuthorityInfoAccessSyntax with one caIssuers URI per URL (the extnValue contents).
pub fn aia_ca_issuers_der(urls: &[&str]) -> Vec<u8> {
    let mut descriptions = Vec::new();
    for url in urls {
        let mut ad = der_oid(&[1, 3, 6, 1, 5, 5, 7, 48, 2]);
        // accessLocation: GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String.
        ad.extend(der_tlv(0x86, url.as_bytes()));
        descriptions.extend(der_tlv(0x30, &ad));
    }
    der_tlv(0x30, &descriptions)
}

/// An rcgen AuthorityInfoAccess (non-critical) extension with caIssuers URLs, for custom rcgen certs.
pub fn aia_extension(urls: &[&str]) -> CustomExtension {
    CustomExtension::from_oid_content(OID_AIA, aia_ca_issuers_der(urls))
}

/// DER of a degenerate "certs-only" PKCS#7 SignedData, byte-compatible with `openssl crl2pkcs7 -nocrl`.
pub fn pkcs7_certs_only(certs: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut signed_data = der_tlv(0x02, &[0x01]); // version 1
    signed_data.extend(der_tlv(0x31, &[])); // digestAlgorithms: empty SET
    signed_data.extend(der_tlv(0x30, &der_oid(&[1, 2, 840, 113549, 1, 7, 1]))); // data
    let all: Vec<u8> = certs
        .iter()
        .flat_map(|c| c.as_ref().iter().copied())
        .collect();
    signed_data.extend(der_tlv(0xa0, &all)); // certificates [0] IMPLICIT, input order
    signed_data.extend(der_tlv(0x31, &[])); // signerInfos: empty SET
    let mut content_info = der_oid(&[1, 2, 840, 113549, 1, 7, 2]); // signedData
    content_info.extend(der_tlv(0xa0, &der_tlv(0x30, &signed_data)));
    der_tlv(0x30, &content_info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_len_long_forms() {
        assert_eq!(der_len(5), vec![5]);
        assert_eq!(der_len(0x80), vec![0x81, 0x80]);
        assert_eq!(der_len(0x1234), vec![0x82, 0x12, 0x34]);
    }

    #[test]
    fn oid_encoding() {
        assert_eq!(
            der_oid(&[1, 3, 6, 1, 5, 5, 7, 48, 2]),
            vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02]
        );
        assert_eq!(
            der_oid(&[1, 2, 840, 113549, 1, 7, 2]),
            vec![0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]
        );
    }

    #[test]
    fn base64_known_answers() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
    }
}
