//! A proxy learned from the network (a PAC file's answer) is used for the probe, but gets no
//! credentials and is not written into the environment snippets until it is vouched for: by an
//! `--allow-proxy HOST:PORT` value, or by a person who confirms it at a terminal. An attacker
//! who answers the WPAD lookup or the plain-HTTP PAC download names any proxy they like; sending
//! the proxy password there, or pointing every tool on the machine at it, would hand them both.
//!
//! The question names the proxy and where it came from; only `yes` confirms (Enter, anything
//! else, or no terminal: no).

use crate::discover::proxy::{ProxyChoice, ProxySource};
use crate::discover::target::Target;
use crate::terminal_text::printable;

/// A network-learned proxy that nothing has vouched for yet, and where it was learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unvouched {
    pub proxy: Target,
    /// `the PAC file http://wpad/wpad.dat (from the GNOME proxy settings)`, escaped.
    pub learned_from: String,
}

/// Each distinct proxy among `choices` that came from the network and is not allowed.
pub fn unvouched(choices: &[(Target, ProxyChoice)]) -> Vec<Unvouched> {
    let mut out: Vec<Unvouched> = Vec::new();
    for (_, choice) in choices {
        let (
            Some(endpoint),
            ProxySource::Pac {
                from,
                location,
                allowed: false,
                ..
            },
        ) = (&choice.endpoint, &choice.source)
        else {
            continue;
        };
        let proxy = endpoint.address();
        if out.iter().any(|u| u.proxy == proxy) {
            continue;
        }
        let learned_from = match from.as_str() {
            "gnome" => format!(
                "the PAC file {} (from the GNOME proxy settings)",
                printable(location)
            ),
            other => format!(
                "the PAC file {} (from {})",
                printable(location),
                printable(other)
            ),
        };
        out.push(Unvouched {
            proxy,
            learned_from,
        });
    }
    out
}

/// What vouching would change, for the question and the warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtStake {
    /// `--proxy-user` was given: the password would go to this proxy.
    pub credentials: bool,
    /// install writes the proxy into the environment snippets.
    pub snippets: bool,
}

impl AtStake {
    fn describe(self) -> &'static str {
        match (self.credentials, self.snippets) {
            (true, true) => "send it your proxy password and write it into the environment snippets (HTTPS_PROXY for every tool)",
            (true, false) => "send it your proxy password",
            (false, _) => "write it into the environment snippets (HTTPS_PROXY for every tool)",
        }
    }
}

pub fn question(u: &Unvouched, stake: AtStake) -> String {
    format!(
        "The proxy {} was named by {}. That is configuration from the network: whoever answers the WPAD lookup or the PAC download chooses it. Compare it with the proxy your IT department documents.\nUse {} and {}? Type 'yes' to confirm (default: no): ",
        u.proxy,
        u.learned_from,
        u.proxy,
        stake.describe()
    )
}

/// The sentence for a run that cannot ask.
pub fn not_confirmed(u: &Unvouched, stake: AtStake, asked: bool) -> String {
    let why = if asked {
        "not confirmed"
    } else {
        "network-provided and there is no terminal to confirm it"
    };
    let withheld = match (stake.credentials, stake.snippets) {
        (true, true) => "gets no proxy password and is not written into the environment snippets",
        (true, false) => "gets no proxy password",
        (false, _) => "is not written into the environment snippets",
    };
    format!(
        "the proxy {} (named by {}) is {why}: it is used for the probe but {withheld}; to vouch for it, pass --allow-proxy {}",
        u.proxy, u.learned_from, u.proxy
    )
}

/// Marks every choice naming `proxy` as allowed, saying who allowed it.
pub fn vouch(choices: &mut [(Target, ProxyChoice)], proxy: &Target) {
    for (_, choice) in choices.iter_mut() {
        let names_it = choice
            .endpoint
            .as_ref()
            .is_some_and(|e| e.address() == *proxy);
        if let (true, ProxySource::Pac { why, allowed, .. }) = (names_it, &mut choice.source) {
            if !*allowed {
                *allowed = true;
                why.push_str("; confirmed at the terminal");
            }
        }
    }
}

/// Asks about each unvouched proxy through `ask` (None: no terminal, or a run that must not
/// ask) and returns the warnings for those left unvouched.
pub fn confirm(
    choices: &mut [(Target, ProxyChoice)],
    stake: AtStake,
    mut ask: Option<&mut dyn FnMut(&str) -> bool>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for u in unvouched(choices) {
        let yes = match ask.as_mut() {
            Some(ask) => ask(&question(&u, stake)),
            None => {
                warnings.push(not_confirmed(&u, stake, false));
                continue;
            }
        };
        if yes {
            vouch(choices, &u.proxy);
        } else {
            warnings.push(not_confirmed(&u, stake, true));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::proxy::ProxyEndpoint;

    fn pac_choice(proxy: &str, allowed: bool) -> ProxyChoice {
        ProxyChoice {
            endpoint: Some(ProxyEndpoint::parse(proxy).unwrap()),
            source: ProxySource::Pac {
                from: "gnome".into(),
                location: "http://wpad/wpad.dat".into(),
                why: "PROXY".into(),
                allowed,
            },
        }
    }

    fn t(s: &str) -> Target {
        Target::parse(s).unwrap()
    }

    #[test]
    fn each_proxy_is_asked_once_and_only_yes_vouches() {
        let mut choices = vec![
            (t("a.org"), pac_choice("http://p1:3128", false)),
            (t("b.org"), pac_choice("http://p1:3128", false)),
            (t("c.org"), pac_choice("http://p2:8080", false)),
            (t("d.org"), pac_choice("http://p3:8080", true)),
        ];
        let mut asked = Vec::new();
        let mut ask = |q: &str| {
            asked.push(q.to_string());
            q.contains("p1:3128")
        };
        let stake = AtStake {
            credentials: true,
            snippets: true,
        };
        let warnings = confirm(&mut choices, stake, Some(&mut ask));
        assert_eq!(asked.len(), 2, "{asked:?}");
        assert!(asked[0].contains("http://wpad/wpad.dat"));
        let allowed: Vec<bool> = choices
            .iter()
            .map(|(_, c)| matches!(c.source, ProxySource::Pac { allowed: true, .. }))
            .collect();
        assert_eq!(allowed, [true, true, false, true]);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("--allow-proxy p2:8080"),
            "{warnings:?}"
        );
        assert!(choices[0].1.explain().contains("confirmed at the terminal"));
    }

    #[test]
    fn without_a_terminal_nothing_is_vouched() {
        let mut choices = vec![(t("a.org"), pac_choice("http://p1:3128", false))];
        let stake = AtStake {
            credentials: false,
            snippets: true,
        };
        let warnings = confirm(&mut choices, stake, None);
        assert!(warnings[0].contains("no terminal"), "{warnings:?}");
        assert!(choices[0].1.snippet_endpoint().is_none());
    }
}
