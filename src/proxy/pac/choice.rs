//! The string `FindProxyForURL` returns (`PROXY a:8080; HTTPS h:443; SOCKS5 s:1080; DIRECT`)
//! as an ordered list of typed choices, and failover over that list.
//!
//! Keywords are matched without regard to case, as browsers do: `DIRECT`; `PROXY` and its
//! alias `HTTP` (an HTTP proxy, default port 80); `HTTPS` (TLS to the proxy, default 443);
//! `SOCKS` (SOCKS4 in the Netscape definition), `SOCKS4`, `SOCKS5` (default 1080). Empty entries
//! (`"PROXY a:1;;"`, a trailing `;`) are skipped. Anything else is an error that quotes the entry
//! escaped for a terminal: a result trust-proxy cannot read is never guessed at.

use crate::discover::proxy::{ProxyEndpoint, ProxyScheme};
use crate::terminal_text::printable;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PacChoice {
    Direct,
    /// `PROXY host:port` (or `HTTP host:port`).
    Http {
        host: String,
        port: u16,
    },
    /// `HTTPS host:port`: TLS to the proxy itself.
    Https {
        host: String,
        port: u16,
    },
    /// `SOCKS`/`SOCKS4` (version 4) or `SOCKS5`.
    Socks {
        version: u8,
        host: String,
        port: u16,
    },
}

impl fmt::Display for PacChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authority = |host: &str, port: u16| {
            if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        };
        match self {
            PacChoice::Direct => f.write_str("DIRECT"),
            PacChoice::Http { host, port } => write!(f, "PROXY {}", authority(host, *port)),
            PacChoice::Https { host, port } => write!(f, "HTTPS {}", authority(host, *port)),
            PacChoice::Socks {
                version: 4,
                host,
                port,
            } => write!(f, "SOCKS4 {}", authority(host, *port)),
            PacChoice::Socks { host, port, .. } => write!(f, "SOCKS5 {}", authority(host, *port)),
        }
    }
}

impl PacChoice {
    /// Where a "does it answer" check connects: the proxy, or `None` for DIRECT (the target).
    pub fn address(&self) -> Option<(&str, u16)> {
        match self {
            PacChoice::Direct => None,
            PacChoice::Http { host, port }
            | PacChoice::Https { host, port }
            | PacChoice::Socks { host, port, .. } => Some((host.as_str(), *port)),
        }
    }

    /// The proxy as discover reaches it. `Ok(None)` is DIRECT; SOCKS is an error because
    /// discover speaks HTTP CONNECT only.
    pub fn endpoint(&self) -> Result<Option<ProxyEndpoint>, ChoiceError> {
        let endpoint = |scheme, host: &str, port| ProxyEndpoint {
            scheme,
            host: host.to_string(),
            port,
            credentials: None,
        };
        match self {
            PacChoice::Direct => Ok(None),
            PacChoice::Http { host, port } => Ok(Some(endpoint(ProxyScheme::Http, host, *port))),
            PacChoice::Https { host, port } => Ok(Some(endpoint(ProxyScheme::Https, host, *port))),
            PacChoice::Socks { .. } => Err(ChoiceError::Unsupported {
                entry: self.to_string(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("the PAC result is empty")]
    Empty,
    #[error("unknown entry {} in the PAC result (expected DIRECT, PROXY, HTTP, HTTPS, SOCKS, SOCKS4 or SOCKS5)", crate::terminal_text::quoted(entry))]
    UnknownKeyword { entry: String },
    #[error(
        "malformed entry {} in the PAC result: {reason}",
        crate::terminal_text::quoted(entry)
    )]
    Malformed { entry: String, reason: &'static str },
    #[error("{entry} is a SOCKS proxy, which trust-proxy cannot use (it speaks HTTP CONNECT)")]
    Unsupported { entry: String },
}

/// The entries of a PAC result, in order.
pub fn parse_result(result: &str) -> Result<Vec<PacChoice>, ChoiceError> {
    let mut choices = Vec::new();
    for entry in result.split(';') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        choices.push(parse_entry(entry)?);
    }
    if choices.is_empty() {
        return Err(ChoiceError::Empty);
    }
    Ok(choices)
}

fn parse_entry(entry: &str) -> Result<PacChoice, ChoiceError> {
    let malformed = |reason| ChoiceError::Malformed {
        entry: printable(entry),
        reason,
    };
    let mut words = entry.split_ascii_whitespace();
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    let address = words.next();
    if words.next().is_some() {
        return Err(malformed("more than a keyword and one address"));
    }
    let (default_port, make): (u16, fn(String, u16) -> PacChoice) = match keyword.as_str() {
        "DIRECT" => {
            return match address {
                None => Ok(PacChoice::Direct),
                Some(_) => Err(malformed("DIRECT takes no address")),
            }
        }
        "PROXY" | "HTTP" => (80, |host, port| PacChoice::Http { host, port }),
        "HTTPS" => (443, |host, port| PacChoice::Https { host, port }),
        "SOCKS" | "SOCKS4" => (1080, |host, port| PacChoice::Socks {
            version: 4,
            host,
            port,
        }),
        "SOCKS5" => (1080, |host, port| PacChoice::Socks {
            version: 5,
            host,
            port,
        }),
        _ => {
            return Err(ChoiceError::UnknownKeyword {
                entry: printable(entry),
            })
        }
    };
    let address = address.ok_or_else(|| malformed("no host:port after the keyword"))?;
    let (host, port) = split_host_port(address).map_err(malformed)?;
    Ok(make(host, port.unwrap_or(default_port)))
}

/// `host`, `host:port`, `[v6]:port`, `v4:port`; the host must be a name or an IP literal.
fn split_host_port(address: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (v6, tail) = rest.split_once(']').ok_or("unclosed [ in the address")?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| "not an IPv6 address in brackets")?;
        let port = match tail {
            "" => None,
            t => Some(
                t.strip_prefix(':')
                    .ok_or("junk after the ] of the address")?,
            ),
        };
        (v6.to_string(), port)
    } else {
        match address.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h.to_string(), Some(p)),
            Some(_) => return Err("an IPv6 address must be in brackets"),
            None => (address.to_string(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err("port out of range"),
                Ok(n) => Some(n),
            }
        }
        Some(_) => return Err("port is not a number"),
    };
    let valid_name = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if !valid_name {
        return Err("not a host name or IP address");
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// One "does it answer" check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub choice: PacChoice,
    pub answered: bool,
    /// What the check saw (an error, or a short success note).
    pub detail: String,
}

/// The choices tried, in order, until one answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failover {
    /// Index into the choice list of the first that answered.
    pub chosen: Option<usize>,
    pub attempts: Vec<Attempt>,
}

impl Failover {
    pub fn chosen_choice(&self) -> Option<&PacChoice> {
        self.chosen
            .and_then(|i| self.attempts.get(i))
            .map(|a| &a.choice)
    }

    /// Why this choice, as one sentence.
    pub fn reason(&self) -> String {
        let failed: Vec<String> = self
            .attempts
            .iter()
            .filter(|a| !a.answered)
            .map(|a| format!("{} ({})", a.choice, printable(&a.detail)))
            .collect();
        match (self.chosen_choice(), failed.is_empty()) {
            (Some(c), true) => format!("{c} is the PAC file's first choice and it answered"),
            (Some(c), false) => format!(
                "{c} answered after the earlier choices did not: {}",
                failed.join("; ")
            ),
            (None, _) => format!("no choice answered: {}", failed.join("; ")),
        }
    }
}

/// Tries `choices` in order, stopping at the first for which `answers` says yes (`Ok` with a
/// note) and recording why each earlier one was passed over (`Err` with the reason).
pub fn failover(
    choices: &[PacChoice],
    mut answers: impl FnMut(&PacChoice) -> Result<String, String>,
) -> Failover {
    let mut attempts = Vec::new();
    for choice in choices {
        let outcome = answers(choice);
        let answered = outcome.is_ok();
        attempts.push(Attempt {
            choice: choice.clone(),
            answered,
            detail: match outcome {
                Ok(note) | Err(note) => note,
            },
        });
        if answered {
            return Failover {
                chosen: Some(attempts.len().saturating_sub(1)),
                attempts,
            };
        }
    }
    Failover {
        chosen: None,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(host: &str, port: u16) -> PacChoice {
        PacChoice::Http {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_every_form() {
        let got = parse_result(
            "PROXY a:8080; proxy B.corp:3128;HTTP c; HTTPS h:443; SOCKS x:1; socks5 [::1]:1080; DIRECT;",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                http("a", 8080),
                http("b.corp", 3128),
                http("c", 80),
                PacChoice::Https {
                    host: "h".into(),
                    port: 443
                },
                PacChoice::Socks {
                    version: 4,
                    host: "x".into(),
                    port: 1
                },
                PacChoice::Socks {
                    version: 5,
                    host: "::1".into(),
                    port: 1080
                },
                PacChoice::Direct,
            ]
        );
        assert_eq!(got[5].to_string(), "SOCKS5 [::1]:1080");
        assert_eq!(parse_result("  DIRECT  ").unwrap(), vec![PacChoice::Direct]);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(parse_result(""), Err(ChoiceError::Empty));
        assert_eq!(parse_result(" ; ;"), Err(ChoiceError::Empty));
        for bad in [
            "PROXY",
            "PROXY a:b",
            "PROXY a:0",
            "PROXY a:65536",
            "PROXY a:1 b:2",
            "PROXY ::1:80",
            "PROXY [::1",
            "PROXY [zz]:1",
            "PROXY a/b:1",
            "DIRECT a:1",
        ] {
            assert!(
                matches!(parse_result(bad), Err(ChoiceError::Malformed { .. })),
                "{bad}"
            );
        }
        let err = parse_result("PROXY a:1; QUIC q:443").unwrap_err();
        assert!(matches!(err, ChoiceError::UnknownKeyword { .. }));
        // The entry is quoted escaped: no raw escape sequence reaches a terminal.
        let err = parse_result("\u{1b}]0;pwned\u{7}PROXY a:1").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
    }

    #[test]
    fn failover_stops_at_the_first_answer() {
        let choices = parse_result("PROXY down:1; PROXY up:2; DIRECT").unwrap();
        let mut asked = Vec::new();
        let result = failover(&choices, |c| {
            asked.push(c.clone());
            match c {
                PacChoice::Http { host, .. } if host == "up" => Ok("connected".into()),
                _ => Err("refused".into()),
            }
        });
        assert_eq!(asked, choices[..2].to_vec());
        assert_eq!(result.chosen, Some(1));
        assert_eq!(result.chosen_choice(), Some(&http("up", 2)));
        assert!(
            result.reason().contains("PROXY down:1 (refused)"),
            "{}",
            result.reason()
        );

        let none = failover(&choices, |_| Err("no".into()));
        assert_eq!(none.chosen, None);
        assert_eq!(none.attempts.len(), 3);
    }
}
