//! The OS proxy settings of KDE ([`kde`](crate::proxy::kde)), macOS
//! ([`macos`](crate::proxy::macos)) and Windows ([`windows`](crate::proxy::windows)) in one
//! shape, so that `resolve` asks each the same way a browser on that OS does: auto-discovery
//! first, then the PAC URL, then the manual proxy with its bypass list.
//!
//! Bypass lists keep the entries exactly as the OS stores them (`<local>`, `*.corp`,
//! `169.254/16`): matching follows each OS's own rules here, and the NO_PROXY translation for
//! snippets works from the same raw entries.

use crate::discover::proxy::{no_proxy_match, ProxyEndpoint};
use crate::discover::target::Target;
use ipnet::IpNet;
use std::net::IpAddr;

/// Which settings a proxy came from; `id` is what reports and JSON show (`os:<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsOrigin {
    /// `kioslaverc`, `[Proxy Settings]`.
    Kde,
    /// SystemConfiguration's proxy dictionary (what `scutil --proxy` prints).
    MacOs,
    /// The per-user Internet Settings that Edge, Chrome and WinINet programs use.
    WinInet,
    /// The machine-wide WinHTTP proxy (`netsh winhttp set proxy`), used by services.
    WinHttp,
}

impl OsOrigin {
    pub fn id(self) -> &'static str {
        match self {
            OsOrigin::Kde => "kde",
            OsOrigin::MacOs => "macos",
            OsOrigin::WinInet => "wininet",
            OsOrigin::WinHttp => "winhttp",
        }
    }

    /// For sentences: "proxy X (from <this>)".
    pub fn settings_name(self) -> &'static str {
        match self {
            OsOrigin::Kde => "the KDE proxy settings (kioslaverc)",
            OsOrigin::MacOs => "the macOS proxy settings (SystemConfiguration)",
            OsOrigin::WinInet => "the Windows proxy settings (WinINet, this user)",
            OsOrigin::WinHttp => "the Windows machine proxy (WinHTTP)",
        }
    }
}

/// One OS's proxy settings for `https:` URLs. Several parts can be on at once (Windows and
/// macOS allow it); `resolve` tries them in the browsers' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsProxy {
    pub origin: OsOrigin,
    /// The OS asks for proxy auto-discovery (WPAD).
    pub auto_detect: bool,
    /// A PAC file's location.
    pub pac_url: Option<String>,
    /// A manual proxy configuration is on (even if it names no proxy for HTTPS).
    pub manual: bool,
    /// The manual proxy for `https:` URLs.
    pub https: Option<ProxyEndpoint>,
    /// The manual configuration's bypass entries, as stored.
    pub bypass: Vec<String>,
    /// KDE's ReversedException: the list names the only hosts that use the proxy.
    pub bypass_reversed: bool,
}

impl OsProxy {
    pub fn new(origin: OsOrigin) -> OsProxy {
        OsProxy {
            origin,
            auto_detect: false,
            pac_url: None,
            manual: false,
            https: None,
            bypass: Vec::new(),
            bypass_reversed: false,
        }
    }

    /// Whether these settings say anything at all; if not, the next source decides.
    pub fn is_configured(&self) -> bool {
        self.auto_detect || self.pac_url.is_some() || self.manual
    }

    /// The bypass entry that matches `target`, by this OS's rules.
    pub fn bypass_match(&self, target: &Target) -> Option<String> {
        self.bypass
            .iter()
            .find(|entry| entry_matches(self.origin, entry, target))
            .cloned()
    }
}

/// Whether one bypass entry covers `target`.
///
/// - `<local>` (Windows, KDE; macOS's ExcludeSimpleHostnames is stored as this entry): a host
///   name without a dot.
/// - An entry with `*` is a wildcard over the host name (`*.corp`, `10.*`, `*intranet*`).
/// - An IP, a CIDR block, or on macOS an abbreviated one (`169.254/16`): IP literals only;
///   host names are not resolved to be compared.
/// - A plain name: Windows compares the whole host (`corp.com` is not `www.corp.com`); KDE
///   and macOS take it as a domain with its subdomains.
fn entry_matches(origin: OsOrigin, entry: &str, target: &Target) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    let host = target.host.trim_end_matches('.');
    let host_ip: Option<IpAddr> = host.parse().ok();
    if entry.eq_ignore_ascii_case("<local>") {
        return host_ip.is_none() && !host.contains('.');
    }
    // WinINet accepts `scheme://` in front of an entry; the scheme of an https URL is https.
    let entry = match entry.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some(_) => return false,
        None => entry,
    };
    if entry.contains('*') {
        let (pattern, port) = split_glob_port(entry);
        return port.is_none_or(|p| p == target.port) && glob_matches(pattern, host);
    }
    if origin == OsOrigin::MacOs {
        if let (Some(ip), Some(net)) = (host_ip, abbreviated_cidr(entry)) {
            return net.contains(&ip);
        }
    }
    if origin == OsOrigin::WinInet || origin == OsOrigin::WinHttp {
        let (pattern, port) = split_glob_port(entry);
        return port.is_none_or(|p| p == target.port)
            && pattern.trim_end_matches('.').eq_ignore_ascii_case(host);
    }
    no_proxy_match(entry, target).is_some()
}

/// `pattern:port` where the port is all digits; an IPv6 literal keeps its colons.
fn split_glob_port(entry: &str) -> (&str, Option<u16>) {
    if entry.matches(':').count() == 1 {
        if let Some((pattern, port)) = entry.split_once(':') {
            if let Ok(port) = port.parse() {
                return (pattern, Some(port));
            }
        }
    }
    (entry, None)
}

/// `*` matches any run of characters, case-insensitively; everything else is literal.
/// Greedy with one backtrack point, so the cost stays at most pattern × text.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi = pi.saturating_add(1);
            }
            Some(c) if t.get(ti) == Some(c) => {
                pi = pi.saturating_add(1);
                ti = ti.saturating_add(1);
            }
            _ => match star {
                Some((star_pi, star_ti)) => {
                    pi = star_pi.saturating_add(1);
                    ti = star_ti.saturating_add(1);
                    star = Some((star_pi, ti));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// macOS writes `169.254/16` and `192.168.0.0/16` alike: missing IPv4 octets are zero.
fn abbreviated_cidr(entry: &str) -> Option<IpNet> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Some(net);
    }
    let (address, prefix) = entry.split_once('/')?;
    let mut octets: Vec<&str> = address.split('.').collect();
    if octets.is_empty() || octets.len() > 4 || octets.iter().any(|o| o.parse::<u8>().is_err()) {
        return None;
    }
    while octets.len() < 4 {
        octets.push("0");
    }
    format!("{}/{prefix}", octets.join(".")).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(origin: OsOrigin, entries: &[&str]) -> OsProxy {
        OsProxy {
            bypass: entries.iter().map(|e| e.to_string()).collect(),
            ..OsProxy::new(origin)
        }
    }

    fn t(s: &str) -> Target {
        Target::parse(s).unwrap()
    }

    #[test]
    fn bypass_entries_match_by_each_os_rules() {
        let win = with(
            OsOrigin::WinInet,
            &[
                "<local>",
                "*.corp.example",
                "10.*",
                "exact.example",
                "*intra*:8443",
            ],
        );
        assert_eq!(
            win.bypass_match(&t("fileserver")).as_deref(),
            Some("<local>")
        );
        assert_eq!(
            win.bypass_match(&t("git.corp.example")).as_deref(),
            Some("*.corp.example")
        );
        // A wildcard entry does not cover the bare domain on Windows.
        assert_eq!(win.bypass_match(&t("corp.example")), None);
        assert_eq!(win.bypass_match(&t("10.1.2.3")).as_deref(), Some("10.*"));
        assert_eq!(
            win.bypass_match(&t("exact.example")).as_deref(),
            Some("exact.example")
        );
        assert_eq!(win.bypass_match(&t("www.exact.example")), None);
        assert_eq!(
            win.bypass_match(&t("myintranet.example:8443")).as_deref(),
            Some("*intra*:8443")
        );
        assert_eq!(win.bypass_match(&t("myintranet.example")), None);
        assert_eq!(win.bypass_match(&t("pypi.org")), None);

        let mac = with(OsOrigin::MacOs, &["*.local", "169.254/16", "corp.example"]);
        assert_eq!(
            mac.bypass_match(&t("169.254.9.9")).as_deref(),
            Some("169.254/16")
        );
        assert_eq!(mac.bypass_match(&t("169.255.0.1")), None);
        assert_eq!(
            mac.bypass_match(&t("printer.local")).as_deref(),
            Some("*.local")
        );
        assert_eq!(
            mac.bypass_match(&t("www.corp.example")).as_deref(),
            Some("corp.example")
        );

        let kde = with(OsOrigin::Kde, &[".kde.org", "10.0.0.0/8", "<local>"]);
        assert_eq!(
            kde.bypass_match(&t("bugs.kde.org")).as_deref(),
            Some(".kde.org")
        );
        assert_eq!(kde.bypass_match(&t("notkde.org")), None);
        assert_eq!(
            kde.bypass_match(&t("10.2.3.4")).as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(kde.bypass_match(&t("intranet")).as_deref(), Some("<local>"));
    }

    #[test]
    fn glob_is_linear_enough_and_exact() {
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("", "x"));
        let text = "a".repeat(4000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!glob_matches(&pattern, &text));
    }
}
