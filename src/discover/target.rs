//! A probe target: the host name (or IP) and port a developer's tools connect to.

use crate::terminal_text::quoted;
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    /// Lower-case host name or IP literal, never bracketed.
    pub host: String,
    pub port: u16,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("{} is not HOST[:PORT]: it has no host", quoted(.0))]
    Empty(String),
    #[error("{} is not HOST[:PORT]: the port is not a number from 1 to 65535", quoted(.0))]
    BadPort(String),
    #[error("{} is not HOST[:PORT]: the host is not a valid host name or IP address", quoted(.0))]
    BadHost(String),
    #[error("{} is not HOST[:PORT]: of URLs only https:// ones can be probed", quoted(.0))]
    BadScheme(String),
}

/// Hosts developers' tools need on day one; several of them, so one interception root seen on
/// all is a strong signal, and one not intercepted reveals a bypass list.
pub const DEFAULT_TARGETS: &[&str] = &[
    "pypi.org",
    "files.pythonhosted.org",
    "crates.io",
    "static.crates.io",
    "github.com",
];

impl Target {
    /// `HOST`, `HOST:PORT`, `[V6]:PORT`, a bare IPv6 literal, or an `https://` URL.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        let raw = input.trim();
        let mut rest = raw;
        if let Some((scheme, after)) = raw.split_once("://") {
            if !scheme.eq_ignore_ascii_case("https") {
                return Err(TargetError::BadScheme(input.to_string()));
            }
            rest = after.split(['/', '?', '#']).next().unwrap_or_default();
            if let Some((_, host)) = rest.rsplit_once('@') {
                rest = host;
            }
        }
        let (host, port) = if let Some(after) = rest.strip_prefix('[') {
            let (h, tail) = after
                .split_once(']')
                .ok_or_else(|| TargetError::BadHost(input.to_string()))?;
            let port = match tail {
                "" => None,
                t => Some(
                    t.strip_prefix(':')
                        .ok_or_else(|| TargetError::BadPort(input.to_string()))?,
                ),
            };
            (h, port)
        } else if rest.matches(':').count() > 1 {
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let port = match port {
            None => 443,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| TargetError::BadPort(input.to_string()))?,
        };
        if host.is_empty() {
            return Err(TargetError::Empty(input.to_string()));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.parse::<IpAddr>().is_err() && !valid_dns_name(&host) {
            return Err(TargetError::BadHost(input.to_string()));
        }
        Ok(Target { host, port })
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `host:port` with IPv6 bracketed, as CONNECT and `Host:` want it.
    pub fn authority(&self) -> String {
        match self.ip() {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

pub fn valid_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> (String, u16) {
        let t = Target::parse(s).unwrap();
        (t.host, t.port)
    }

    #[test]
    fn forms() {
        assert_eq!(t("PyPI.org"), ("pypi.org".into(), 443));
        assert_eq!(t("pypi.org:8443"), ("pypi.org".into(), 8443));
        assert_eq!(t("[::1]:9"), ("::1".into(), 9));
        assert_eq!(t("::1"), ("::1".into(), 443));
        assert_eq!(
            t("https://u@github.com:444/x?y"),
            ("github.com".into(), 444)
        );
        assert_eq!(t("example.com."), ("example.com".into(), 443));
        assert!(Target::parse("http://x").is_err());
        assert!(Target::parse("x:0").is_err());
        assert!(Target::parse("x:99999").is_err());
        assert!(Target::parse("bad host").is_err());
        assert!(Target::parse("").is_err());
        assert!(Target::parse("[::1").is_err());
        assert_eq!(Target::parse("[::1]:9").unwrap().authority(), "[::1]:9");
    }
}
