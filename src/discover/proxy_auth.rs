//! What a proxy's 407 says, what trust-proxy can do about it, and what the person can do.
//!
//! Every `Proxy-Authenticate` header of the reply is read (RFC 7235 challenge lists, parsed by
//! `http-auth`; bounded in count and length, since the bytes are hostile), so the report names
//! every scheme the proxy offered, not only the first. trust-proxy answers Basic only: pip, npm,
//! cargo and most command-line tools take a proxy from `HTTPS_PROXY` and can do Basic at most
//! there, so a root found through a Negotiate/NTLM proxy would not help them anyway until a
//! local authenticating proxy (px, cntlm) stands in between, and that is what the report says.
//!
//! One attempt per run: credentials the proxy rejected are not sent again, not for another
//! target, not for the post-install verification. A corporate directory locks an account after
//! a few failures, and five parallel targets with a wrong password would be five failures.
//! [`AttemptLog`] travels with the credentials (every clone shares it) and lets exactly one
//! CONNECT with them go out until the proxy has answered it.

use serde::Serialize;
use std::sync::{Condvar, Mutex};

/// At most this many challenges are kept from one reply; a real proxy offers two or three.
pub const MAX_CHALLENGES: usize = 16;
/// A scheme name or realm is cut to this many characters before it is shown.
const MAX_SHOWN_CHARS: usize = 80;

/// The schemes worth naming; anything else is `Other` and shown by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    Basic,
    Negotiate,
    Ntlm,
    Digest,
    Kerberos,
    Bearer,
    Other,
}

impl AuthScheme {
    fn of(name: &str) -> AuthScheme {
        match name.to_ascii_lowercase().as_str() {
            "basic" => AuthScheme::Basic,
            "negotiate" => AuthScheme::Negotiate,
            "ntlm" => AuthScheme::Ntlm,
            "digest" => AuthScheme::Digest,
            "kerberos" => AuthScheme::Kerberos,
            "bearer" => AuthScheme::Bearer,
            _ => AuthScheme::Other,
        }
    }

    /// Whether trust-proxy can answer it.
    pub fn supported(self) -> bool {
        self == AuthScheme::Basic
    }

    /// The Windows-domain schemes command-line tools cannot do from `HTTPS_PROXY`.
    pub fn needs_local_proxy(self) -> bool {
        matches!(
            self,
            AuthScheme::Negotiate | AuthScheme::Ntlm | AuthScheme::Kerberos
        )
    }
}

/// The schemes trust-proxy answers, as the JSON names them.
pub const SUPPORTED: &[AuthScheme] = &[AuthScheme::Basic];

/// One challenge as the proxy sent it: `name` and `realm` are the peer's text (cut, not yet
/// escaped: the text renderer escapes, JSON keeps them exact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenge {
    pub scheme: AuthScheme,
    pub name: String,
    pub realm: Option<String>,
}

/// A local proxy that authenticates to the corporate proxy itself and offers the tools an
/// unauthenticated `http://127.0.0.1:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LocalAuthProxy {
    pub name: &'static str,
    pub url: &'static str,
    pub schemes: &'static str,
}

pub const LOCAL_AUTH_PROXIES: &[LocalAuthProxy] = &[
    LocalAuthProxy {
        name: "px",
        url: "https://github.com/genotrance/px",
        schemes: "NTLM, Kerberos (Negotiate), Digest, Basic; the logged-in user's Windows or Kerberos credentials, no password stored",
    },
    LocalAuthProxy {
        name: "cntlm",
        url: "https://github.com/versat/cntlm",
        schemes: "NTLM (password hashes in its configuration), Kerberos in recent versions",
    },
];

/// What happened to credentials for this CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsSent {
    /// None were configured.
    None,
    /// They were sent and the proxy answered 407.
    Rejected,
    /// Not sent: the proxy rejected the same credentials earlier in this run.
    Withheld,
}

/// What the person can do, as stable identifiers for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// Basic is offered and nothing was sent: `--proxy-user USER`.
    ProxyUser,
    /// The credentials were rejected: check user and password.
    CheckCredentials,
    /// Negotiate/NTLM (or nothing trust-proxy supports): a local authenticating proxy.
    LocalAuthProxy,
    /// `--ca-file` with the CA IT hands out, which needs no probe through the proxy.
    CaFile,
}

/// A 407: the challenges offered and what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequired {
    pub offered: Vec<Challenge>,
    /// Header values that were not a readable challenge list, cut (not yet escaped).
    pub unreadable: Vec<String>,
    pub credentials: CredentialsSent,
}

/// The `proxy_auth` object of a target in JSON.
#[derive(Debug, Serialize)]
pub struct AuthJson<'a> {
    pub offered: &'a [Challenge],
    pub unreadable: &'a [String],
    pub supported: &'static [AuthScheme],
    pub credentials: CredentialsSent,
    pub advice: Vec<Advice>,
    pub local_auth_proxies: &'static [LocalAuthProxy],
}

impl AuthRequired {
    pub fn basic_offered(&self) -> bool {
        self.offered.iter().any(|c| c.scheme.supported())
    }

    fn local_proxy_helps(&self) -> bool {
        self.offered.iter().any(|c| c.scheme.needs_local_proxy()) || !self.basic_offered()
    }

    pub fn advice(&self) -> Vec<Advice> {
        let mut advice = Vec::new();
        match self.credentials {
            CredentialsSent::None if self.basic_offered() => advice.push(Advice::ProxyUser),
            CredentialsSent::Rejected | CredentialsSent::Withheld => {
                advice.push(Advice::CheckCredentials)
            }
            CredentialsSent::None => {}
        }
        if self.local_proxy_helps() {
            advice.push(Advice::LocalAuthProxy);
        }
        advice.push(Advice::CaFile);
        advice
    }

    pub fn json(&self) -> AuthJson<'_> {
        AuthJson {
            offered: &self.offered,
            unreadable: &self.unreadable,
            supported: SUPPORTED,
            credentials: self.credentials,
            advice: self.advice(),
            local_auth_proxies: if self.local_proxy_helps() {
                LOCAL_AUTH_PROXIES
            } else {
                &[]
            },
        }
    }

    /// The schemes offered, escaped for a terminal: `Negotiate, NTLM, Basic realm "corp"`.
    fn offered_text(&self) -> String {
        let mut parts: Vec<String> = self
            .offered
            .iter()
            .map(|c| match &c.realm {
                Some(realm) => format!("{} realm {}", printable(&c.name), quoted(realm)),
                None => printable(&c.name),
            })
            .collect();
        parts.extend(
            self.unreadable
                .iter()
                .map(|u| format!("an unreadable challenge {}", quoted(u))),
        );
        if parts.is_empty() {
            "no scheme (no Proxy-Authenticate header)".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// The whole explanation, one paragraph, every peer string escaped.
    pub fn message(&self) -> String {
        let offered = self.offered_text();
        let mut text = match self.credentials {
            CredentialsSent::Rejected => format!(
                "the proxy rejected the credentials (407; it offers {offered}; trust-proxy supports Basic): check the user name (--proxy-user or the proxy URL) and the password. They are not sent again in this run, so a wrong password costs one failed login, not one per target"
            ),
            CredentialsSent::Withheld => format!(
                "not tried: the proxy rejected these credentials for another target in this run, and trust-proxy sends them once (407; it offers {offered}); check the user name and the password"
            ),
            CredentialsSent::None if self.basic_offered() => format!(
                "the proxy requires authentication (407; it offers {offered}; trust-proxy supports Basic): pass --proxy-user USER with the password in $TRUST_PROXY_PROXY_PASSWORD, in the OS keyring, or typed at the prompt; credentials in the URL, --proxy http://USER:PASSWORD@HOST:PORT (percent-encode @ : / in them), work too but show in `ps` and shell history"
            ),
            CredentialsSent::None => format!(
                "the proxy requires authentication trust-proxy cannot do (407; it offers {offered}; trust-proxy supports Basic only)"
            ),
        };
        if self.local_proxy_helps() {
            let proxies: Vec<String> = LOCAL_AUTH_PROXIES
                .iter()
                .map(|p| format!("{} ({})", p.name, p.url))
                .collect();
            text.push_str(&format!(
                ". pip, npm, cargo and most command-line tools cannot do Negotiate or NTLM from HTTPS_PROXY either: run a local authenticating proxy, {}, which logs in to this proxy for them; then point HTTPS_PROXY and trust-proxy's --proxy at it (http://127.0.0.1:PORT)",
                proxies.join(" or ")
            ));
        }
        text.push_str("; or pass --ca-file with the CA certificate IT distributes");
        text
    }
}

use crate::terminal_text::{escaped, printable, quoted};

/// The whole explanation once for the human report (the per-target rows are cut short): each
/// different 407 once, the one-attempt refusals folded into the rejection they follow.
pub fn summary_text<'a>(auths: impl Iterator<Item = &'a AuthRequired>) -> String {
    let all: Vec<&AuthRequired> = auths.collect();
    let rejected = all
        .iter()
        .any(|a| a.credentials == CredentialsSent::Rejected);
    let mut messages: Vec<String> = Vec::new();
    for auth in all {
        if rejected && auth.credentials == CredentialsSent::Withheld {
            continue;
        }
        let message = auth.message();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    messages
        .iter()
        .map(|m| format!("\nProxy authentication (407):\n  {}\n", escaped(m)))
        .collect()
}

/// Reads every `Proxy-Authenticate` value; at most [`MAX_CHALLENGES`] challenges in all.
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> AuthRequired {
    let mut offered = Vec::new();
    let mut unreadable = Vec::new();
    for raw in values {
        if offered.len().saturating_add(unreadable.len()) >= MAX_CHALLENGES {
            break;
        }
        let text = String::from_utf8_lossy(raw);
        let before = offered.len();
        let mut failed = false;
        for parsed in http_auth::parser::ChallengeParser::new(text.trim()) {
            match parsed {
                Ok(c) => {
                    if offered.len() >= MAX_CHALLENGES {
                        break;
                    }
                    let realm = c
                        .params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("realm"))
                        .map(|(_, v)| cut(&v.to_unescaped()));
                    offered.push(Challenge {
                        scheme: AuthScheme::of(c.scheme),
                        name: cut(c.scheme),
                        realm,
                    });
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        // The parser refuses token68 (`NTLM TlRM...`) and non-ASCII realms, which real
        // proxies do send: the scheme is still worth naming.
        if failed && offered.len() == before {
            match leading_token(&text) {
                Some(scheme) => offered.push(Challenge {
                    scheme: AuthScheme::of(scheme),
                    name: cut(scheme),
                    realm: None,
                }),
                None => unreadable.push(cut(text.trim())),
            }
        }
    }
    AuthRequired {
        offered,
        unreadable,
        credentials: CredentialsSent::None,
    }
}

/// The scheme name a value begins with, if it is an RFC 7230 token followed by the end, a
/// space or a comma.
fn leading_token(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let end = value.find([' ', ',', '\t']).unwrap_or(value.len());
    let token = value.get(..end)?;
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    (!token.is_empty() && token.chars().all(is_tchar)).then_some(token)
}

fn cut(s: &str) -> String {
    s.chars().take(MAX_SHOWN_CHARS).collect()
}

/// Where a proxy stands with one set of credentials.
#[derive(Debug, Clone)]
enum Attempt {
    /// A CONNECT carrying them is on its way; everyone else waits for its answer.
    InFlight,
    Accepted,
    Rejected(AuthRequired),
}

/// What a CONNECT that wants to carry credentials may do.
#[derive(Debug)]
pub enum Permit {
    Send,
    /// The proxy already said no to them: do not send, report this.
    Rejected(AuthRequired),
    /// Another target's CONNECT is still waiting for the proxy beyond our deadline.
    TimedOut,
}

/// How a CONNECT that carried credentials ended.
#[derive(Debug)]
pub enum Verdict {
    Accepted,
    Rejected(AuthRequired),
    /// No answer about the credentials (connect failed, timed out, closed): the next waiting
    /// target may try.
    Unknown,
}

/// One per set of credentials, shared by all its clones; keyed by proxy `host:port`.
#[derive(Debug, Default)]
pub struct AttemptLog {
    state: Mutex<Vec<(String, Attempt)>>,
    changed: Condvar,
}

impl AttemptLog {
    /// Waits (within `deadline`) while another CONNECT with the same credentials to `proxy` is
    /// unanswered, then says whether to send them.
    pub fn permit(&self, proxy: &str, deadline: crate::discover::deadline::Deadline) -> Permit {
        let Ok(mut state) = self.state.lock() else {
            return Permit::Send;
        };
        loop {
            match state.iter().find(|(p, _)| p == proxy).map(|(_, a)| a) {
                None => {
                    state.push((proxy.to_string(), Attempt::InFlight));
                    return Permit::Send;
                }
                Some(Attempt::Accepted) => return Permit::Send,
                Some(Attempt::Rejected(auth)) => {
                    let mut auth = auth.clone();
                    auth.credentials = CredentialsSent::Withheld;
                    return Permit::Rejected(auth);
                }
                Some(Attempt::InFlight) => {
                    let Ok(left) = deadline.remaining() else {
                        return Permit::TimedOut;
                    };
                    state = match self.changed.wait_timeout(state, left) {
                        Ok((s, _)) => s,
                        Err(_) => return Permit::Send,
                    };
                }
            }
        }
    }

    /// Records how the permitted CONNECT ended and wakes the waiting ones.
    pub fn record(&self, proxy: &str, verdict: Verdict) {
        if let Ok(mut state) = self.state.lock() {
            let position = state.iter().position(|(p, _)| p == proxy);
            match (verdict, position) {
                (Verdict::Accepted, Some(i)) => {
                    if let Some(entry) = state.get_mut(i) {
                        entry.1 = Attempt::Accepted;
                    }
                }
                (Verdict::Rejected(auth), Some(i)) => {
                    if let Some(entry) = state.get_mut(i) {
                        entry.1 = Attempt::Rejected(auth);
                    }
                }
                // Still in flight with no verdict: forget it, so a waiting target tries.
                (Verdict::Unknown, Some(i))
                    if matches!(state.get(i), Some((_, Attempt::InFlight))) =>
                {
                    state.remove(i);
                }
                _ => {}
            }
        }
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::deadline::Deadline;
    use std::sync::Arc;
    use std::time::Duration;

    fn parse(values: &[&str]) -> AuthRequired {
        parse_challenges(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn every_header_and_every_challenge_in_it() {
        let a = parse(&[
            "Negotiate",
            "NTLM",
            "Basic realm=\"corp, proxy\", charset=\"UTF-8\", Digest realm=\"d\", nonce=\"n\"",
        ]);
        let names: Vec<(AuthScheme, &str, Option<&str>)> = a
            .offered
            .iter()
            .map(|c| (c.scheme, c.name.as_str(), c.realm.as_deref()))
            .collect();
        assert_eq!(
            names,
            vec![
                (AuthScheme::Negotiate, "Negotiate", None),
                (AuthScheme::Ntlm, "NTLM", None),
                (AuthScheme::Basic, "Basic", Some("corp, proxy")),
                (AuthScheme::Digest, "Digest", Some("d")),
            ]
        );
        assert_eq!(
            a.advice(),
            vec![Advice::ProxyUser, Advice::LocalAuthProxy, Advice::CaFile]
        );
        let m = a.message();
        assert!(m.contains("--proxy-user USER"), "{m}");
        assert!(m.contains("https://github.com/genotrance/px"), "{m}");
        assert!(m.contains("https://github.com/versat/cntlm"), "{m}");
    }

    #[test]
    fn token68_non_ascii_and_garbage_are_still_reported() {
        let a = parse(&[
            "NTLM TlRMTVNTUAACAAAA==",
            "Basic realm=\"Soci\u{e9}t\u{e9}\"",
            "\u{202e}evil\u{1b}[31m",
        ]);
        let schemes: Vec<AuthScheme> = a.offered.iter().map(|c| c.scheme).collect();
        assert_eq!(schemes, vec![AuthScheme::Ntlm, AuthScheme::Basic]);
        assert_eq!(a.unreadable.len(), 1);
        let m = a.message();
        assert!(!m.contains('\u{202e}') && !m.contains('\u{1b}'), "{m:?}");
        assert!(m.contains("\\u{202e}evil"), "{m}");
    }

    #[test]
    fn bounded() {
        let long = "X".repeat(10_000);
        let many: Vec<String> = (0..100).map(|i| format!("S{i}, {long}")).collect();
        let a = parse_challenges(many.iter().map(|v| v.as_bytes()));
        assert_eq!(a.offered.len() + a.unreadable.len(), MAX_CHALLENGES);
        assert!(a
            .offered
            .iter()
            .all(|c| c.name.chars().count() <= MAX_SHOWN_CHARS));
    }

    #[test]
    fn basic_missing_means_a_local_proxy() {
        let a = parse(&["Negotiate", "NTLM"]);
        assert_eq!(a.advice(), vec![Advice::LocalAuthProxy, Advice::CaFile]);
        assert!(a.message().contains("cannot do"), "{}", a.message());
        let none = parse(&[]);
        assert!(none.message().contains("no Proxy-Authenticate"));
    }

    #[test]
    fn one_attempt_then_everyone_learns_the_verdict() {
        let log = Arc::new(AttemptLog::default());
        let deadline = Deadline::after(Duration::from_secs(5));
        assert!(matches!(log.permit("p:1", deadline), Permit::Send));
        // A second target waits for the first one's answer, then is refused without sending.
        let waiter = {
            let log = log.clone();
            std::thread::spawn(move || log.permit("p:1", deadline))
        };
        std::thread::sleep(Duration::from_millis(50));
        log.record("p:1", Verdict::Rejected(parse(&["Basic realm=\"r\""])));
        match waiter.join().unwrap() {
            Permit::Rejected(a) => assert_eq!(a.credentials, CredentialsSent::Withheld),
            other => panic!("{other:?}"),
        }
        // Another proxy is another question.
        assert!(matches!(log.permit("q:1", deadline), Permit::Send));
        // An attempt that ended without a verdict lets the next one try.
        log.record("q:1", Verdict::Unknown);
        assert!(matches!(log.permit("q:1", deadline), Permit::Send));
        log.record("q:1", Verdict::Accepted);
        assert!(matches!(log.permit("q:1", deadline), Permit::Send));
        // Waiting is bounded by the deadline.
        assert!(matches!(log.permit("r:1", deadline), Permit::Send));
        let short = Deadline::after(Duration::from_millis(30));
        assert!(matches!(log.permit("r:1", short), Permit::TimedOut));
    }
}
