//! The PAC helpers that do real work outside JavaScript: name lookups (through a [`Resolver`],
//! each bounded in time and cached for the life of one engine), address and prefix tests, and
//! `shExpMatch`. Plain functions over strings and addresses, so they are tested without an
//! engine; `pac.rs` binds them into the sandbox. The helpers that only read the clock
//! (`weekdayRange`, `dateRange`, `timeRange`) are JavaScript in `prelude.js`, where the engine's
//! `Date` already knows the local time zone.

use crate::discover::deadline::Deadline;
use crate::discover::tunnel;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Mutex;
use std::time::Duration;

/// Name resolution as the PAC helpers see it. A trait so the corpus tests run on a table and
/// the real one can be replaced where the OS resolver is not what the browser uses.
pub trait Resolver: Send + Sync {
    /// Every address of `host`, in the resolver's order, waiting at most `timeout`. Empty when
    /// the name does not resolve or the time ran out: PAC scripts only ever ask "does it
    /// resolve, and to what", so the reason is not theirs to see.
    fn lookup(&self, host: &str, timeout: Duration) -> Vec<IpAddr>;

    /// The addresses `myIpAddress` and `myIpAddressEx` report.
    fn local_addresses(&self) -> Vec<IpAddr>;
}

/// The OS resolver (`getaddrinfo` through std's `ToSocketAddrs`, on its own thread so a stuck
/// lookup is abandoned at the deadline), and the addresses of the interfaces the routing
/// table would use.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

/// RFC 1035's limit; longer input is not a name and never reaches `getaddrinfo`.
const MAX_NAME: usize = 253;

impl Resolver for SystemResolver {
    fn lookup(&self, host: &str, timeout: Duration) -> Vec<IpAddr> {
        if !plausible_name(host) {
            return Vec::new();
        }
        match tunnel::resolve(host, 0, Deadline::after(timeout)) {
            Ok(addrs) => dedup(addrs.iter().map(SocketAddr::ip)),
            Err(_) => Vec::new(),
        }
    }

    fn local_addresses(&self) -> Vec<IpAddr> {
        // Connecting a UDP socket sends nothing: it only asks the routing table which source
        // address would be used, the same answer browsers give. The destinations are
        // documentation addresses (RFC 5737, RFC 3849), which no packet is ever sent to.
        let probe = |bind: IpAddr, to: IpAddr| -> Option<IpAddr> {
            let socket = UdpSocket::bind(SocketAddr::new(bind, 0)).ok()?;
            socket.connect(SocketAddr::new(to, 9)).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_unspecified()).then_some(ip)
        };
        let mut out = Vec::new();
        if let Some(ip) = probe(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        ) {
            out.push(ip);
        }
        if let Some(ip) = probe(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        ) {
            out.push(ip);
        }
        if out.iter().all(IpAddr::is_ipv6) {
            // No IPv4 route: what browsers return then.
            out.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        out
    }
}

/// Letters, digits, `-`, `_` and dots, at most 253 bytes: anything else is not a host name
/// (an IP literal is answered without a lookup before this).
fn plausible_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= MAX_NAME
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn dedup(addrs: impl Iterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// A resolver with a per-engine cache (browsers cache too, and a PAC file often asks for the
/// same host several times) and a bound on each lookup.
pub struct CachedResolver {
    inner: std::sync::Arc<dyn Resolver>,
    cache: Mutex<HashMap<String, Vec<IpAddr>>>,
    local: Mutex<Option<Vec<IpAddr>>>,
}

/// A PAC file asking for more distinct names than this in one engine is not routing traffic;
/// further names are answered "does not resolve" without a lookup.
pub const MAX_CACHED_NAMES: usize = 4096;

impl CachedResolver {
    pub fn new(inner: std::sync::Arc<dyn Resolver>) -> CachedResolver {
        CachedResolver {
            inner,
            cache: Mutex::new(HashMap::new()),
            local: Mutex::new(None),
        }
    }

    /// Addresses of `host`: an IP literal is its own answer; otherwise the resolver, waiting
    /// at most `timeout` (zero: no lookup at all).
    pub fn addresses(&self, host: &str, timeout: Duration) -> Vec<IpAddr> {
        if let Some(ip) = parse_ip(host) {
            return vec![ip];
        }
        let key = host.to_ascii_lowercase();
        let Ok(mut cache) = self.cache.lock() else {
            return Vec::new();
        };
        if let Some(hit) = cache.get(&key) {
            return hit.clone();
        }
        if timeout.is_zero() || cache.len() >= MAX_CACHED_NAMES {
            return Vec::new();
        }
        let found = self.inner.lookup(&key, timeout);
        cache.insert(key, found.clone());
        found
    }

    pub fn local_addresses(&self) -> Vec<IpAddr> {
        let Ok(mut local) = self.local.lock() else {
            return Vec::new();
        };
        local
            .get_or_insert_with(|| self.inner.local_addresses())
            .clone()
    }
}

/// An IP literal as PAC scripts write them: dotted IPv4, IPv6 with or without brackets.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse().ok()
}

pub fn first_v4(addrs: &[IpAddr]) -> Option<Ipv4Addr> {
    addrs.iter().find_map(|a| match a {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    })
}

/// `"a;b;c"` as the Ex helpers return lists.
pub fn join_addresses(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

/// `isInNet(host, pattern, mask)`: the host's IPv4 address (resolved when it is a name) masked
/// equals the pattern masked. A pattern or mask that is not dotted IPv4 never matches.
pub fn is_in_net(host_addr: Option<Ipv4Addr>, pattern: &str, mask: &str) -> bool {
    let (Some(ip), Ok(pattern), Ok(mask)) = (
        host_addr,
        pattern.trim().parse::<Ipv4Addr>(),
        mask.trim().parse::<Ipv4Addr>(),
    ) else {
        return false;
    };
    let mask = u32::from(mask);
    u32::from(ip) & mask == u32::from(pattern) & mask
}

/// `isInNetEx(addresses, prefix)`: any of the addresses inside `prefix` (`10.0.0.0/8`,
/// `fd00::/8`; a bare address is a single host). Families never match across, and a prefix
/// that does not parse is false, as Microsoft's definition says.
pub fn is_in_net_ex(addrs: &[IpAddr], prefix: &str) -> bool {
    let prefix = prefix.trim();
    let net: Option<ipnet::IpNet> = prefix
        .parse()
        .ok()
        .or_else(|| parse_ip(prefix).map(ipnet::IpNet::from));
    let Some(net) = net else {
        return false;
    };
    addrs.iter().any(|a| net.contains(a))
}

/// `sortIpAddressList("a;b")`: IPv6 first, then IPv4, each ascending (Microsoft's order, the
/// one getaddrinfo prefers). `None` when an entry is not an address (the script sees `false`).
pub fn sort_ip_list(list: &str) -> Option<String> {
    let mut addrs = Vec::new();
    for entry in list.split(';') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        addrs.push(parse_ip(entry)?);
    }
    if addrs.is_empty() {
        return None;
    }
    addrs.sort_by_key(|a| match a {
        IpAddr::V6(v6) => (0u8, v6.octets()),
        IpAddr::V4(v4) => (1u8, v4.to_ipv6_mapped().octets()),
    });
    Some(join_addresses(&addrs))
}

/// `shExpMatch` arguments longer than this are refused (a RangeError in the script): the match
/// is native code the time bound cannot interrupt, so its input must be bounded instead. Host
/// names are at most 253 bytes and the URLs trust-proxy asks about far shorter than this.
pub const MAX_SHEXP_INPUT: usize = 8 * 1024;

/// Address lists (`isInNetEx`, `sortIpAddressList`) longer than this are refused the same way:
/// parsing and sorting them is native work, and a real list is a handful of addresses.
pub const MAX_ADDRESS_LIST: usize = 16 * 1024;

/// `shExpMatch(text, pattern)`: the whole text against a shell pattern where `*` is any run of
/// characters and `?` exactly one; everything else is literal and case matters, as in
/// browsers. The classic two-pointer glob walk: linear in practice, at most
/// `text.len() * pattern.len()` steps, which [`MAX_SHEXP_INPUT`] bounds.
pub fn sh_exp_match(text: &str, pattern: &str) -> bool {
    // Host names and URLs are ASCII: match bytes without collecting characters.
    if text.is_ascii() && pattern.is_ascii() {
        glob(text.as_bytes(), pattern.as_bytes(), b'*', b'?')
    } else {
        let text: Vec<char> = text.chars().collect();
        let pattern: Vec<char> = pattern.chars().collect();
        glob(&text, &pattern, '*', '?')
    }
}

fn glob<T: PartialEq + Copy>(text: &[T], pattern: &[T], star: T, any: T) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    // Where the last `*` was and which text position it currently swallows up to.
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(c) if *c == star => {
                last_star = Some((p, t));
                p = p.saturating_add(1);
            }
            Some(c) if *c == any || Some(c) == text.get(t) => {
                t = t.saturating_add(1);
                p = p.saturating_add(1);
            }
            _ => match last_star {
                Some((star_p, star_t)) => {
                    let next_t = star_t.saturating_add(1);
                    last_star = Some((star_p, next_t));
                    p = star_p.saturating_add(1);
                    t = next_t;
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|c| *c == star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_patterns() {
        assert!(sh_exp_match("www.corp.example", "*.corp.example"));
        assert!(!sh_exp_match("corp.example", "*.corp.example"));
        assert!(sh_exp_match("a.b", "a?b"));
        assert!(!sh_exp_match("a..b", "a?b"));
        assert!(sh_exp_match("http://x/y/z", "http://*/*"));
        assert!(sh_exp_match("", "*"));
        assert!(!sh_exp_match("", "?"));
        assert!(sh_exp_match("abcabcabd", "*abd"));
        assert!(!sh_exp_match("ABC", "abc"));
        assert!(sh_exp_match("x[1]", "x[1]"));
        assert!(sh_exp_match(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "a*a*a*a*a*a*a*b"
        ));
        assert!(!sh_exp_match(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "a*a*a*a*a*a*a*b"
        ));
    }

    #[test]
    fn non_ascii_is_matched_by_characters() {
        // `?` is one character, not one byte.
        assert!(sh_exp_match("bücher.example", "b?cher.*"));
        assert!(!sh_exp_match("bücher.example", "b??cher.*"));
    }

    #[test]
    fn nets_and_lists() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().ok();
        assert!(is_in_net(ip("10.1.2.3"), "10.0.0.0", "255.0.0.0"));
        assert!(!is_in_net(ip("11.1.2.3"), "10.0.0.0", "255.0.0.0"));
        assert!(is_in_net(ip("172.20.0.1"), "172.16.0.0", "255.240.0.0"));
        assert!(!is_in_net(ip("10.1.2.3"), "10.0.0.0", "not a mask"));
        assert!(!is_in_net(None, "10.0.0.0", "255.0.0.0"));

        let addrs = [parse_ip("fd12::1").unwrap(), parse_ip("10.9.9.9").unwrap()];
        assert!(is_in_net_ex(&addrs, "fd00::/8"));
        assert!(is_in_net_ex(&addrs, "10.0.0.0/8"));
        assert!(is_in_net_ex(&addrs, "10.9.9.9"));
        assert!(!is_in_net_ex(&addrs, "192.168.0.0/16"));
        assert!(!is_in_net_ex(&addrs, "3ffe:8311:ffff/48"));

        assert_eq!(
            sort_ip_list("10.0.0.2; 2001:db8::1;10.0.0.1;::1").as_deref(),
            Some("::1;2001:db8::1;10.0.0.1;10.0.0.2")
        );
        assert_eq!(sort_ip_list("10.0.0.1;bogus"), None);
        assert_eq!(sort_ip_list(""), None);
    }

    #[test]
    fn the_system_resolver_answers_from_this_machine() {
        // localhost comes from the hosts file: no DNS traffic.
        let found = SystemResolver.lookup("localhost", Duration::from_secs(2));
        assert!(found.iter().any(IpAddr::is_loopback), "{found:?}");
        assert!(SystemResolver
            .lookup("not a name", Duration::from_secs(2))
            .is_empty());
        // At least the loopback fallback; routing-table answers need no packet.
        assert!(!SystemResolver.local_addresses().is_empty());
    }

    #[test]
    fn names_that_are_not_names_are_not_looked_up() {
        assert!(plausible_name("proxy.corp.example"));
        for bad in ["", "a b", "x\0y", "a/b", &"a".repeat(254)] {
            assert!(!plausible_name(bad), "{bad:?}");
        }
    }
}
