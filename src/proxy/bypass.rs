//! `NO_PROXY` for the snippets, translated from the bypass list of the source that chose the
//! proxy: GNOME's `ignore-hosts`, `/etc/environment`'s `no_proxy`, and the exception lists of the
//! other OS sources (macOS `ExceptionsList`, Windows `ProxyOverride`), each entry said to be
//! exact, approximate, or impossible. `NO_PROXY` as curl, Go and Python read it knows `*`,
//! domain suffixes, IP addresses and CIDR blocks; it has no wildcards elsewhere, no "hosts
//! without a dot" and no logic. A PAC file's host rules (`dnsDomainIs`, `shExpMatch`,
//! `localHostOrDomainIs` on a literal domain) are kept only where the PAC engine, asked for
//! sample hosts without DNS, answers `DIRECT` ([`pac_check`]); every other rule is left out.

pub mod pac_check;

use crate::terminal_text::printable;
use serde::Serialize;

/// How a list's entries are meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Already `NO_PROXY` syntax (`/etc/environment`): entries are kept as written.
    NoProxy,
    /// Host patterns with `*` wildcards, where a plain name means that host only (GNOME
    /// `ignore-hosts`, macOS exceptions, Windows `ProxyOverride` with `<local>`).
    HostPatterns,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BypassEntry {
    /// As the source has it (escaped for terminals).
    pub entry: String,
    /// What goes into `NO_PROXY`; `None`: left out.
    pub no_proxy: Option<String>,
    /// How exact the translation is, or why there is none.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoProxyTranslation {
    /// Which list was translated.
    pub from: String,
    pub entries: Vec<BypassEntry>,
}

impl NoProxyTranslation {
    /// The `NO_PROXY` value: the translated entries, comma-separated, without repeats; `None`
    /// when nothing could be expressed.
    pub fn value(&self) -> Option<String> {
        let mut kept: Vec<&str> = Vec::new();
        for e in &self.entries {
            if let Some(v) = e.no_proxy.as_deref() {
                if !kept.contains(&v) {
                    kept.push(v);
                }
            }
        }
        (!kept.is_empty()).then(|| kept.join(","))
    }

    /// The entries that could not be expressed.
    pub fn left_out(&self) -> impl Iterator<Item = &BypassEntry> {
        self.entries.iter().filter(|e| e.no_proxy.is_none())
    }

    /// Lines for the human report: the value, then every entry that is not exact.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![match self.value() {
            Some(v) => format!("NO_PROXY={v} (from {})", self.from),
            None => format!(
                "NO_PROXY not set: nothing in {} can be expressed",
                self.from
            ),
        }];
        for e in &self.entries {
            let verdict = match &e.no_proxy {
                Some(v) if *v == e.entry => continue,
                Some(v) => format!("as {v}"),
                None => "left out".to_string(),
            };
            lines.push(format!(
                "  {} {verdict}: {}",
                crate::terminal_text::quoted(&e.entry),
                e.note
            ));
        }
        lines
    }
}

/// Translates `entries` (one bypass entry each) of the list named `from`.
pub fn translate(from: &str, entries: &[String], dialect: Dialect) -> NoProxyTranslation {
    NoProxyTranslation {
        from: from.to_string(),
        entries: entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(|e| translate_entry(e, dialect))
            .collect(),
    }
}

/// A `NO_PROXY`-syntax value split into its entries (commas and white space separate them).
pub fn split_no_proxy(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\t', '\n'])
        .filter(|e| !e.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn kept(entry: &str, value: &str, note: &str) -> BypassEntry {
    BypassEntry {
        entry: printable(entry),
        no_proxy: Some(value.to_string()),
        note: note.to_string(),
    }
}

fn left_out(entry: &str, note: &str) -> BypassEntry {
    BypassEntry {
        entry: printable(entry),
        no_proxy: None,
        note: note.to_string(),
    }
}

const CIDR_NOTE: &str =
    "a CIDR block: curl 7.86+, Go and Python requests honour it; wget and Python's urllib do not";

pub fn translate_entry(entry: &str, dialect: Dialect) -> BypassEntry {
    if entry.contains([',', ' ', '\t']) || entry.chars().any(char::is_control) {
        return left_out(
            entry,
            "contains a comma, white space or a control character, which NO_PROXY cannot carry",
        );
    }
    if entry.eq_ignore_ascii_case("<local>") {
        return left_out(
            entry,
            "means every host name without a dot, which NO_PROXY cannot say: list those hosts by name",
        );
    }
    if entry == "*" {
        return kept(entry, "*", "every host");
    }
    let unbracketed = entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .unwrap_or(entry);
    if let Ok(ip) = unbracketed.parse::<std::net::IpAddr>() {
        return kept(entry, &ip.to_string(), "an address, exact");
    }
    if let Ok(net) = entry.parse::<ipnet::IpNet>() {
        return kept(entry, &net.to_string(), CIDR_NOTE);
    }
    if let Some(net) = ipv4_wildcard(entry) {
        return kept(entry, &net, CIDR_NOTE);
    }
    if let Some(domain) = entry.strip_prefix("*.").filter(|d| is_hostname(d)) {
        let value = format!(".{}", domain.to_ascii_lowercase());
        return kept(
            entry,
            &value,
            "its subdomains; curl and Python also exempt the domain itself, Go does not",
        );
    }
    if entry.contains('*') {
        return left_out(
            entry,
            "a wildcard NO_PROXY has no form for (only a leading \"*.\" or trailing IPv4 \"*\" parts translate)",
        );
    }
    if let Some(domain) = entry.strip_prefix('.').filter(|d| is_hostname(d)) {
        return kept(
            entry,
            &format!(".{}", domain.to_ascii_lowercase()),
            "a domain suffix",
        );
    }
    let (host, port) = match entry.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, Some(p)),
        _ => (entry, None),
    };
    if !is_hostname(host) {
        return left_out(entry, "not a host name, address or network");
    }
    let value = entry.to_ascii_lowercase();
    if port.is_some() {
        return kept(
            entry,
            &value,
            "with a port: Go honours the port; curl and Python match the host on any port",
        );
    }
    match dialect {
        Dialect::NoProxy => kept(entry, &value, "as written"),
        Dialect::HostPatterns if host.contains('.') => kept(
            entry,
            &value,
            "NO_PROXY also exempts its subdomains, the source only this host",
        ),
        Dialect::HostPatterns => kept(entry, &value, "a host name, exact"),
    }
}

/// `10.*`, `192.168.*`, `172.16.*.*`: leading decimal octets, then only `*` parts.
fn ipv4_wildcard(entry: &str) -> Option<String> {
    let parts: Vec<&str> = entry.split('.').collect();
    if parts.len() > 4 || !entry.ends_with('*') {
        return None;
    }
    let fixed: Vec<u8> = parts
        .iter()
        .take_while(|p| **p != "*")
        .map(|p| p.parse::<u8>().ok())
        .collect::<Option<Vec<u8>>>()?;
    if fixed.is_empty() || parts.iter().skip(fixed.len()).any(|p| *p != "*") {
        return None;
    }
    let mut octets = [0u8; 4];
    for (slot, value) in octets.iter_mut().zip(&fixed) {
        *slot = *value;
    }
    let prefix = fixed.len().saturating_mul(8);
    Some(format!(
        "{}.{}.{}.{}/{prefix}",
        octets[0], octets[1], octets[2], octets[3]
    ))
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The PAC helpers whose calls are a script's routing rules.
const PAC_RULES: &[&str] = &[
    "isInNetEx",
    "isInNet",
    "shExpMatch",
    "dnsDomainIs",
    "localHostOrDomainIs",
    "isPlainHostName",
    "dnsDomainLevels",
    "isResolvableEx",
    "isResolvable",
    "weekdayRange",
    "dateRange",
    "timeRange",
];

/// Rules listed from one PAC file at most; a generated file has thousands.
pub const MAX_PAC_RULES: usize = 40;

/// A PAC file's rules as `NO_PROXY`: host rules on a literal domain that the engine confirms
/// with sample hosts ([`pac_check`]) are kept as approximate, every other rule is left out with
/// its reason. The calls are found by reading the text, up to [`MAX_PAC_RULES`], each shown up
/// to 120 characters.
pub fn from_pac(location: &str, text: &str) -> NoProxyTranslation {
    // (shown call, helper name, the candidate it is, if any)
    let mut calls: Vec<(String, &str, Option<pac_check::Candidate>)> = Vec::new();
    let mut more = 0usize;
    // One pass over the identifiers: a generated PAC file is a megabyte of rules.
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let bytes = text.as_bytes();
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if !is_ident(b) {
            i = i.saturating_add(1);
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(|b| is_ident(*b)) {
            i = i.saturating_add(1);
        }
        let name = text.get(start..i).unwrap_or_default();
        if bytes.get(i) != Some(&b'(') {
            continue;
        }
        let Some(name) = PAC_RULES.iter().copied().find(|rule| *rule == name) else {
            continue;
        };
        let from_name = text.get(start..).unwrap_or_default();
        let shown = call_text(from_name);
        if calls.iter().any(|(s, _, _)| *s == shown) {
            continue;
        }
        if calls.len() >= MAX_PAC_RULES {
            more = more.saturating_add(1);
            continue;
        }
        let candidate = call_args(text.get(i..).unwrap_or_default())
            .and_then(|args| pac_check::candidate(&shown, name, args));
        calls.push((shown, name, candidate));
    }
    let candidates: Vec<pac_check::Candidate> =
        calls.iter().filter_map(|(_, _, c)| c.clone()).collect();
    let mut verdicts = pac_check::check(text, &candidates).into_iter();
    let mut entries: Vec<BypassEntry> = Vec::new();
    for (shown, name, candidate) in &calls {
        let verdict = if candidate.is_some() {
            verdicts.next()
        } else {
            None
        };
        let entry = match (candidate, verdict) {
            (Some(_), Some(pac_check::Verdict::Kept { no_proxy, note })) => {
                kept(shown, &no_proxy, &note)
            }
            (Some(_), Some(pac_check::Verdict::LeftOut(why))) => left_out(shown, &why),
            _ => left_out(
                shown,
                &format!("a PAC {name} rule: not expressible in NO_PROXY, left out"),
            ),
        };
        entries.push(entry);
    }
    if more > 0 {
        entries.push(left_out(
            &format!("{more} more rules"),
            "PAC rules: not expressible in NO_PROXY, left out",
        ));
    }
    if entries.is_empty() {
        entries.push(left_out(
            "FindProxyForURL",
            "the PAC file's logic: not expressible in NO_PROXY, left out",
        ));
    }
    NoProxyTranslation {
        from: format!("the PAC file {}", printable(location)),
        entries,
    }
}

/// The text between `(` and its `)` when `call` starts with `(` and nothing inside nests;
/// at most 600 bytes are looked at.
fn call_args(call: &str) -> Option<&str> {
    let inner = call.strip_prefix('(')?;
    let window = inner.get(..inner.len().min(600)).or(Some(inner))?;
    let end = window.find(')')?;
    let args = window.get(..end)?;
    (!args.contains('(')).then_some(args)
}

/// `name(args)` up to its closing parenthesis, white space collapsed, at most 120 characters.
fn call_text(call: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    let mut last_space = false;
    for c in call.chars().take(400) {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        out.push(c);
        match c {
            '(' => depth = depth.saturating_add(1),
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    if out.chars().count() > 120 {
        out = out.chars().take(117).collect::<String>() + "...";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(entry: &str, dialect: Dialect) -> Option<String> {
        translate_entry(entry, dialect).no_proxy
    }

    #[test]
    fn host_patterns_translate_where_no_proxy_can_say_it() {
        let hp = Dialect::HostPatterns;
        assert_eq!(one("*.example.com", hp).as_deref(), Some(".example.com"));
        assert_eq!(one("*.Example.COM", hp).as_deref(), Some(".example.com"));
        assert_eq!(one("localhost", hp).as_deref(), Some("localhost"));
        assert_eq!(one("127.0.0.0/8", hp).as_deref(), Some("127.0.0.0/8"));
        assert_eq!(one("::1", hp).as_deref(), Some("::1"));
        assert_eq!(one("[fd00::1]", hp).as_deref(), Some("fd00::1"));
        assert_eq!(one("10.*", hp).as_deref(), Some("10.0.0.0/8"));
        assert_eq!(one("192.168.*.*", hp).as_deref(), Some("192.168.0.0/16"));
        assert_eq!(one("git.corp:8443", hp).as_deref(), Some("git.corp:8443"));
        assert_eq!(one("*", hp).as_deref(), Some("*"));
        for impossible in [
            "<local>", "<LOCAL>", "*corp*", "intra*", "10.*.1.*", "a,b", "x y",
        ] {
            assert_eq!(one(impossible, hp), None, "{impossible}");
        }
        let t = translate(
            "GNOME ignore-hosts",
            &[
                "localhost".into(),
                "*.corp".into(),
                "<local>".into(),
                " ".into(),
                "localhost".into(),
            ],
            hp,
        );
        assert_eq!(t.value().as_deref(), Some("localhost,.corp"));
        assert_eq!(t.left_out().count(), 1);
        let lines = t.describe().join("\n");
        assert!(lines.contains("\"<local>\" left out"), "{lines}");
        assert!(lines.contains("\"*.corp\" as .corp"), "{lines}");
    }

    #[test]
    fn pac_rules_are_each_left_out() {
        let pac = "function FindProxyForURL(url, host) {\n  if (isPlainHostName(host) || dnsDomainIs(host, \".corp\")) return \"DIRECT\";\n  if (isInNet(dnsResolve(host), \"10.0.0.0\",\n      \"255.0.0.0\")) return \"DIRECT\";\n  if (isPlainHostName(host)) return 'DIRECT';\n  return \"PROXY p:8080\";\n}\n";
        let t = from_pac("http://wpad.corp/wpad.dat", pac);
        let shown: Vec<&str> = t.entries.iter().map(|e| e.entry.as_str()).collect();
        assert_eq!(
            shown,
            [
                "isPlainHostName(host)",
                "dnsDomainIs(host, \".corp\")",
                "isInNet(dnsResolve(host), \"10.0.0.0\", \"255.0.0.0\")"
            ]
        );
        assert!(t.value().is_none());
        assert!(t.entries[2].note.contains("isInNet rule: not expressible"));
        let generated: String = (0..100)
            .map(|i| format!("if (shExpMatch(host, \"h{i}.x\")) return 'DIRECT';\n"))
            .collect();
        let t = from_pac("p", &generated);
        assert_eq!(t.entries.len(), MAX_PAC_RULES + 1);
        assert_eq!(
            t.entries.last().map(|e| e.entry.as_str()),
            Some("60 more rules")
        );
        assert_eq!(
            from_pac("p", "function FindProxyForURL(u, h) { return 'DIRECT'; }")
                .entries
                .len(),
            1
        );
    }
}
