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

#[cfg(test)]
mod tests {
    use super::*;

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
