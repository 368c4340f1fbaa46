//! Which proxy a target is reached through, and why: `--proxy`, then the environment (with
//! `NO_PROXY`), then direct, which is what transparent interception looks like. Later sources
//! (OS settings, PAC, WPAD) slot in as further [`ProxySource`] variants between environment and
//! direct, so the report always names where the choice came from.

use crate::discover::target::Target;
use crate::terminal_text::quoted;
use ipnet::IpNet;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyScheme {
    Http,
    /// TLS to the proxy itself, then CONNECT inside it.
    Https,
}

#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    /// Which proxies accepted or rejected these credentials in this run, shared by every clone,
    /// so rejected ones are never sent twice (`proxy_auth`).
    pub attempts: std::sync::Arc<crate::discover::proxy_auth::AttemptLog>,
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user && self.password == other.password
    }
}

impl Eq for Credentials {}

impl Credentials {
    pub fn new(user: String, password: String) -> Credentials {
        Credentials {
            user,
            password,
            attempts: std::sync::Arc::default(),
        }
    }

    /// The `Proxy-Authorization` header line (with CRLF) sending these as Basic.
    pub fn basic_header(&self) -> String {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        format!("Proxy-Authorization: Basic {token}\r\n")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({:?}, <redacted>)", self.user)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEndpoint {
    pub scheme: ProxyScheme,
    pub host: String,
    pub port: u16,
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProxyUrlError {
    #[error("the proxy URL {} could not be read: {}", quoted(.0), .1)]
    Parse(String, String),
    #[error("the proxy URL {}: {} proxies are not supported (use http:// or https://; trust-proxy speaks HTTP CONNECT, not SOCKS)", quoted(.0), quoted(.1))]
    Scheme(String, String),
    #[error("the proxy URL {} has no host", quoted(.0))]
    NoHost(String),
    #[error("the proxy URL {}: the user or password is not valid UTF-8 once its %-escapes are decoded", quoted(.0))]
    Credentials(String),
}

impl ProxyEndpoint {
    /// Accepts what curl accepts in `HTTPS_PROXY`: a URL, or `host:port` meaning `http://`.
    /// A missing port is 1080 for http (as curl assumes) and 443 for https.
    pub fn parse(input: &str) -> Result<ProxyEndpoint, ProxyUrlError> {
        let trimmed = input.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("http://{trimmed}")
        };
        let redacted = redact_url_text(trimmed);
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| ProxyUrlError::Parse(redacted.clone(), e.to_string()))?;
        let scheme = match url.scheme() {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            other => return Err(ProxyUrlError::Scheme(redacted, other.to_string())),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(ProxyUrlError::NoHost(redacted)),
        };
        let port = url.port().unwrap_or(match scheme {
            ProxyScheme::Http => 1080,
            ProxyScheme::Https => 443,
        });
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let decode = |s: &str| {
                percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| ProxyUrlError::Credentials(redacted.clone()))
            };
            Some(Credentials::new(
                decode(url.username())?,
                decode(url.password().unwrap_or(""))?,
            ))
        };
        Ok(ProxyEndpoint {
            scheme,
            host,
            port,
            credentials,
        })
    }

    /// The URL as it may be shown or written anywhere: the password never appears.
    pub fn display_url(&self) -> String {
        let scheme = match self.scheme {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
        };
        let user = match &self.credentials {
            Some(c) => format!(
                "{}@",
                percent_encoding::utf8_percent_encode(&c.user, percent_encoding::NON_ALPHANUMERIC)
            ),
            None => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{user}{host}:{}", self.port)
    }

    /// The URL for `HTTPS_PROXY` snippets: no user, no password (credentials never go into
    /// files trust-proxy writes).
    pub fn env_url(&self) -> String {
        let scheme = match self.scheme {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}", self.port)
    }

    /// The target-shaped address of the proxy, for connecting to it.
    pub fn address(&self) -> Target {
        Target {
            host: self.host.clone(),
            port: self.port,
        }
    }
}

/// A command line as it may be repeated in a message: the password of any URL in it (a
/// `--proxy` value above all) is replaced by `***`, the user name is kept. True when something
/// was hidden, so the message can say how to pass the password instead.
pub fn redact_command_line(args: &[String]) -> (Vec<String>, bool) {
    let mut hidden = false;
    let out = args
        .iter()
        .map(|arg| {
            let redacted = redact_password_text(arg);
            hidden |= redacted != *arg;
            redacted
        })
        .collect();
    (out, hidden)
}

/// `[--flag=][scheme://]user:password@host...` with the password replaced by `***`. Works on the
/// text, not a parsed URL, so a value the URL parser rejects is redacted too; everything up to
/// the last `@` counts as user information, so an unencoded `/`, `#` or `@` in a password still
/// ends up hidden (a path that happens to hold `:` and `@` loses a little text, which is fine).
fn redact_password_text(arg: &str) -> String {
    let userinfo_start = match arg.find("://") {
        Some(i) => i.saturating_add(3),
        // `--proxy=user:pw@host:port`, or a bare `user:pw@host:port` (HTTPS_PROXY style).
        None if arg.starts_with("--") => arg.find('=').map(|i| i.saturating_add(1)).unwrap_or(0),
        None => 0,
    };
    let Some((head, rest)) = arg.split_at_checked(userinfo_start) else {
        return arg.to_string();
    };
    let Some((userinfo, host)) = rest.rfind('@').and_then(|at| rest.split_at_checked(at)) else {
        return arg.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{head}{user}:***{host}"),
        None => arg.to_string(),
    }
}

/// A URL's text with anything between `://` and `@` replaced, for error messages.
fn redact_url_text(s: &str) -> String {
    match (s.find("://"), s.rfind('@')) {
        (Some(start), Some(at)) if at > start => format!("{}://***@{}", &s[..start], &s[at + 1..]),
        (None, Some(at)) => format!("***@{}", &s[at + 1..]),
        _ => s.to_string(),
    }
}

/// Where the proxy decision came from; reported beside every target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySource {
    Flag,
    Env(String),
    /// `--no-proxy` given: connect directly.
    NoProxyFlag,
    /// A proxy was configured in `var` but `entry` of `NO_PROXY` exempts this target.
    NoProxyEnv {
        var: String,
        entry: String,
    },
    /// GNOME's `org.gnome.system.proxy` in manual mode (`endpoint` None: no HTTPS proxy set).
    /// `read_as`: the user (sudo's invoking user) whose settings these are, when not ours.
    Gnome {
        read_as: Option<String>,
    },
    /// GNOME's `ignore-hosts` entry `entry` exempts this target.
    NoProxyGnome {
        entry: String,
        read_as: Option<String>,
    },
    /// A `*_proxy` line of `/etc/environment`.
    EtcEnvironment(String),
    /// A proxy is set in `/etc/environment` but its `var` entry `entry` exempts this target.
    NoProxyEtcEnvironment {
        var: String,
        entry: String,
    },
    /// KDE, macOS or Windows proxy settings (`proxy::os`): `os` is their id (`kde`, `macos`,
    /// `wininet`, `winhttp`), `settings` their name for people, `note` anything more to say
    /// (empty or a clause).
    Os {
        os: String,
        settings: String,
        note: String,
    },
    /// Those settings' bypass entry `entry` exempts this target.
    NoProxyOs {
        os: String,
        settings: String,
        entry: String,
    },
    /// A PAC file's answer. `from` is `--pac` or `gnome` (auto mode's autoconfig-url); `why`
    /// says which choice and why (failover, or the PAC failing and the run going direct).
    /// A PAC is network-provided configuration: its proxy gets no credentials and goes into
    /// snippets only when `allowed` (it equals an `--allow-proxy` value).
    Pac {
        from: String,
        location: String,
        why: String,
        allowed: bool,
    },
    /// No proxy configured anywhere: direct (transparent interception, or none).
    None,
}

impl fmt::Display for ProxySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySource::Flag => f.write_str("flag"),
            ProxySource::Env(var) => write!(f, "env:{var}"),
            ProxySource::NoProxyFlag => f.write_str("no_proxy_flag"),
            ProxySource::NoProxyEnv { var, .. } => write!(f, "no_proxy_env:{var}"),
            ProxySource::Gnome { .. } => f.write_str("os:gnome"),
            ProxySource::NoProxyGnome { .. } => f.write_str("no_proxy_os:gnome"),
            ProxySource::EtcEnvironment(var) => write!(f, "etc_environment:{var}"),
            ProxySource::NoProxyEtcEnvironment { var, .. } => {
                write!(f, "no_proxy_etc_environment:{var}")
            }
            ProxySource::Os { os, .. } => write!(f, "os:{os}"),
            ProxySource::NoProxyOs { os, .. } => write!(f, "no_proxy_os:{os}"),
            ProxySource::Pac { from, .. } if from == "--pac" => f.write_str("pac:flag"),
            ProxySource::Pac { from, .. } => write!(f, "pac:{from}"),
            ProxySource::None => f.write_str("none"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyChoice {
    pub endpoint: Option<ProxyEndpoint>,
    pub source: ProxySource,
}

impl ProxyChoice {
    /// A sentence for the human report.
    pub fn explain(&self) -> String {
        match (&self.endpoint, &self.source) {
            (Some(p), ProxySource::Flag) => format!("proxy {} (from --proxy)", p.display_url()),
            (Some(p), ProxySource::Env(v)) => format!("proxy {} (from ${v})", p.display_url()),
            (_, ProxySource::NoProxyFlag) => "direct (--no-proxy)".to_string(),
            (_, ProxySource::NoProxyEnv { var, entry }) => {
                format!("direct (${var} entry {} exempts this host)", quoted(entry))
            }
            (Some(p), ProxySource::Gnome { read_as }) => format!(
                "proxy {} (from the GNOME proxy settings{}, manual mode)",
                p.display_url(),
                whose(read_as)
            ),
            (None, ProxySource::Gnome { read_as }) => format!(
                "direct (the GNOME proxy settings{} are in manual mode with no HTTPS proxy)",
                whose(read_as)
            ),
            (_, ProxySource::NoProxyGnome { entry, read_as }) => format!(
                "direct (the GNOME proxy settings'{} ignore-hosts entry {} exempts this host)",
                whose(read_as),
                quoted(entry)
            ),
            (Some(p), ProxySource::EtcEnvironment(v)) => {
                format!("proxy {} (from {v} in /etc/environment)", p.display_url())
            }
            (_, ProxySource::NoProxyEtcEnvironment { var, entry }) => {
                format!(
                    "direct ({var} entry {} in /etc/environment exempts this host)",
                    quoted(entry)
                )
            }
            (Some(p), ProxySource::Os { settings, note, .. }) => {
                format!(
                    "proxy {} (from {settings}{})",
                    p.display_url(),
                    clause(note)
                )
            }
            (None, ProxySource::Os { settings, note, .. }) => {
                format!("direct (from {settings}{})", clause(note))
            }
            (
                _,
                ProxySource::NoProxyOs {
                    settings, entry, ..
                },
            ) => format!(
                "direct ({settings}: bypass entry {} exempts this host)",
                quoted(entry)
            ),
            (
                endpoint,
                ProxySource::Pac {
                    from,
                    location,
                    why,
                    allowed,
                },
            ) => {
                let via = match from.as_str() {
                    "gnome" => {
                        format!("the PAC file {location} from the GNOME proxy settings (auto mode)")
                    }
                    "wpad" if location.is_empty() => {
                        "WPAD (the OS proxy settings say auto-detect)".to_string()
                    }
                    "wpad" => format!(
                        "the PAC file {location} found by WPAD (the OS proxy settings say auto-detect)"
                    ),
                    "wsl" => format!(
                        "the PAC file {location} from $WSL_PAC_URL (WSL's copy of the Windows proxy settings)"
                    ),
                    "--pac" => format!("the PAC file {location} (from {from})"),
                    _ => format!("the PAC file {location} (from the {from} proxy settings)"),
                };
                let route = match endpoint {
                    Some(p) => format!("proxy {}", p.display_url()),
                    None => "direct".to_string(),
                };
                let snippet = match (endpoint, allowed) {
                    (Some(p), false) => format!(
                        "; network-provided, so not written into snippets by install unless you allow it with --allow-proxy {}",
                        p.address()
                    ),
                    _ => String::new(),
                };
                format!("{route} (from {via}: {why}{snippet})")
            }
            _ => "direct (no proxy configured)".to_string(),
        }
    }
}

/// `note` as a trailing clause of a parenthesis, or nothing.
fn clause(note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        format!(": {note}")
    }
}

/// ` of USER (read as USER under sudo, read-only)` for settings read as sudo's invoking user.
fn whose(read_as: &Option<String>) -> String {
    match read_as {
        Some(user) => format!(" of {user} (the user who ran sudo; read as {user}, read-only)"),
        None => String::new(),
    }
}

impl ProxyChoice {
    /// The proxy to write into environment snippets: not one a PAC file (network-provided
    /// configuration) named, unless the person allowed it with `--allow-proxy`.
    pub fn snippet_endpoint(&self) -> Option<&ProxyEndpoint> {
        match &self.source {
            ProxySource::Pac { allowed: false, .. } => None,
            _ => self.endpoint.as_ref(),
        }
    }

    /// Whether proxy credentials may be sent to it: not learned from the network, or vouched
    /// for (an `--allow-proxy` value, or confirmed at the terminal).
    pub fn credentials_allowed(&self) -> bool {
        !matches!(self.source, ProxySource::Pac { allowed: false, .. })
    }

    /// Whether the proxy came from network-provided configuration (a PAC file).
    pub fn network_provided(&self) -> bool {
        matches!(self.source, ProxySource::Pac { .. })
    }
}

/// The proxy configuration as given: explicit flags, and a snapshot of the environment.
#[derive(Debug, Clone, Default)]
pub struct ProxySettings {
    pub flag: Option<ProxyEndpoint>,
    pub no_proxy_flag: bool,
    /// (variable name, endpoint or the parse error) from the first of the proxy variables set.
    pub env_proxy: Option<(String, Result<ProxyEndpoint, ProxyUrlError>)>,
    pub no_proxy: Option<(String, String)>,
    /// `--proxy-user` with its password: replaces whatever credentials the chosen proxy URL
    /// carries, so the password never has to be on a command line.
    pub credentials: Option<Credentials>,
    /// Choices made up front by `proxy::resolve` (flags, environment, OS settings, PAC), one per
    /// target: when a target is listed here, [`ProxySettings::choose`] answers with it, so
    /// discover never reads OS settings or runs a PAC file itself.
    pub resolved: Vec<(Target, ProxyChoice)>,
    /// `NO_PROXY` for the snippets, translated from the bypass list of the OS source that chose
    /// the proxy; `None`: the environment's `NO_PROXY` is used as it is.
    pub no_proxy_translation: Option<crate::proxy::bypass::NoProxyTranslation>,
}

/// Where `--proxy-user` takes the password from when no terminal can be asked.
pub const PASSWORD_VAR: &str = trust_proxy_platform::PROXY_PASSWORD_VAR;

/// The environment variables consulted, in precedence order (as the issue and curl use them).
pub const PROXY_VARS: &[&str] = &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
pub const NO_PROXY_VARS: &[&str] = &["NO_PROXY", "no_proxy"];

impl ProxySettings {
    /// Reads the variables through `get`, so tests pass a map instead of mutating the process.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> ProxySettings {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let env_proxy = PROXY_VARS
            .iter()
            .find_map(|name| non_empty(name).map(|v| (name.to_string(), ProxyEndpoint::parse(&v))));
        let no_proxy = NO_PROXY_VARS
            .iter()
            .find_map(|name| non_empty(name).map(|v| (name.to_string(), v)));
        ProxySettings {
            flag: None,
            no_proxy_flag: false,
            env_proxy,
            no_proxy,
            credentials: None,
            resolved: Vec::new(),
            no_proxy_translation: None,
        }
    }

    /// Whether any proxy is configured at all (flag or environment), bypass lists aside.
    pub fn has_proxy(&self) -> bool {
        !self.no_proxy_flag && (self.flag.is_some() || self.env_proxy.is_some())
    }

    fn with_credentials(&self, mut endpoint: ProxyEndpoint) -> ProxyEndpoint {
        if let Some(c) = &self.credentials {
            endpoint.credentials = Some(c.clone());
        }
        endpoint
    }

    /// The proxy for `target`. An unparsable environment proxy is an error (the user's tools fail
    /// on it too), not a silent fallback to direct.
    pub fn choose(&self, target: &Target) -> Result<ProxyChoice, ProxyUrlError> {
        if let Some((_, choice)) = self.resolved.iter().find(|(t, _)| t == target) {
            let mut choice = choice.clone();
            if choice.credentials_allowed() {
                choice.endpoint = choice.endpoint.map(|e| self.with_credentials(e));
            }
            return Ok(choice);
        }
        if self.no_proxy_flag {
            return Ok(ProxyChoice {
                endpoint: None,
                source: ProxySource::NoProxyFlag,
            });
        }
        if let Some(p) = &self.flag {
            return Ok(ProxyChoice {
                endpoint: Some(self.with_credentials(p.clone())),
                source: ProxySource::Flag,
            });
        }
        if let Some((var, parsed)) = &self.env_proxy {
            let endpoint = parsed.clone()?;
            if let Some((np_var, list)) = &self.no_proxy {
                if let Some(entry) = no_proxy_match(list, target) {
                    return Ok(ProxyChoice {
                        endpoint: None,
                        source: ProxySource::NoProxyEnv {
                            var: np_var.clone(),
                            entry,
                        },
                    });
                }
            }
            return Ok(ProxyChoice {
                endpoint: Some(self.with_credentials(endpoint)),
                source: ProxySource::Env(var.clone()),
            });
        }
        Ok(ProxyChoice {
            endpoint: None,
            source: ProxySource::None,
        })
    }
}

/// The `NO_PROXY` entry that exempts `target`, if any. Entries are separated by commas or
/// white space; each is `*`, a domain (`example.com`, `.example.com`, `*.example.com`, matching
/// the domain and its subdomains), an IP literal, or a CIDR block, optionally with `:port`.
pub fn no_proxy_match(list: &str, target: &Target) -> Option<String> {
    let host = target.host.trim_end_matches('.');
    let host_ip: Option<IpAddr> = host.parse().ok();
    for raw in list.split([',', ' ', '\t', '\n']) {
        let entry = raw.trim();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return Some(entry.to_string());
        }
        let (pattern, port) = split_entry_port(entry);
        if port.is_some_and(|p| p != target.port) {
            continue;
        }
        let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
        if let Some(ip) = host_ip {
            if let Ok(net) = pattern.parse::<IpNet>() {
                if net.contains(&ip) {
                    return Some(entry.to_string());
                }
                continue;
            }
            if pattern.parse::<IpAddr>().is_ok_and(|p| p == ip) {
                return Some(entry.to_string());
            }
            continue;
        }
        let domain = pattern
            .strip_prefix("*.")
            .or_else(|| pattern.strip_prefix('.'))
            .unwrap_or(&pattern);
        if domain.is_empty() {
            continue;
        }
        if host == domain
            || (host.len() > domain.len()
                && host.ends_with(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
        {
            return Some(entry.to_string());
        }
    }
    None
}

/// Splits `host:port`, `[v6]:port`; a bare IPv6 literal or CIDR keeps its colons.
fn split_entry_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((h, tail)) = rest.split_once(']') {
            return (h, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    if entry.matches(':').count() == 1 {
        if let Some((h, p)) = entry.split_once(':') {
            if let Ok(port) = p.parse() {
                return (h, Some(port));
            }
        }
    }
    (entry, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn target(s: &str) -> Target {
        Target::parse(s).unwrap()
    }

    #[test]
    fn parses_proxy_urls() {
        let p = ProxyEndpoint::parse("http://alice:p%40ss%3Aw@proxy.corp:3128").unwrap();
        assert_eq!(p.scheme, ProxyScheme::Http);
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        let c = p.credentials.clone().unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "p@ss:w"));
        assert_eq!(p.display_url(), "http://alice@proxy.corp:3128");
        assert!(!format!("{p:?}").contains("p@ss"));

        let p = ProxyEndpoint::parse("proxy.corp:8080").unwrap();
        assert_eq!((p.scheme, p.port), (ProxyScheme::Http, 8080));
        assert_eq!(ProxyEndpoint::parse("http://proxy").unwrap().port, 1080);
        assert_eq!(ProxyEndpoint::parse("https://proxy").unwrap().port, 443);
        let v6 = ProxyEndpoint::parse("http://[::1]:3128").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.display_url(), "http://[::1]:3128");

        let err = ProxyEndpoint::parse("socks5://bob:secret@h:1").unwrap_err();
        assert!(matches!(err, ProxyUrlError::Scheme(..)));
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn command_lines_lose_passwords() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (out, hidden) = redact_command_line(&args(&[
            "install",
            "--proxy",
            "http://alice:s3cr%40t@proxy.corp:3128/",
            "--proxy=https://bob:pw@p:1",
            "carol:hunter2@p:8080",
            "--ca-file",
            "/tmp/x@y.pem",
            "http://dave@p:1",
            "http://eve:p/w#x@p:1",
        ]));
        assert!(hidden);
        assert_eq!(
            out,
            args(&[
                "install",
                "--proxy",
                "http://alice:***@proxy.corp:3128/",
                "--proxy=https://bob:***@p:1",
                "carol:***@p:8080",
                "--ca-file",
                "/tmp/x@y.pem",
                "http://dave@p:1",
                "http://eve:***@p:1",
            ])
        );
        let (_, hidden) = redact_command_line(&args(&["install", "--proxy", "http://p:1"]));
        assert!(!hidden);
    }

    #[test]
    fn proxy_user_replaces_url_credentials() {
        let mut s = ProxySettings::from_env(|k| {
            (k == "HTTPS_PROXY").then(|| "http://old:oldpw@envproxy:3128".to_string())
        });
        s.credentials = Some(Credentials::new("alice".into(), "pw".into()));
        let e = s.choose(&target("x.org")).unwrap().endpoint.unwrap();
        assert_eq!(e.credentials, s.credentials);
        assert_eq!(e.host, "envproxy");
        s.flag = Some(ProxyEndpoint::parse("http://flagproxy:1").unwrap());
        let e = s.choose(&target("x.org")).unwrap().endpoint.unwrap();
        assert_eq!(
            (e.host.as_str(), e.credentials),
            ("flagproxy", s.credentials.clone())
        );
    }

    #[test]
    fn no_proxy_forms() {
        let t = target("pypi.org");
        assert!(no_proxy_match("*", &t).is_some());
        assert_eq!(
            no_proxy_match("foo, pypi.org", &t).as_deref(),
            Some("pypi.org")
        );
        assert!(no_proxy_match(".pypi.org", &t).is_some());
        assert!(no_proxy_match("org", &t).is_some());
        assert!(no_proxy_match("i.org", &t).is_none());
        assert!(no_proxy_match("*.pypi.org", &target("files.pypi.org")).is_some());
        assert!(no_proxy_match("PYPI.ORG.", &t).is_some());
        assert!(no_proxy_match("pypi.org:8443", &t).is_none());
        assert!(no_proxy_match("pypi.org:443", &t).is_some());
        assert!(no_proxy_match("10.0.0.0/8", &target("10.1.2.3")).is_some());
        assert!(no_proxy_match("10.0.0.0/8", &target("11.1.2.3")).is_none());
        assert!(no_proxy_match("10.1.2.3", &target("10.1.2.3:8443")).is_some());
        assert!(no_proxy_match("::1", &target("[::1]:443")).is_some());
        assert!(no_proxy_match("[::1]:443", &target("[::1]:443")).is_some());
        assert!(no_proxy_match("fd00::/8", &target("[fd12::1]")).is_some());
        assert!(no_proxy_match("10.0.0.0/8", &target("ten.example")).is_none());
        assert!(no_proxy_match("", &t).is_none());
    }

    #[test]
    fn precedence() {
        let env: HashMap<&str, &str> = [
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
            ("ALL_PROXY", "http://all:3"),
            ("no_proxy", "internal.corp"),
        ]
        .into();
        let mut s = ProxySettings::from_env(|k| env.get(k).map(|v| v.to_string()));
        let c = s.choose(&target("pypi.org")).unwrap();
        assert_eq!(c.endpoint.unwrap().host, "upper");
        assert_eq!(c.source, ProxySource::Env("HTTPS_PROXY".into()));
        let c = s.choose(&target("git.internal.corp")).unwrap();
        assert!(c.endpoint.is_none());
        assert_eq!(c.source.to_string(), "no_proxy_env:no_proxy");

        s.flag = Some(ProxyEndpoint::parse("http://flag:9").unwrap());
        let c = s.choose(&target("git.internal.corp")).unwrap();
        assert_eq!(c.source, ProxySource::Flag);
        s.no_proxy_flag = true;
        assert_eq!(
            s.choose(&target("x.org")).unwrap().source,
            ProxySource::NoProxyFlag
        );

        let empty = ProxySettings::from_env(|k| (k == "HTTPS_PROXY").then(|| "  ".to_string()));
        assert_eq!(
            empty.choose(&target("x.org")).unwrap().source,
            ProxySource::None
        );

        let bad = ProxySettings::from_env(|k| (k == "ALL_PROXY").then(|| "ftp://x".to_string()));
        assert!(bad.choose(&target("x.org")).is_err());
    }
}
