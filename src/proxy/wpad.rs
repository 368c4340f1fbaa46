//! WPAD, the Web Proxy Auto-Discovery browsers run when the OS says "detect the proxy
//! automatically" (GNOME mode `auto` with no autoconfig-url; macOS "Auto Proxy Discovery";
//! Windows "Automatically detect settings"): first DHCP option 252 where the OS exposes it
//! ([`dhcp_wpad`](crate::proxy::dhcp_wpad)), then DNS: `http://wpad.<domain>/wpad.dat` for each
//! DNS search domain, walking up one label at a time.
//!
//! **Never above the organisation's registrable domain.** The walk stops at the domain's
//! registrable part according to the Public Suffix List (the `psl2` crate, which embeds the
//! list; Cargo.toml says why not `psl`): for `eng.corp.example.co.uk` it asks `wpad.eng.corp.example.co.uk`,
//! `wpad.corp.example.co.uk` and `wpad.example.co.uk`, never `wpad.co.uk`, whose owner is
//! whoever registered it. A domain under a suffix the list does not know (`corp`, `lan`)
//! follows the list's default rule (the last label is the suffix), so `eng.corp` gives only
//! `wpad.eng.corp`; a search domain that is itself a suffix gives no name at all.
//!
//! **What it yields is network-provided.** Whoever answers a DNS name or a DHCP request on this
//! network chooses the PAC file, so a PAC found here gets exactly the rules of any PAC file: its
//! proxy gets no credentials, goes into snippets only when an `--allow-proxy` value names it,
//! and a root found through it is "network only".
//!
//! **Bounds.** Each lookup goes through a [`Resolver`] (in production the system resolver, i.e.
//! getaddrinfo on its own thread, abandoned at the lookup bound), each fetch through the PAC
//! fetcher (`pac::source`: 1 MiB, the fetch bound), and the whole walk has its own time bound.
//! At most [`MAX_SEARCH_DOMAINS`] search domains and [`MAX_CANDIDATES`] names are asked.

use crate::discover::deadline::Deadline;
use crate::proxy::dhcp_wpad;
use crate::proxy::pac::source::{self, PacText};
use crate::proxy::pac::{Resolver, SystemResolver};
use crate::terminal_text::printable;
use serde::Serialize;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// resolv.conf is a few hundred bytes; a larger one is not read.
const MAX_RESOLV_CONF: u64 = 64 * 1024;

/// glibc used to stop at six search domains; more are not asked about.
pub const MAX_SEARCH_DOMAINS: usize = 8;

/// Names asked in one walk (a search domain many labels deep cannot make it ask forever).
pub const MAX_CANDIDATES: usize = 16;

/// The file name every browser asks for.
pub const WPAD_PATH: &str = "/wpad.dat";

/// RFC 1035's limit for a name.
const MAX_NAME: usize = 253;

#[derive(Debug, Clone, Copy)]
pub struct WpadLimits {
    /// One DNS lookup.
    pub lookup_time: Duration,
    /// One fetch of a `wpad.dat` (redirects included).
    pub fetch_time: Duration,
    /// The whole discovery, DHCP and DNS together.
    pub total_time: Duration,
}

impl Default for WpadLimits {
    fn default() -> WpadLimits {
        WpadLimits {
            lookup_time: Duration::from_secs(2),
            fetch_time: Duration::from_secs(5),
            total_time: Duration::from_secs(15),
        }
    }
}

/// Where DHCP option 252 comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpSource {
    /// This OS's: NetworkManager's lease through `nmcli` (absent: DHCP is not a source here),
    /// WinHTTP on Windows, SystemConfiguration on macOS ([`dhcp_wpad::read`]).
    System,
    /// A URL (or none) known already: what another OS's reader found, or a test.
    Given(Option<String>),
}

/// How auto-detection runs: the system's resolver, `/etc/resolv.conf`, port 80 and the OS's
/// DHCP option 252 in production; tests replace the resolver (names → 127.0.0.1) and the port.
#[derive(Clone)]
pub struct WpadSetup {
    pub resolv_conf: PathBuf,
    /// The search domains when the OS keeps them elsewhere than `resolv_conf` (Windows: the
    /// registry); `None`: read `resolv_conf`.
    pub search_domains: Option<Vec<String>>,
    pub resolver: Arc<dyn Resolver>,
    pub port: u16,
    pub dhcp: DhcpSource,
    pub limits: WpadLimits,
}

impl Default for WpadSetup {
    fn default() -> WpadSetup {
        WpadSetup {
            resolv_conf: PathBuf::from(RESOLV_CONF),
            search_domains: None,
            resolver: Arc::new(SystemResolver),
            port: 80,
            dhcp: DhcpSource::System,
            limits: WpadLimits::default(),
        }
    }
}

impl std::fmt::Debug for WpadSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WpadSetup")
            .field("resolv_conf", &self.resolv_conf)
            .field("port", &self.port)
            .field("dhcp", &self.dhcp)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// How the PAC file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// DHCP option 252.
    Dhcp,
    /// `wpad.<domain>` by DNS.
    Dns,
}

/// One thing asked, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tried {
    /// A DNS name (`wpad.corp.example`), or `DHCP option 252`.
    pub name: String,
    pub answered: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub via: Via,
    /// The name that answered (DNS), or the URL's host (DHCP).
    pub name: String,
    pub url: String,
    pub pac: PacText,
}

/// Everything one discovery did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Discovery {
    pub found: Option<Found>,
    /// In the order asked.
    pub tried: Vec<Tried>,
    /// Search domains that gave no name, with the reason.
    pub skipped: Vec<String>,
}

impl Discovery {
    /// One sentence: what answered, and everything that was asked.
    pub fn summary(&self) -> String {
        let tried: Vec<String> = self
            .tried
            .iter()
            .map(|t| format!("{} ({})", printable(&t.name), printable(&t.detail)))
            .collect();
        let tried = if tried.is_empty() {
            "nothing to ask".to_string()
        } else {
            tried.join(", ")
        };
        let skipped = if self.skipped.is_empty() {
            String::new()
        } else {
            format!("; not asked: {}", self.skipped.join("; "))
        };
        match &self.found {
            Some(found) => format!(
                "found by WPAD ({}): {} answered; tried {tried}{skipped}",
                match found.via {
                    Via::Dhcp => "DHCP option 252",
                    Via::Dns => "DNS",
                },
                printable(&found.name)
            ),
            None => format!("WPAD found no PAC file; tried {tried}{skipped}"),
        }
    }
}

/// Auto-detection as browsers run it: DHCP option 252 first, then the DNS walk over the search
/// domains of `setup.resolv_conf`, all within `setup.limits.total_time`.
pub fn auto_detect(setup: &WpadSetup) -> Discovery {
    let started = Instant::now();
    let mut discovery = Discovery::default();
    let dhcp_url = match &setup.dhcp {
        DhcpSource::Given(url) => url.clone(),
        DhcpSource::System => {
            let not_found = |detail: String| Tried {
                name: "DHCP option 252".to_string(),
                answered: false,
                detail,
            };
            match dhcp_wpad::read(dhcp_wpad::DHCP_DEADLINE) {
                dhcp_wpad::Lease::NotASource => None,
                dhcp_wpad::Lease::Failed(why) => {
                    discovery.tried.push(not_found(why));
                    None
                }
                dhcp_wpad::Lease::NoUrl(how) => {
                    discovery.tried.push(not_found(how));
                    None
                }
                dhcp_wpad::Lease::Url(url) => Some(url),
            }
        }
    };
    if let Some(url) = dhcp_url {
        let left = setup.limits.total_time.saturating_sub(started.elapsed());
        match fetch_dhcp_url(&url, setup.limits.fetch_time.min(left)) {
            Ok(found) => {
                discovery.tried.push(Tried {
                    name: "DHCP option 252".to_string(),
                    answered: true,
                    detail: format!("{} served a PAC file", printable(&url)),
                });
                discovery.found = Some(found);
                return discovery;
            }
            Err(why) => discovery.tried.push(Tried {
                name: "DHCP option 252".to_string(),
                answered: false,
                detail: format!("{}: {why}", printable(&url)),
            }),
        }
    }
    let domains = match &setup.search_domains {
        Some(domains) => domains.clone(),
        None => read_search_domains(&setup.resolv_conf),
    };
    let left = setup.limits.total_time.saturating_sub(started.elapsed());
    let limits = WpadLimits {
        total_time: left,
        ..setup.limits
    };
    let dns = find_pac_url(&domains, setup.resolver.as_ref(), setup.port, &limits);
    discovery.found = dns.found;
    discovery.tried.extend(dns.tried);
    discovery.skipped = dns.skipped;
    discovery
}

fn fetch_dhcp_url(url: &str, bound: Duration) -> Result<Found, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!(
            "scheme {} is not http or https",
            crate::terminal_text::quoted(parsed.scheme())
        ));
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    // The OS roots are not read here: an https WPAD URL is rare, and Mozilla's roots stay.
    let pac = source::load_within(url, &[], Deadline::after(bound)).map_err(|e| e.to_string())?;
    looks_like_pac(&pac)?;
    Ok(Found {
        via: Via::Dhcp,
        name: host,
        url: url.to_string(),
        pac,
    })
}

/// The DNS walk: the entry point for every OS whose settings say "auto-detect", given its DNS
/// search domains (resolv.conf here; what `scutil --dns` or the adapter settings list
/// elsewhere). Asks each candidate name in order; the first that resolves and serves something
/// with a `FindProxyForURL` in it wins.
pub fn find_pac_url(
    domains: &[String],
    resolver: &dyn Resolver,
    port: u16,
    limits: &WpadLimits,
) -> Discovery {
    let started = Instant::now();
    let (names, skipped) = candidate_names(domains);
    let mut discovery = Discovery {
        skipped,
        ..Discovery::default()
    };
    for name in names {
        let left = limits.total_time.saturating_sub(started.elapsed());
        if left.is_zero() {
            discovery.tried.push(Tried {
                name,
                answered: false,
                detail: format!(
                    "not asked: WPAD's bound of {} s ran out",
                    limits.total_time.as_secs()
                ),
            });
            continue;
        }
        let addrs = resolver.lookup(&name, limits.lookup_time.min(left));
        if addrs.is_empty() {
            discovery.tried.push(Tried {
                name,
                answered: false,
                detail: "does not resolve".to_string(),
            });
            continue;
        }
        let url = wpad_url(&name, port);
        let left = limits.total_time.saturating_sub(started.elapsed());
        let sockets: Vec<SocketAddr> = addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        let fetched = url::Url::parse(&url)
            .map_err(|e| e.to_string())
            .and_then(|u| {
                source::fetch_resolved(u, &sockets, Deadline::after(limits.fetch_time.min(left)))
                    .map_err(|e| e.to_string())
            })
            .and_then(|pac| looks_like_pac(&pac).map(|()| pac));
        match fetched {
            Ok(pac) => {
                discovery.tried.push(Tried {
                    name: name.clone(),
                    answered: true,
                    detail: format!("served {url}"),
                });
                discovery.found = Some(Found {
                    via: Via::Dns,
                    name,
                    url,
                    pac,
                });
                return discovery;
            }
            Err(why) => discovery.tried.push(Tried {
                name,
                answered: false,
                detail: format!("resolves, but {why}"),
            }),
        }
    }
    discovery
}

/// A captive portal or a wildcard DNS record answers any name with a web page; only a body
/// that defines the entry point counts as an answer, and the walk goes on otherwise.
fn looks_like_pac(pac: &PacText) -> Result<(), String> {
    if pac.text.contains("FindProxyForURL") {
        Ok(())
    } else {
        Err("what it served has no FindProxyForURL: not a PAC file".to_string())
    }
}

fn wpad_url(name: &str, port: u16) -> String {
    if port == 80 {
        format!("http://{name}{WPAD_PATH}")
    } else {
        format!("http://{name}:{port}{WPAD_PATH}")
    }
}

/// The `wpad.` names for `domains`, in order, each domain walked up to its registrable domain,
/// without repeats; and the domains that gave none, with why.
pub fn candidate_names(domains: &[String]) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    for raw in domains.iter().take(MAX_SEARCH_DOMAINS) {
        let Some(domain) = normalise(raw) else {
            skipped.push(format!(
                "{} is not a DNS domain",
                crate::terminal_text::quoted(raw)
            ));
            continue;
        };
        let Some(registrable) = psl2::lookup(&domain)
            .and_then(|d| d.registrable_domain())
            .map(str::to_string)
        else {
            skipped.push(format!(
                "{domain} has no registrable domain: it is a public suffix (anyone may register under it)"
            ));
            continue;
        };
        let mut current = domain.as_str();
        loop {
            let name = format!("wpad.{current}");
            if !names.contains(&name) && names.len() < MAX_CANDIDATES {
                names.push(name);
            }
            if current == registrable {
                break;
            }
            match current.split_once('.') {
                Some((_, parent)) if parent.len() >= registrable.len() => current = parent,
                _ => break,
            }
        }
    }
    if domains.len() > MAX_SEARCH_DOMAINS {
        skipped.push(format!(
            "search domains after the first {MAX_SEARCH_DOMAINS}"
        ));
    }
    (names, skipped)
}

/// Lower case, no trailing dot, letters/digits/`-`/`_` in labels of 1 to 63 bytes.
fn normalise(raw: &str) -> Option<String> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.len() <= MAX_NAME.saturating_sub("wpad.".len())
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(domain)
}

/// The search list of a resolv.conf: the last `search` or `domain` line wins (resolv.conf(5)),
/// `#` and `;` start comments, keywords are matched at the line start.
pub fn search_domains(text: &str) -> Vec<String> {
    let mut domains = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("search") | Some("domain") => {
                domains = words.map(str::to_string).collect();
            }
            _ => {}
        }
    }
    domains
}

/// [`search_domains`] of the file at `path`; none when it is absent, not a regular file, or
/// larger than any real resolv.conf.
pub fn read_search_domains(path: &Path) -> Vec<String> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file
        .take(MAX_RESOLV_CONF.saturating_add(1))
        .read_to_end(&mut bytes)
        .is_err()
        || bytes.len() as u64 > MAX_RESOLV_CONF
    {
        return Vec::new();
    }
    search_domains(&String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(domains: &[&str]) -> (Vec<String>, Vec<String>) {
        candidate_names(&domains.iter().map(|d| d.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn walk_stops_at_the_registrable_domain() {
        let (n, skipped) = names(&["eng.corp.example.co.uk", "Corp.Example.CO.UK."]);
        assert_eq!(
            n,
            [
                "wpad.eng.corp.example.co.uk",
                "wpad.corp.example.co.uk",
                "wpad.example.co.uk"
            ]
        );
        assert!(skipped.is_empty());
        let (n, _) = names(&["a.b.example.com"]);
        assert_eq!(
            n,
            [
                "wpad.a.b.example.com",
                "wpad.b.example.com",
                "wpad.example.com"
            ]
        );
        // A private-section suffix: each customer's own name is the boundary.
        let (n, _) = names(&["team.someone.github.io"]);
        assert_eq!(n, ["wpad.team.someone.github.io", "wpad.someone.github.io"]);
        // Unknown TLDs fall under the default rule: the last label is the suffix.
        let (n, _) = names(&["eng.corp"]);
        assert_eq!(n, ["wpad.eng.corp"]);
        let (n, skipped) = names(&["co.uk", "corp", "com", "bad domain", "x..y"]);
        assert!(n.is_empty(), "{n:?}");
        assert_eq!(skipped.len(), 5, "{skipped:?}");
    }

    #[test]
    fn resolv_conf_last_search_or_domain_wins() {
        let text = "# generated\nnameserver 10.0.0.1\ndomain old.example\nsearch  eng.corp.example   corp.example # trailing\noptions ndots:2\n";
        assert_eq!(search_domains(text), ["eng.corp.example", "corp.example"]);
        assert_eq!(
            search_domains("search a.example\ndomain b.example\n"),
            ["b.example"]
        );
        assert!(search_domains("nameserver 1.1.1.1\n;search x.example\n").is_empty());
        assert!(search_domains("searchdomain x.example\n").is_empty());
    }
}
