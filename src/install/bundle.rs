//! The CA bundle files trust-proxy writes at install time: one PEM bundle (OS roots + the
//! installed CAs, and Mozilla's roots only where the OS store cannot stand alone) for
//! `SSL_CERT_FILE`/`REQUESTS_CA_BUNDLE`/`--cacert`, `proxy-ca.pem` for `NODE_EXTRA_CA_CERTS`, and
//! an OpenSSL hashed directory for `SSL_CERT_DIR`. No certificate the OS distrusts is ever
//! written into any of them.
//!
//! Everything here is deterministic: the same inputs give byte-identical files, so an unchanged
//! file is never rewritten and a re-run of install is a no-op.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ring::digest;
use serde::Serialize;
use trust_proxy_platform::{fs_safe, Distrust, StoreError};
use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};

use crate::analyze::certinfo::Cert;

/// Why a bundle or hashed directory could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("certificate {fingerprint}: cannot compute OpenSSL's subject hash ({source})")]
    SubjectHash {
        fingerprint: String,
        #[source]
        source: NameError,
    },
    #[error("{0:?} is not a hashed-directory entry name (expected 8 lower-case hex digits, '.', a number)")]
    BadEntryName(String),
    #[error("hashed-directory entry {0:?} is listed twice")]
    DuplicateEntry(String),
    #[error("list directory {}: {source}", path.display())]
    ListDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is a symlink; refusing to manage it", path.display())]
    SymlinkEntry { path: PathBuf },
    #[error(
        "the OS distrusts {subject} (SHA-256 {fingerprint}); refusing to write it into any file"
    )]
    Distrusted {
        subject: String,
        fingerprint: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a DER name has no OpenSSL hash: malformed DER, or a value OpenSSL itself refuses to decode
/// (so OpenSSL could not load the certificate either).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

impl From<String> for NameError {
    fn from(reason: String) -> Self {
        NameError(reason)
    }
}

impl From<&str> for NameError {
    fn from(reason: &str) -> Self {
        NameError(reason.to_string())
    }
}

/// Where a certificate in the bundle came from; shown in the bundle so a person can audit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    OsStore,
    Mozilla,
    /// A CA trust-proxy installs (the interception root).
    Installed,
}

impl Origin {
    /// The text of the `# origin:` comment line.
    pub fn label(self) -> &'static str {
        match self {
            Origin::OsStore => "os store",
            Origin::Mozilla => "mozilla",
            Origin::Installed => "trust-proxy",
        }
    }
}

/// One certificate of the composed bundle and the source it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleCert {
    pub cert: Cert,
    pub origin: Origin,
}

/// What [`sync_hashed_dir`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DirChange {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

impl DirChange {
    pub fn changed(&self) -> bool {
        self.written > 0 || self.removed > 0
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSSL subject hash
// ---------------------------------------------------------------------------------------------

/// Exactly OpenSSL's `X509_NAME_hash` of the certificate's subject: what
/// `openssl x509 -subject_hash` prints and what `openssl rehash` names files by.
pub fn openssl_subject_hash(cert: &Cert) -> Result<u32, BundleError> {
    let fail = |source: NameError| BundleError::SubjectHash {
        fingerprint: cert.sha256().to_string(),
        source,
    };
    let subject = subject_tlv(cert.der.as_ref()).map_err(|r| fail(NameError(r)))?;
    openssl_name_hash(subject).map_err(fail)
}

/// `X509_NAME_hash` of a DER `Name` (SEQUENCE OF RDN): SHA-1 over OpenSSL's canonical encoding,
/// first four digest bytes as a little-endian number.
pub fn openssl_name_hash(name_der: &[u8]) -> Result<u32, NameError> {
    let canon = openssl_canonical_name(name_der)?;
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &canon);
    let b = d.as_ref();
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// OpenSSL's canonical name encoding (`x509_name_canon` in crypto/x509/x_name.c): every RDN
/// re-encoded as a DER SET of its canonicalised attributes, concatenated without the outer
/// SEQUENCE header. Empty RDNs contribute nothing (OpenSSL flattens the name into entries and
/// regroups them, so an empty SET leaves no trace); an empty name is the empty string.
pub fn openssl_canonical_name(name_der: &[u8]) -> Result<Vec<u8>, NameError> {
    let (rest, name) = parse_tlv(name_der, "name")?;
    if !rest.is_empty() {
        return Err("trailing bytes after the name".into());
    }
    expect_universal(&name, Tag::Sequence, true, "name")?;
    let mut out = Vec::with_capacity(name_der.len());
    let mut rdns = name.data;
    while !rdns.is_empty() {
        let (after_rdn, rdn) = parse_tlv(rdns, "RDN")?;
        expect_universal(&rdn, Tag::Set, true, "RDN")?;
        let mut attrs: Vec<Vec<u8>> = Vec::new();
        let mut inner = rdn.data;
        while !inner.is_empty() {
            let (after_attr, attr) = parse_tlv(inner, "attribute")?;
            expect_universal(&attr, Tag::Sequence, true, "attribute")?;
            attrs.push(canonical_attribute(attr.data)?);
            inner = after_attr;
        }
        if !attrs.is_empty() {
            // DER orders a SET OF by the encodings (OpenSSL's der_cmp: memcmp, then length,
            // which is exactly slice ordering), and canonicalisation can change that order.
            attrs.sort_unstable();
            let body: Vec<u8> = attrs.concat();
            push_tlv(&mut out, 0x31, &body);
        }
        rdns = after_rdn;
    }
    Ok(out)
}

/// `SEQUENCE { type OID, value }` re-encoded with the value canonicalised.
fn canonical_attribute(body: &[u8]) -> Result<Vec<u8>, String> {
    let (after_oid, oid) = parse_tlv(body, "attribute type")?;
    expect_universal(&oid, Tag::Oid, false, "attribute type")?;
    let oid_tlv = &body[..body.len() - after_oid.len()];
    let (after_value, value) = parse_tlv(after_oid, "attribute value")?;
    if !after_value.is_empty() {
        return Err("extra fields in an attribute".into());
    }
    let value_tlv = &after_oid[..after_oid.len() - after_value.len()];
    if !openssl_accepts(&value) {
        return Err(format!(
            "attribute value of type {} {}, which OpenSSL does not accept in a name",
            value.class(),
            value.tag()
        ));
    }
    let mut seq = Vec::with_capacity(body.len() + 4);
    seq.extend_from_slice(oid_tlv);
    match canonical_string(&value)? {
        Some(text) => push_tlv(&mut seq, 0x0c, &text),
        // Not one of the canonicalised string types (NumericString, GeneralString, ...):
        // OpenSSL copies the value unchanged, so its DER encoding is kept as it is.
        None => seq.extend_from_slice(value_tlv),
    }
    let mut out = Vec::with_capacity(seq.len() + 4);
    push_tlv(&mut out, 0x30, &seq);
    Ok(out)
}

/// Whether OpenSSL decodes this value at all: a name's values are `ASN1_PRINTABLE`, whose tag
/// mask (`B_ASN1_PRINTABLE` through `ASN1_tag2bit`) admits only these universal tags. For any other
/// (VisibleString, GeneralString, INTEGER, ...) OpenSSL cannot load the certificate, so there is
/// no hash to match and this is reported as an error.
fn openssl_accepts(value: &Any<'_>) -> bool {
    let tag = value.tag().0;
    value.class() == Class::Universal
        && matches!(tag, 3 | 7 | 8 | 9 | 11 | 12 | 13 | 14 | 15 | 16 | 18 | 19 | 20 | 22 | 28 | 29 | 30)
        // Only SEQUENCE is constructed in DER; BER constructed strings are not DER.
        && value.header.is_constructed() == (tag == 16)
}

/// `asn1_string_canon`: for the string types in OpenSSL's `ASN1_MASK_CANON`, the value as UTF-8
/// with leading/trailing white space removed, internal runs of white space collapsed to one
/// space and ASCII upper case folded to lower case. `None` for every other type.
fn canonical_string(value: &Any<'_>) -> Result<Option<Vec<u8>>, String> {
    if value.class() != Class::Universal {
        return Ok(None);
    }
    // ASN1_MASK_CANON also names VisibleString (26), which openssl_accepts has already refused.
    let canonicalised = matches!(value.tag().0, 12 | 19 | 20 | 22 | 26 | 28 | 30);
    if !canonicalised {
        return Ok(None);
    }
    let utf8: Vec<u8> = match value.tag().0 {
        // UTF8String: must be valid UTF-8, as ASN1_STRING_to_UTF8 insists.
        12 => std::str::from_utf8(value.data)
            .map_err(|_| "UTF8String is not valid UTF-8".to_string())?
            .as_bytes()
            .to_vec(),
        // PrintableString, T61String, IA5String, VisibleString: OpenSSL reads one byte per
        // character (Latin-1) without checking the type's alphabet.
        19 | 20 | 22 | 26 => value
            .data
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .into_bytes(),
        // BMPString: UCS-2 big-endian; surrogates are rejected, not paired.
        30 => decode_fixed_width(value.data, 2, "BMPString")?,
        // UniversalString: UCS-4 big-endian.
        28 => decode_fixed_width(value.data, 4, "UniversalString")?,
        _ => return Ok(None),
    };
    Ok(Some(canonicalise_utf8(&utf8)))
}

fn decode_fixed_width(data: &[u8], width: usize, what: &str) -> Result<Vec<u8>, String> {
    // chunks_exact rather than `len % width` (clippy wants is_multiple_of, newer than our MSRV).
    let units = data.chunks_exact(width);
    if !units.remainder().is_empty() {
        return Err(format!("{what} length is not a multiple of {width}"));
    }
    let mut s = String::with_capacity(data.len());
    for unit in units {
        let v = unit.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let c =
            char::from_u32(v).ok_or_else(|| format!("{what} holds invalid code point {v:#x}"))?;
        s.push(c);
    }
    Ok(s.into_bytes())
}

/// `ossl_isspace`: the C locale's white space, ASCII only (UTF-8 lead and continuation bytes
/// never match, so multi-byte characters pass through untouched).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn canonicalise_utf8(s: &[u8]) -> Vec<u8> {
    let start = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end.saturating_sub(start));
    let mut i = start;
    while i < end {
        let b = s[i];
        if !b.is_ascii() {
            out.push(b);
            i += 1;
        } else if is_c_space(b) {
            out.push(b' ');
            while i < end && is_c_space(s[i]) {
                i += 1;
            }
        } else {
            out.push(b.to_ascii_lowercase());
            i += 1;
        }
    }
    out
}

fn parse_tlv<'a>(bytes: &'a [u8], what: &str) -> Result<(&'a [u8], Any<'a>), String> {
    Any::from_der(bytes).map_err(|e| format!("bad DER in {what}: {e}"))
}

fn expect_universal(any: &Any<'_>, tag: Tag, constructed: bool, what: &str) -> Result<(), String> {
    if any.class() != Class::Universal
        || any.tag() != tag
        || any.header.is_constructed() != constructed
    {
        return Err(format!("{what} is not a {tag}"));
    }
    Ok(())
}

/// Appends a DER TLV with a definite, minimal length.
fn push_tlv(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(body);
}

/// The subject `Name` TLV of a DER certificate, found by walking the TBS fields rather than
/// parsing the whole certificate again (ten thousand full parses would dominate the run time).
fn subject_tlv(der: &[u8]) -> Result<&[u8], String> {
    let (_, cert) = parse_tlv(der, "certificate")?;
    let (_, tbs) = parse_tlv(cert.data, "tbsCertificate")?;
    let mut fields = tbs.data;
    // version [0] EXPLICIT is optional; then serial, signature, issuer, validity, subject.
    let (after, first) = parse_tlv(fields, "tbsCertificate field")?;
    if first.class() == Class::ContextSpecific && first.tag() == Tag(0) {
        fields = after;
    }
    for what in ["serial", "signature algorithm", "issuer", "validity"] {
        let (after, _) = parse_tlv(fields, what)?;
        fields = after;
    }
    let (after, _) = parse_tlv(fields, "subject")?;
    Ok(&fields[..fields.len() - after.len()])
}

// ---------------------------------------------------------------------------------------------
// Composing and rendering the bundle
// ---------------------------------------------------------------------------------------------

/// Mozilla's root set (webpki-root-certs) as parsed certificates. A root that this build cannot
/// parse is left out rather than failing the bundle; a test asserts that none is.
pub fn mozilla_roots() -> Vec<Cert> {
    // Parsed once per process: parsing checks each root's self-signature (~25 ms in all).
    static ROOTS: OnceLock<Vec<Cert>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .filter_map(|der| Cert::parse(der.as_ref()).ok())
                .collect()
        })
        .clone()
}

/// Whether Mozilla's compiled-in roots join the bundle: only where the OS store cannot stand
/// alone. That is when it is unusable (no bundle could be read, or it holds no root we can
/// parse), and on Windows, whose store lists only the roots fetched so far (most public roots are
/// downloaded on first use), so a copy of it would fail for sites Windows itself accepts. Where
/// the OS lists every root it trusts (Linux distro bundles, macOS), adding Mozilla's would bring
/// back a root the distribution or the administrator removed.
pub fn public_roots_needed(os_roots: &[Cert]) -> bool {
    os_roots.is_empty() || cfg!(windows)
}

/// The first of `certs` the OS distrusts, as an error.
pub fn refuse_distrusted(certs: &[Cert], distrust: &Distrust) -> Result<(), BundleError> {
    match certs.iter().find(|c| distrust.covers(c.der.as_ref())) {
        Some(c) => Err(BundleError::Distrusted {
            subject: crate::discover::tunnel::printable(&c.info.subject),
            fingerprint: c.sha256().to_string(),
        }),
        None => Ok(()),
    }
}

/// OS roots + (when `mozilla`, see [`public_roots_needed`]) Mozilla's roots + the installed CAs,
/// each certificate once, none that `distrust` covers: a distrusted OS or Mozilla root is left
/// out, a distrusted installed CA is an error.
///
/// A certificate present in several sources is kept with the first of Installed, OsStore,
/// Mozilla (the installed CA is what the bundle is written for). The result is sorted by subject,
/// then fingerprint, so the same inputs in any order give the same bundle, byte for byte.
pub fn compose_bundle(
    os_roots: &[Cert],
    mozilla: bool,
    installed: &[Cert],
    distrust: &Distrust,
) -> Result<Vec<BundleCert>, BundleError> {
    refuse_distrusted(installed, distrust)?;
    let moz = if mozilla { mozilla_roots() } else { Vec::new() };
    let sources: [(Origin, &[Cert]); 3] = [
        (Origin::Installed, installed),
        (Origin::OsStore, os_roots),
        (Origin::Mozilla, &moz),
    ];
    let total = installed.len() + os_roots.len() + moz.len();
    // Keyed by the SHA-256 of the DER (the fingerprint string is derived from it 1:1).
    let mut seen: HashSet<&str> = HashSet::with_capacity(total);
    let mut out = Vec::with_capacity(total);
    for (origin, certs) in sources {
        for cert in certs {
            if seen.insert(cert.sha256()) && !distrust.covers(cert.der.as_ref()) {
                out.push(BundleCert {
                    cert: cert.clone(),
                    origin,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.cert
            .info
            .subject
            .cmp(&b.cert.info.subject)
            .then_with(|| a.cert.sha256().cmp(b.cert.sha256()))
    });
    Ok(out)
}

/// The bundle as PEM: a short header, then for each certificate a comment block (subject,
/// SHA-256, origin) and the certificate. LF line endings; no timestamps, so that an unchanged
/// bundle renders to the same bytes.
pub fn render_bundle_pem(certs: &[BundleCert]) -> String {
    let mut out = String::with_capacity(certs.len() * 2_400 + 256);
    // Counts per origin rather than a fixed list, so the header is true with or without Mozilla.
    let count = |o: Origin| certs.iter().filter(|bc| bc.origin == o).count();
    out.push_str(
        "# CA bundle written by trust-proxy; rewritten on every install, edits are lost.\n",
    );
    out.push_str(&format!(
        "# {} certificates: {} from the OS trust store, {} from Mozilla's roots, {} installed by\n\
         # trust-proxy.\n",
        certs.len(),
        count(Origin::OsStore),
        count(Origin::Mozilla),
        count(Origin::Installed),
    ));
    for bc in certs {
        out.push('\n');
        push_block(
            &mut out,
            &bc.cert,
            &format!("origin: {}", bc.origin.label()),
        );
    }
    out
}

/// `proxy-ca.pem` for `NODE_EXTRA_CA_CERTS` (which adds to, not replaces, Node's roots): the
/// interception root, then the intermediates of the verified path that the proxy does not send,
/// each once.
pub fn render_proxy_ca_pem(root: &Cert, extra_intermediates: &[Cert]) -> String {
    let mut out = String::with_capacity((extra_intermediates.len() + 1) * 2_400 + 128);
    out.push_str("# Interception CA written by trust-proxy (root first, then intermediates the\n");
    out.push_str("# proxy does not send). Regenerated on every install; local edits are lost.\n");
    let mut seen: HashSet<&str> = HashSet::with_capacity(extra_intermediates.len() + 1);
    seen.insert(root.sha256());
    out.push('\n');
    push_block(&mut out, root, "role: root CA (trust-proxy)");
    for cert in extra_intermediates {
        if seen.insert(cert.sha256()) {
            out.push('\n');
            push_block(&mut out, cert, "role: intermediate CA (trust-proxy)");
        }
    }
    out
}

fn push_block(out: &mut String, cert: &Cert, last_comment: &str) {
    out.push_str("# ");
    out.push_str(&sanitize_comment(&cert.info.subject));
    out.push_str("\n# SHA-256 ");
    out.push_str(cert.sha256());
    out.push_str("\n# ");
    out.push_str(last_comment);
    out.push('\n');
    out.push_str(&cert.to_pem());
}

/// Longest subject shown in a comment; real subjects are far shorter, a hostile one need not be.
const MAX_COMMENT_CHARS: usize = 256;

/// A subject made safe for a one-line comment. Names come from the network, so they may hold
/// line breaks (which would end the comment and inject lines into the bundle), other control
/// characters, bidirectional overrides that make the text display as something else, or a
/// `-----BEGIN` marker that lenient PEM parsers look for anywhere in a line. All of those are
/// written as `\u{..}` escapes.
pub fn sanitize_comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_COMMENT_CHARS * 4));
    let mut dashes = 0usize;
    for (n, c) in s.chars().enumerate() {
        if n == MAX_COMMENT_CHARS {
            out.push_str("...");
            break;
        }
        dashes = if c == '-' { dashes + 1 } else { 0 };
        let suspicious = crate::terminal_text::is_unsafe_for_display(c)
            // A fifth dash in a row would complete a PEM boundary marker.
            || dashes >= 5;
        if suspicious {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            if c == '-' {
                dashes = 0;
            }
        } else if c == '\\' {
            // Escaped too, so that an escape in the output always means an escaped character.
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Hashed directory (SSL_CERT_DIR)
// ---------------------------------------------------------------------------------------------

/// File names and contents of an OpenSSL hashed directory for `certs`: `<hash>.<n>`, where the
/// hash is [`openssl_subject_hash`] in 8 lower-case hex digits and `n` counts certificates with
/// the same hash from 0, as `openssl rehash` numbers them. Identical certificates appear once.
/// Within a hash, certificates are ordered by SHA-256 fingerprint, so the names do not depend on
/// the input order. Each file holds one certificate in PEM after a comment with its subject.
///
/// A certificate whose subject OpenSSL cannot decode (so it has no subject hash, and OpenSSL
/// could not load the file anyway) is left out, as `openssl rehash` skips files it cannot read:
/// one odd certificate in an OS store must not stop the directory from being written.
pub fn hashed_dir_entries(certs: &[Cert]) -> Result<Vec<(String, String)>, BundleError> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(certs.len());
    let mut hashed: Vec<(u32, &Cert)> = Vec::with_capacity(certs.len());
    for cert in certs {
        if seen.insert(cert.sha256()) {
            if let Ok(hash) = openssl_subject_hash(cert) {
                hashed.push((hash, cert));
            }
        }
    }
    hashed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.sha256().cmp(b.1.sha256())));
    let mut out = Vec::with_capacity(hashed.len());
    let mut prev: Option<u32> = None;
    let mut n = 0usize;
    for (hash, cert) in hashed {
        n = if prev == Some(hash) { n + 1 } else { 0 };
        prev = Some(hash);
        let mut pem = String::with_capacity(2_400);
        push_block(&mut pem, cert, "written by trust-proxy");
        out.push((format!("{hash:08x}.{n}"), pem));
    }
    Ok(out)
}

/// Whether `name` is one of the names [`hashed_dir_entries`] produces: the only names that
/// [`sync_hashed_dir`] writes or deletes.
pub fn is_hashed_entry_name(name: &str) -> bool {
    let Some((hash, n)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 8
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !n.is_empty()
        && n.len() <= 10
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// Makes `dir` hold exactly `entries` among the hash-named files: creates `dir` (0755) if
/// missing, writes (atomically, 0644) only the files whose content differs, and removes other
/// hash-named files. Any other file in `dir` is left alone. A symlink at `dir`, above it, or at
/// a hash-named entry is refused: as root, following one would write or delete elsewhere.
pub fn sync_hashed_dir(dir: &Path, entries: &[(String, String)]) -> Result<DirChange, BundleError> {
    let mut wanted: HashMap<&str, &str> = HashMap::with_capacity(entries.len());
    for (name, pem) in entries {
        if !is_hashed_entry_name(name) {
            return Err(BundleError::BadEntryName(name.clone()));
        }
        if wanted.insert(name, pem).is_some() {
            return Err(BundleError::DuplicateEntry(name.clone()));
        }
    }
    // Opened once, every component checked with O_NOFOLLOW; each entry is then handled relative
    // to that directory, and made durable by one flush at the end. Walking the path and
    // fsyncing twice per file made a fresh 10,000-entry directory take ~10 s.
    let safe = fs_safe::SafeDir::open(dir, Some(0o755))?;

    let mut change = DirChange::default();
    for (name, pem) in entries {
        match safe.read(name)? {
            Some(existing) if existing == pem.as_bytes() => change.unchanged += 1,
            _ => {
                safe.write(name, pem.as_bytes(), 0o644)?;
                change.written += 1;
            }
        }
    }

    let list_err = |source| BundleError::ListDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        if !is_hashed_entry_name(name) || wanted.contains_key(name) {
            continue;
        }
        // file_type() does not follow symlinks.
        let kind = entry.file_type().map_err(list_err)?;
        if kind.is_symlink() {
            return Err(BundleError::SymlinkEntry { path: entry.path() });
        }
        if kind.is_file() {
            stale.push(name.to_string());
        }
    }
    // Sorted so that the order of removals (and of any error) is reproducible.
    stale.sort_unstable();
    for name in stale {
        let Some(bytes) = safe.read(&name)? else {
            continue;
        };
        // Removed only if it still holds what was just read: a file another process rewrote in
        // the meantime is left for the next run.
        let sha = trust_proxy_platform::sha256(&bytes);
        if safe.remove_if_hash_matches(&name, &sha)? == fs_safe::Removal::Removed {
            change.removed += 1;
        }
    }
    if change.written + change.removed > 0 {
        safe.sync()?;
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        push_tlv(&mut v, tag, body);
        v
    }

    #[test]
    fn canonical_string_rules() {
        assert_eq!(canonicalise_utf8(b"  Foo \t\n BAR  "), b"foo bar");
        assert_eq!(canonicalise_utf8(b"   "), b"");
        assert_eq!(canonicalise_utf8(b""), b"");
        assert_eq!(
            canonicalise_utf8("Z\u{fc}RICH \u{c9}".as_bytes()),
            "z\u{fc}rich \u{c9}".as_bytes()
        );
        assert_eq!(canonicalise_utf8(b"a\x0b\x0cb"), b"a b");
    }

    #[test]
    fn long_lengths_are_minimal_der() {
        assert_eq!(&tlv(0x0c, &[b'a'; 200])[..3], &[0x0c, 0x81, 200]);
        assert_eq!(&tlv(0x0c, &[b'a'; 300])[..4], &[0x0c, 0x82, 0x01, 0x2c]);
        assert_eq!(tlv(0x0c, b""), vec![0x0c, 0x00]);
    }

    #[test]
    fn canonical_name_of_printable_cn() {
        // CN = " Foo  Bar " as PrintableString.
        let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
        let attr = tlv(0x30, &[&oid[..], &tlv(0x13, b" Foo  Bar ")].concat());
        let name = tlv(0x30, &tlv(0x31, &attr));
        let canon = openssl_canonical_name(&name).expect("canon");
        let want_attr = tlv(0x30, &[&oid[..], &tlv(0x0c, b"foo bar")].concat());
        assert_eq!(canon, tlv(0x31, &want_attr));
    }

    #[test]
    fn non_string_values_are_kept_and_empty_name_hashes_nothing() {
        let oid = [0x06, 0x03, 0x55, 0x04, 0x05];
        let numeric = tlv(0x12, b" 12 ");
        let attr = tlv(0x30, &[&oid[..], &numeric].concat());
        let name = tlv(0x30, &tlv(0x31, &attr));
        assert_eq!(
            openssl_canonical_name(&name).expect("canon"),
            tlv(0x31, &attr)
        );
        // SHA-1 of nothing is da39a3ee...
        assert_eq!(openssl_name_hash(&[0x30, 0x00]), Ok(0xeea3_39da));
        assert_eq!(
            openssl_name_hash(&[0x30, 0x02, 0x31, 0x00]),
            Ok(0xeea3_39da)
        );
    }

    #[test]
    fn malformed_names_are_errors_not_panics() {
        for bad in [
            &b""[..],
            &[0x30],
            &[0x30, 0x05, 0x31],
            &[0x31, 0x00],
            &[0x30, 0x02, 0x30, 0x00],
            &[0x30, 0x04, 0x31, 0x02, 0x30, 0x00],
            // BMPString of odd length
            &[
                0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x01, 0x41,
            ],
            // BMPString holding a lone surrogate
            &[
                0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x02, 0xd8,
                0x00,
            ],
            // UTF8String with invalid UTF-8
            &[
                0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0xff,
            ],
        ] {
            assert!(openssl_name_hash(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn entry_names() {
        assert!(is_hashed_entry_name("0a1b2c3d.0"));
        assert!(is_hashed_entry_name("0a1b2c3d.12"));
        for bad in [
            "0A1B2C3D.0",
            "0a1b2c3d",
            "0a1b2c3d.",
            "0a1b2c3d.r0",
            "0a1b2c3.0",
            "../a1b2c3d.0",
            "0a1b2c3d.0.pem",
            "0a1b2c3d.-1",
        ] {
            assert!(!is_hashed_entry_name(bad), "{bad}");
        }
    }

    #[test]
    fn comment_sanitising() {
        assert_eq!(sanitize_comment("CN=a\nb"), "CN=a\\u{a}b");
        assert_eq!(sanitize_comment("x\u{202e}y"), "x\\u{202e}y");
        let s = sanitize_comment("-----BEGIN CERTIFICATE-----");
        assert!(!s.contains("-----"), "{s}");
        assert_eq!(sanitize_comment("a\\b"), "a\\\\b");
        assert!(sanitize_comment(&"x".repeat(10_000)).len() < 300);
    }
}
