//! One vocabulary for people: how every human report says why a CA is trusted, where it came
//! from and which TLS version was spoken. JSON keeps its own stable identifiers (`confirmed`,
//! `network`, `TLSv1.3`); these words are for the text only, and every command uses these and
//! no others.

use crate::discover::Provenance;
use crate::install::decide::Decision;

/// Why trust-proxy trusts the CA ("trusted because: ...").
pub fn trusted_because(decision: Decision) -> &'static str {
    match decision {
        Decision::OsStore => "the OS already trusts it",
        Decision::Pinned => "it matches your --fingerprint pin",
        Decision::Confirmed => "you confirmed it at the terminal",
        Decision::TrustOnFirstUse => "you allowed --trust-on-first-use",
    }
}

/// Where the certificate came from ("came from: ...").
pub fn came_from(provenance: Provenance) -> &'static str {
    match provenance {
        Provenance::OsStore => "the OS trust store",
        Provenance::UserFile => "a file you gave (--ca-file)",
        Provenance::VendorFile => "a file the proxy vendor's agent left on this machine",
        Provenance::Network => "the network only",
    }
}

/// `TLSv1.3`, `TLSv1_3` (rustls' Debug form) and the like as people write it: `TLS 1.3`.
/// Anything else is returned as it is.
pub fn tls_version(raw: &str) -> String {
    let Some(number) = raw.strip_prefix("TLSv") else {
        return raw.to_string();
    };
    let number = number.replace('_', ".");
    if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        format!("TLS {number}")
    } else {
        raw.to_string()
    }
}

/// Every TLS version named in a sentence (`... (TLSv1_3)`) in people's spelling.
pub fn tls_versions_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("TLSv") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "TLSv".len()..];
        let len = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(after.len());
        out.push_str(&tls_version(&rest[at..at + "TLSv".len() + len]));
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// webpki's and rustls' error names (`UnknownIssuer`, `CertExpired { .. }`, the alert
/// `UnknownCA`), which the library keeps as they are for JSON, in words. Each name is replaced
/// where it stands as a whole word; a sentence without one comes back as it is.
pub fn tls_errors_in(text: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("UnknownIssuer", "issuer not trusted"),
        ("CertExpired", "certificate expired"),
        ("CertNotValidYet", "certificate not valid yet"),
        ("CertNotValidForName", "certificate not valid for this name"),
        ("CertRevoked", "certificate revoked"),
        (
            "CaUsedAsEndEntity",
            "a CA certificate used as the server's certificate",
        ),
        ("EndEntityUsedAsCa", "a server's certificate used as a CA"),
        (
            "NameConstraintViolation",
            "outside the issuer's name constraints",
        ),
        (
            "PathLenConstraintViolated",
            "the path is longer than a CA allows",
        ),
        (
            "InvalidSignatureForPublicKey",
            "a signature does not verify",
        ),
        (
            "UnsupportedSignatureAlgorithm",
            "signature algorithm not supported",
        ),
        (
            "UnsupportedSignatureAlgorithmForPublicKey",
            "signature algorithm not supported for its key",
        ),
        (
            "RequiredEkuNotFound",
            "not allowed for TLS servers (extended key usage)",
        ),
        ("BadDer", "malformed certificate (DER)"),
        (
            "UnknownCA",
            "unknown CA (the other side does not trust the certificate it was shown)",
        ),
        ("HandshakeFailure", "handshake failure"),
        ("ProtocolVersion", "no TLS version in common"),
        ("BadCertificate", "bad certificate"),
        ("InternalError", "internal error"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let at_word_start = out.chars().last().is_none_or(|c| !c.is_alphanumeric());
        // Longest name first: `UnsupportedSignatureAlgorithmForPublicKey` is not
        // `UnsupportedSignatureAlgorithm` followed by text.
        let found = NAMES
            .iter()
            .filter(|(name, _)| at_word_start && rest.starts_with(name))
            .filter(|(name, _)| {
                rest[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
            })
            .max_by_key(|(name, _)| name.len());
        if let Some((name, words)) = found {
            out.push_str(words);
            rest = &rest[name.len()..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_become_words() {
        assert_eq!(tls_errors_in("UnknownIssuer"), "issuer not trusted");
        assert_eq!(
            tls_errors_in("the peer answered with a TLS alert: UnknownCA"),
            "the peer answered with a TLS alert: unknown CA (the other side does not trust the certificate it was shown)"
        );
        assert_eq!(
            tls_errors_in("UnsupportedSignatureAlgorithmForPublicKey"),
            "signature algorithm not supported for its key"
        );
        assert_eq!(tls_errors_in("xUnknownIssuer"), "xUnknownIssuer");
    }

    #[test]
    fn tls_versions_are_spelt_one_way() {
        assert_eq!(tls_version("TLSv1_3"), "TLS 1.3");
        assert_eq!(tls_version("TLSv1.2"), "TLS 1.2");
        assert_eq!(tls_version("TLSvX"), "TLSvX");
        assert_eq!(
            tls_versions_in("handshake ok - TLSv1_3, verified"),
            "handshake ok - TLS 1.3, verified"
        );
        assert_eq!(
            tls_versions_in("verified with the installed bundle (TLSv1_2)"),
            "verified with the installed bundle (TLS 1.2)"
        );
    }
}
