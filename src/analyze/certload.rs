//! Reading certificates from bytes whose format is not known in advance: a `--ca-file`, an AIA
//! response, a vendor's CA file. PEM (any number of blocks), DER, or PKCS#7 certs-only, in DER or
//! PEM, since that is what AIA caIssuers URLs commonly serve (`.p7c`).

use crate::analyze::certinfo::{Cert, CertError};
use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};

/// Why bytes yielded no usable certificate.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no certificate found (expected PEM, DER or PKCS#7)")]
    NoCertificates,
    #[error("PEM could not be read: {0}")]
    Pem(String),
    #[error("certificate {index}: {source}")]
    BadCert { index: usize, source: CertError },
    #[error("more than {0} certificates; refusing to read further")]
    TooMany(usize),
}

/// A bundle (an OS store, Mozilla's set) holds a few hundred; far more is hostile input.
pub const MAX_CERTS: usize = 20_000;

/// All certificates in `bytes`, in file order. A block that is not a certificate (a key, a CRL)
/// is skipped; a certificate block that does not parse is an error, never silently dropped.
pub fn load_certs(bytes: &[u8]) -> Result<Vec<Cert>, LoadError> {
    let ders = load_ders(bytes)?;
    ders.iter()
        .enumerate()
        .map(|(index, der)| Cert::parse(der).map_err(|source| LoadError::BadCert { index, source }))
        .collect()
}

/// Like [`load_certs`] but keeps the certificates that parse and reports the others.
pub fn load_certs_lenient(bytes: &[u8]) -> Result<(Vec<Cert>, Vec<LoadError>), LoadError> {
    let ders = load_ders(bytes)?;
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (index, der) in ders.iter().enumerate() {
        match Cert::parse(der) {
            Ok(c) => good.push(c),
            Err(source) => bad.push(LoadError::BadCert { index, source }),
        }
    }
    Ok((good, bad))
}

/// The raw DER of each certificate in `bytes`.
pub fn load_ders(bytes: &[u8]) -> Result<Vec<Vec<u8>>, LoadError> {
    if let Some(certs) = pkcs7_certs(bytes) {
        return non_empty(certs);
    }
    if X509Starts::looks_like_der(bytes) {
        return Ok(vec![bytes.to_vec()]);
    }
    // PEM files often carry comments or `openssl x509 -text` output before each block.
    if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        return from_pem(bytes);
    }
    Err(LoadError::NoCertificates)
}

fn from_pem(bytes: &[u8]) -> Result<Vec<Vec<u8>>, LoadError> {
    let blocks = pem::parse_many(bytes).map_err(|e| LoadError::Pem(e.to_string()))?;
    let mut out = Vec::new();
    for block in blocks {
        match block.tag() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                out.push(block.contents().to_vec())
            }
            "PKCS7" | "CMS" => {
                if let Some(certs) = pkcs7_certs(block.contents()) {
                    out.extend(certs);
                }
            }
            _ => {}
        }
        if out.len() > MAX_CERTS {
            return Err(LoadError::TooMany(MAX_CERTS));
        }
    }
    non_empty(out)
}

fn non_empty(v: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, LoadError> {
    if v.is_empty() {
        Err(LoadError::NoCertificates)
    } else if v.len() > MAX_CERTS {
        Err(LoadError::TooMany(MAX_CERTS))
    } else {
        Ok(v)
    }
}

struct X509Starts;
impl X509Starts {
    /// A DER certificate is one SEQUENCE covering all the bytes; anything else is not DER.
    fn looks_like_der(bytes: &[u8]) -> bool {
        matches!(Any::from_der(bytes), Ok((rest, any)) if rest.is_empty() && any.tag() == Tag::Sequence)
    }
}

/// The `certificates` of a PKCS#7 / CMS SignedData (RFC 5652 5.1), read leniently: the signature
/// and the other fields are irrelevant for a certs-only message and are not interpreted.
fn pkcs7_certs(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
    let (_, content_info) = Any::from_der(bytes).ok()?;
    if content_info.tag() != Tag::Sequence {
        return None;
    }
    let (rest, oid) = Any::from_der(content_info.data).ok()?;
    if oid.tag() != Tag::Oid || oid.clone().oid().ok()?.to_id_string() != SIGNED_DATA {
        return None;
    }
    let (_, explicit) = Any::from_der(rest).ok()?;
    if explicit.class() != Class::ContextSpecific || explicit.tag() != Tag(0) {
        return None;
    }
    let (_, signed_data) = Any::from_der(explicit.data).ok()?;
    if signed_data.tag() != Tag::Sequence {
        return None;
    }
    let mut fields = signed_data.data;
    let mut certs = Vec::new();
    while !fields.is_empty() {
        let (rest, field) = Any::from_der(fields).ok()?;
        let consumed = fields.len() - rest.len();
        if field.class() == Class::ContextSpecific && field.tag() == Tag(0) {
            let mut inner = field.data;
            while !inner.is_empty() {
                let (after, cert) = Any::from_der(inner).ok()?;
                let cert_len = inner.len() - after.len();
                if cert.tag() == Tag::Sequence && cert.class() == Class::Universal {
                    certs.push(inner[..cert_len].to_vec());
                }
                if certs.len() > MAX_CERTS {
                    return None;
                }
                inner = after;
            }
        }
        fields = &fields[consumed..];
    }
    Some(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_with_comments_and_text_before_blocks() {
        let der = b"\x30\x03\x02\x01\x05";
        let block = pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
        let text = format!("# Subject: x\n# SHA-256 y\n{block}Certificate:\n  Data: ...\n{block}");
        assert_eq!(
            load_ders(text.as_bytes()).unwrap(),
            vec![der.to_vec(), der.to_vec()]
        );
        assert!(matches!(
            load_ders(b"# only a comment\n"),
            Err(LoadError::NoCertificates)
        ));
        assert_eq!(load_ders(der).unwrap(), vec![der.to_vec()]);
    }
}
