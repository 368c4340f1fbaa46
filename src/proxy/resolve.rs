//! Which proxy a URL goes through, asked of every source in the documented order, the first
//! that has an answer deciding:
//!
//! 1. flags: `--no-proxy`, `--proxy URL`, `--pac FILE|URL`;
//! 2. the environment ([`env`](crate::proxy::env)): `HTTPS_PROXY` & co. with `NO_PROXY`;
//! 3. OS settings: in WSL, `WSL_PAC_URL` ([`wsl`](crate::proxy::wsl), the Windows host's PAC
//!    URL); GNOME ([`gnome`](crate::proxy::gnome)) in manual mode (with `ignore-hosts`), or in
//!    auto mode its PAC file (step 4 with GNOME's URL), or with no URL WPAD
//!    ([`wpad`](crate::proxy::wpad): DHCP option 252, then `wpad.<domain>` by DNS); mode `none`
//!    passes to the next source. Under sudo the GNOME settings are the invoking user's
//!    ([`invoking_user`](crate::proxy::invoking_user)). KDE, macOS and Windows
//!    ([`os`](crate::proxy::os), in `Sources::os`, after GNOME or before it on a KDE desktop)
//!    are asked as their browsers ask them: the PAC URL, else WPAD when they ask for
//!    auto-discovery (step 4; if that cannot be used and a manual proxy is set, the manual
//!    proxy), then the manual proxy with its bypass list; settings with none of these pass to
//!    the next source. Auto-discovery asked for beside a PAC URL is not tried and is reported
//!    in [`Decision::auto_detect`]. Then the `*_proxy` lines of `/etc/environment`;
//! 4. PAC: `FindProxyForURL` in the sandboxed engine, its choices tried in order (a TCP connect
//!    within the connect timeout) so the first that answers is used;
//! 5. direct.
//!
//! A PAC file is network-provided configuration (however its URL was learned): the proxy it
//! names gets no credentials, and is written into snippets only when it equals an
//! `--allow-proxy HOST:PORT` value. A PAC file from the OS settings (GNOME, WSL, WPAD) that
//! cannot be found, fetched or evaluated means direct (as browsers do), with the failure in
//! the reason; one given with `--pac` is an error.
//!
//! Runs on the caller's thread (the PAC engine is not `Send`), before discover starts: the
//! result is a [`ProxyChoice`] per target handed to discover in `ProxySettings::resolved`.

use crate::discover::deadline::Deadline;
use crate::discover::proxy::{
    no_proxy_match, ProxyChoice, ProxyEndpoint, ProxyScheme, ProxySettings, ProxySource,
    ProxyUrlError,
};
use crate::discover::target::Target;
use crate::discover::tunnel;
use crate::proxy::bypass::{self, Dialect, NoProxyTranslation};
use crate::proxy::gnome::GnomeProxy;
use crate::proxy::os::{OsOrigin, OsProxy};
use crate::proxy::pac::choice::ChoiceError;
use crate::proxy::pac::source::{self, PacText};
use crate::proxy::pac::{failover, Failover, PacChoice, PacEngine, PacLimits, SystemResolver};
use crate::proxy::wpad::{self, Discovery, WpadSetup};
use crate::terminal_text::printable;
use std::cell::OnceCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything the sources said, gathered before any URL is asked about.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub flag: Option<ProxyEndpoint>,
    pub no_proxy_flag: bool,
    pub pac_flag: Option<String>,
    /// The environment's proxy variables (flags in it are ignored).
    pub env: ProxySettings,
    /// `WSL_PAC_URL`, when this is WSL and WSL set it.
    pub wsl_pac_url: Option<String>,
    /// `None`: GNOME's settings are not present here.
    pub gnome: Option<GnomeProxy>,
    /// KDE, macOS or Windows settings present here, in the order asked.
    pub os: Vec<OsProxy>,
    /// Ask `os` before GNOME (a KDE desktop).
    pub os_before_gnome: bool,
    /// The user whose OS settings were read, when that is not this process's user (sudo).
    pub read_as: Option<String>,
    /// How WPAD runs when the OS settings say "auto-detect".
    pub wpad: WpadSetup,
    /// `None`: no readable `/etc/environment`.
    pub etc_environment: Option<ProxySettings>,
    /// `--allow-proxy` values: PAC-named proxies that may go into snippets.
    pub allow: Vec<Target>,
    /// The per-choice "does it answer" connect; `None` takes a PAC file's first usable choice
    /// unchecked.
    pub connect_timeout: Option<Duration>,
}

/// The answer for one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub choice: ProxyChoice,
    /// A sentence saying where the choice came from and why.
    pub why: String,
    /// What the PAC file returned, when a PAC file decided.
    pub pac_result: Option<String>,
    /// The PAC file's choices in its order, when a PAC file decided.
    pub pac_choices: Vec<PacChoice>,
    pub failover: Option<Failover>,
    /// The id (`kde`, `macos`, `wininet`) of OS settings, asked before this decision was
    /// made, that turn on proxy auto-discovery (WPAD) which did not decide: not tried because
    /// they also name a PAC URL (used instead), or WPAD found nothing.
    pub auto_detect: Option<String>,
}

/// One OS-settings step, in the order `resolve` asks them.
#[derive(Clone, Copy)]
enum OsStep<'a> {
    Gnome(&'a GnomeProxy),
    Os(&'a OsProxy),
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "{} is not a URL with a host: {reason}",
        crate::terminal_text::quoted(url)
    )]
    Url { url: String, reason: String },
    #[error("{0}")]
    ProxyUrl(#[from] ProxyUrlError),
    /// `message` names the PAC file itself (the loader's and the engine's errors both do).
    #[error("{message}")]
    Pac { message: String },
    #[error("PAC file {location}: {source}")]
    PacChoice {
        location: String,
        source: ChoiceError,
    },
}

enum LoadedPac {
    Ready {
        engine: PacEngine,
        pac: PacText,
    },
    /// Why the PAC file cannot be used (its own error names the location).
    Failed(String),
}

/// Where the PAC file comes from, when one is configured at all.
enum PacPlan<'a> {
    /// A location given by `from` (`--pac`, `wsl`, `gnome`).
    Location {
        from: &'static str,
        location: &'a str,
    },
    /// The OS says "auto-detect": WPAD finds the location.
    AutoDetect,
}

pub struct Resolver {
    sources: Sources,
    pac: OnceCell<LoadedPac>,
    discovery: OnceCell<Discovery>,
}

impl Resolver {
    pub fn new(sources: Sources) -> Resolver {
        Resolver {
            sources,
            pac: OnceCell::new(),
            discovery: OnceCell::new(),
        }
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    fn os_steps(&self) -> Vec<OsStep<'_>> {
        let gnome = self.sources.gnome.iter().map(OsStep::Gnome);
        let os = self.sources.os.iter().map(OsStep::Os);
        if self.sources.os_before_gnome {
            os.chain(gnome).collect()
        } else {
            gnome.chain(os).collect()
        }
    }

    /// What WPAD did, if a URL reached it.
    pub fn discovery(&self) -> Option<&Discovery> {
        self.discovery.get()
    }

    /// Where the PAC file comes from, if one is configured at all: `--pac`, `WSL_PAC_URL`, or
    /// the first OS settings that decide (by the rules `resolve` asks them with) naming one or
    /// asking for auto-discovery.
    fn pac_plan(&self) -> Option<PacPlan<'_>> {
        if let Some(location) = &self.sources.pac_flag {
            return Some(PacPlan::Location {
                from: "--pac",
                location,
            });
        }
        if let Some(location) = &self.sources.wsl_pac_url {
            return Some(PacPlan::Location {
                from: "wsl",
                location,
            });
        }
        for step in self.os_steps() {
            match step {
                OsStep::Gnome(GnomeProxy::Auto { autoconfig_url })
                    if autoconfig_url.trim().is_empty() =>
                {
                    return Some(PacPlan::AutoDetect);
                }
                OsStep::Gnome(GnomeProxy::Auto { autoconfig_url }) => {
                    return Some(PacPlan::Location {
                        from: "gnome",
                        location: autoconfig_url.trim(),
                    });
                }
                OsStep::Gnome(GnomeProxy::Manual { .. }) => return None,
                OsStep::Gnome(_) => {}
                OsStep::Os(os) => {
                    if let Some(url) = &os.pac_url {
                        return Some(PacPlan::Location {
                            from: os.origin.id(),
                            location: url.trim(),
                        });
                    }
                    if os.auto_detect {
                        return Some(PacPlan::AutoDetect);
                    }
                    if os.manual {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// Who gave the PAC file and where it is (the URL WPAD found; empty when it found none).
    fn pac_origin(&self) -> (&'static str, String) {
        match self.pac_plan() {
            Some(PacPlan::Location { from, location }) => (from, location.to_string()),
            Some(PacPlan::AutoDetect) => (
                "wpad",
                self.discovery
                    .get()
                    .and_then(|d| d.found.as_ref())
                    .map(|f| f.url.clone())
                    .unwrap_or_default(),
            ),
            None => ("--pac", String::new()),
        }
    }

    /// The `NO_PROXY` for the snippets from the bypass list of the source that chose `choice`;
    /// `None` for the environment and the flags, whose own `NO_PROXY` is kept as it is.
    pub fn no_proxy_for(&self, choice: &ProxyChoice) -> Option<NoProxyTranslation> {
        match &choice.source {
            ProxySource::Gnome { .. } => match &self.sources.gnome {
                Some(GnomeProxy::Manual { ignore_hosts, .. }) => Some(bypass::translate(
                    "the GNOME proxy settings' ignore-hosts",
                    ignore_hosts,
                    Dialect::HostPatterns,
                )),
                _ => None,
            },
            ProxySource::Os { os, .. } => {
                let settings = self.sources.os.iter().find(|s| s.origin.id() == os)?;
                if settings.bypass_reversed {
                    // KDE's ReversedException lists the hosts that USE the proxy: as NO_PROXY
                    // it would mean the opposite, so none is written.
                    return None;
                }
                Some(bypass::translate(
                    &format!("the bypass list of {}", settings.origin.settings_name()),
                    &settings.bypass,
                    Dialect::HostPatterns,
                ))
            }
            ProxySource::EtcEnvironment(_) => {
                let (var, list) = self.sources.etc_environment.as_ref()?.no_proxy.clone()?;
                Some(bypass::translate(
                    &format!("{var} in /etc/environment"),
                    &bypass::split_no_proxy(&list),
                    Dialect::NoProxy,
                ))
            }
            ProxySource::Pac { location, .. } => match self.pac.get() {
                Some(LoadedPac::Ready { pac, .. }) => {
                    Some(bypass::from_pac(&pac.origin, &pac.text))
                }
                _ => Some(bypass::from_pac(location, "")),
            },
            _ => None,
        }
    }

    pub fn resolve(&self, url: &str) -> Result<Decision, ResolveError> {
        let target = target_of(url)?;
        if self.sources.no_proxy_flag {
            return Ok(plain(None, ProxySource::NoProxyFlag));
        }
        if let Some(flag) = &self.sources.flag {
            return Ok(plain(Some(flag.clone()), ProxySource::Flag));
        }
        if self.sources.pac_flag.is_some() {
            return self.ask_pac(url, &target);
        }
        let env = self.sources.env.choose(&target)?;
        if env.source != ProxySource::None {
            return Ok(plain(env.endpoint, env.source));
        }
        if self.sources.wsl_pac_url.is_some() {
            return self.ask_pac(url, &target);
        }
        let mut auto_detect: Option<(OsOrigin, String)> = None;
        for step in self.os_steps() {
            let decided = match step {
                OsStep::Gnome(gnome) => self.ask_gnome(gnome, url, &target)?,
                OsStep::Os(os) => {
                    let decided = self.ask_os(os, url, &target)?;
                    if os.auto_detect && auto_detect.is_none() {
                        if os.pac_url.is_some() {
                            auto_detect = Some((os.origin, "was not tried".to_string()));
                        } else if decided.is_none() {
                            let summary =
                                self.discovery().map(Discovery::summary).unwrap_or_default();
                            auto_detect = Some((os.origin, format!("found nothing: {summary}")));
                        }
                    }
                    decided
                }
            };
            if let Some(decision) = decided {
                return Ok(with_auto_detect(decision, auto_detect));
            }
        }
        self.after_os(&target)
            .map(|decision| with_auto_detect(decision, auto_detect))
    }

    /// `/etc/environment`, then direct.
    fn after_os(&self, target: &Target) -> Result<Decision, ResolveError> {
        if let Some(etc) = &self.sources.etc_environment {
            let choice = etc.choose(target)?;
            let source = match choice.source {
                ProxySource::Env(var) => ProxySource::EtcEnvironment(var),
                ProxySource::NoProxyEnv { var, entry } => {
                    ProxySource::NoProxyEtcEnvironment { var, entry }
                }
                other => other,
            };
            if source != ProxySource::None {
                return Ok(plain(choice.endpoint, source));
            }
        }
        Ok(plain(None, ProxySource::None))
    }

    fn ask_gnome(
        &self,
        gnome: &GnomeProxy,
        url: &str,
        target: &Target,
    ) -> Result<Option<Decision>, ResolveError> {
        match gnome {
            GnomeProxy::Manual {
                https,
                ignore_hosts,
            } => {
                if let Some(entry) = ignore_hosts
                    .iter()
                    .find_map(|entry| no_proxy_match(entry, target))
                {
                    return Ok(Some(plain(
                        None,
                        ProxySource::NoProxyGnome {
                            entry,
                            read_as: self.sources.read_as.clone(),
                        },
                    )));
                }
                let endpoint = https.as_ref().map(|(host, port)| ProxyEndpoint {
                    scheme: ProxyScheme::Http,
                    host: host.clone(),
                    port: *port,
                    credentials: None,
                });
                Ok(Some(plain(
                    endpoint,
                    ProxySource::Gnome {
                        read_as: self.sources.read_as.clone(),
                    },
                )))
            }
            // An empty URL: WPAD finds the file (`pac_plan`).
            GnomeProxy::Auto { .. } => self.ask_pac(url, target).map(Some),
            _ => Ok(None),
        }
    }

    /// KDE, macOS or Windows settings; `None` when they have neither a PAC URL nor a manual
    /// proxy (the next source decides).
    fn ask_os(
        &self,
        os: &OsProxy,
        url: &str,
        target: &Target,
    ) -> Result<Option<Decision>, ResolveError> {
        let source = |note: String| ProxySource::Os {
            os: os.origin.id().to_string(),
            settings: os.origin.settings_name().to_string(),
            note,
        };
        let mut note = String::new();
        if os.pac_url.is_some() || os.auto_detect {
            match self.engine() {
                Some(LoadedPac::Failed(message)) if os.manual => {
                    let what = match &os.pac_url {
                        Some(pac_url) => format!("its PAC file {}", printable(pac_url)),
                        None => "auto-discovery (WPAD)".to_string(),
                    };
                    note = format!("{what} could not be used ({message}), so its manual proxy");
                }
                // Auto-discovery alone found nothing: as if these settings were off.
                Some(LoadedPac::Failed(_)) if os.pac_url.is_none() => return Ok(None),
                _ => return self.ask_pac(url, target).map(Some),
            }
        }
        if !os.manual {
            return Ok(None);
        }
        let matched = os.bypass_match(target);
        if os.bypass_reversed {
            let (endpoint, clause) = match &matched {
                Some(entry) => (
                    os.https.clone(),
                    format!(
                        "ReversedException: {} lists this host as one that uses the proxy",
                        crate::terminal_text::quoted(entry)
                    ),
                ),
                None => (
                    None,
                    "ReversedException: only the hosts NoProxyFor lists use the proxy".to_string(),
                ),
            };
            let note = [note, clause]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            return Ok(Some(plain(endpoint, source(note))));
        }
        if let Some(entry) = matched {
            return Ok(Some(plain(
                None,
                ProxySource::NoProxyOs {
                    os: os.origin.id().to_string(),
                    settings: os.origin.settings_name().to_string(),
                    entry,
                },
            )));
        }
        if os.https.is_none() {
            note = "its manual settings name no proxy for https".to_string();
        }
        Ok(Some(plain(os.https.clone(), source(note))))
    }

    fn engine(&self) -> Option<&LoadedPac> {
        let loaded = match self.pac_plan()? {
            PacPlan::Location { location, .. } => self.pac.get_or_init(|| load_pac(location)),
            PacPlan::AutoDetect => self.pac.get_or_init(|| {
                let discovery = self
                    .discovery
                    .get_or_init(|| wpad::auto_detect(&self.sources.wpad));
                match &discovery.found {
                    Some(found) => engine_for(found.pac.clone()),
                    None => LoadedPac::Failed(discovery.summary()),
                }
            }),
        };
        Some(loaded)
    }

    fn ask_pac(&self, url: &str, target: &Target) -> Result<Decision, ResolveError> {
        let pac_decision = match self.engine() {
            Some(LoadedPac::Ready { engine, .. }) => engine.decide(url).map_err(|e| e.to_string()),
            Some(LoadedPac::Failed(message)) => Err(message.clone()),
            None => Err("no PAC location is configured".to_string()),
        };
        let (from, location) = self.pac_origin();
        let location = location.as_str();
        // How the location was learned, and as whom, said before the PAC's own answer.
        let mut learned = Vec::new();
        if let Some(found) = self.discovery.get().filter(|d| d.found.is_some()) {
            learned.push(found.summary());
        }
        if let (Some(user), "gnome" | "wpad") = (&self.sources.read_as, from) {
            learned.push(format!(
                "the GNOME settings are {user}'s, the user who ran sudo (read as {user}, read-only)"
            ));
        }
        let learned: String = learned.iter().map(|l| format!("{l}; ")).collect();
        let source = |why: String, allowed: bool| ProxySource::Pac {
            from: from.to_string(),
            location: printable(location),
            why: format!("{learned}{why}"),
            allowed,
        };
        let decision = match pac_decision {
            Ok(d) => d,
            Err(message) if from != "--pac" => {
                let why = if location.is_empty() {
                    // WPAD found nothing: its summary already says what was asked.
                    format!("{message}, so direct, as browsers do")
                } else {
                    format!("it could not be used ({message}), so direct, as browsers do")
                };
                let choice = ProxyChoice {
                    endpoint: None,
                    source: source(why, false),
                };
                return Ok(Decision {
                    why: choice.explain(),
                    choice,
                    pac_result: None,
                    pac_choices: Vec::new(),
                    failover: None,
                    auto_detect: None,
                });
            }
            Err(message) => return Err(ResolveError::Pac { message }),
        };
        let (chosen, why, outcome) = match self.sources.connect_timeout {
            Some(timeout) => {
                let host_port = (target.host.clone(), Some(target.port));
                let outcome = failover(&decision.choices, |c| answers(c, &host_port, timeout));
                match outcome.chosen_choice().cloned() {
                    Some(c) => (c, outcome.reason(), Some(outcome)),
                    None => {
                        let fallback = first_usable(&decision.choices).unwrap_or(PacChoice::Direct);
                        let why = format!("{}; using {fallback} anyway", outcome.reason());
                        (fallback, why, Some(outcome))
                    }
                }
            }
            None => {
                let first = first_usable(&decision.choices).unwrap_or(PacChoice::Direct);
                let why = format!("{first} is the PAC file's first usable choice (not checked)");
                (first, why, None)
            }
        };
        let endpoint = chosen
            .endpoint()
            .map_err(|source| ResolveError::PacChoice {
                location: printable(location),
                source,
            })?;
        let allowed = endpoint.as_ref().is_some_and(|e| {
            self.sources
                .allow
                .iter()
                .any(|a| a.host.eq_ignore_ascii_case(&e.host) && a.port == e.port)
        });
        let choice = ProxyChoice {
            endpoint,
            source: source(
                format!("{} → {why}", crate::terminal_text::quoted(&decision.raw)),
                allowed,
            ),
        };
        Ok(Decision {
            why: choice.explain(),
            choice,
            pac_result: Some(decision.raw),
            pac_choices: decision.choices,
            failover: outcome,
            auto_detect: None,
        })
    }
}

/// A decision that no PAC file made.
fn plain(endpoint: Option<ProxyEndpoint>, source: ProxySource) -> Decision {
    let choice = ProxyChoice { endpoint, source };
    Decision {
        why: choice.explain(),
        choice,
        pac_result: None,
        pac_choices: Vec::new(),
        failover: None,
        auto_detect: None,
    }
}

/// Marks `decision` as made after OS settings asked for auto-discovery that did not decide
/// (not tried beside a PAC URL, or it found nothing), and says so.
fn with_auto_detect(mut decision: Decision, asked: Option<(OsOrigin, String)>) -> Decision {
    if let Some((origin, outcome)) = asked {
        decision.auto_detect = Some(origin.id().to_string());
        decision.why = format!(
            "{}; {} also turn on proxy auto-discovery (WPAD), which {outcome}",
            decision.why,
            origin.settings_name()
        );
    }
    decision
}

fn first_usable(choices: &[PacChoice]) -> Option<PacChoice> {
    choices
        .iter()
        .find(|c| !matches!(c, PacChoice::Socks { .. }))
        .cloned()
}

fn load_pac(location: &str) -> LoadedPac {
    // A PAC server certificate IT issued is in the OS store; unreadable, Mozilla's roots remain.
    let roots = if location.starts_with("https:") {
        trust_proxy_platform::os_roots(trust_proxy_platform::Scope::User).unwrap_or_default()
    } else {
        Vec::new()
    };
    match source::load(location, &roots) {
        Ok(pac) => engine_for(pac),
        Err(e) => LoadedPac::Failed(e.to_string()),
    }
}

fn engine_for(pac: PacText) -> LoadedPac {
    match PacEngine::load(&pac.text, Arc::new(SystemResolver), PacLimits::default()) {
        Ok(engine) => LoadedPac::Ready { engine, pac },
        Err(e) => LoadedPac::Failed(format!("PAC file {}: {e}", printable(&pac.origin))),
    }
}

/// The host and port a URL reaches.
pub fn target_of(url: &str) -> Result<Target, ResolveError> {
    let bad = |reason: &str| ResolveError::Url {
        url: printable(url),
        reason: reason.to_string(),
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(bad("no host")),
    };
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| bad("no port, and none known for the scheme"))?;
    Ok(Target { host, port })
}

/// A TCP connect to the proxy (or, for DIRECT, to the URL's host) within `timeout`.
pub fn answers(
    choice: &PacChoice,
    target: &(String, Option<u16>),
    timeout: Duration,
) -> Result<String, String> {
    if let PacChoice::Socks { .. } = choice {
        return Err("SOCKS is not usable by trust-proxy, which speaks HTTP CONNECT".to_string());
    }
    let (what, host, port) = match choice.address() {
        Some((host, port)) => ("proxy", host.to_string(), port),
        None => match target {
            (host, Some(port)) => ("target", host.clone(), *port),
            (_, None) => return Err("the URL has no port to connect to".to_string()),
        },
    };
    let started = Instant::now();
    match tunnel::connect_tcp(what, &host, port, Deadline::after(timeout)) {
        Ok(_) => Ok(format!(
            "TCP connect to {} in {} ms",
            Target {
                host: host.clone(),
                port
            },
            started.elapsed().as_millis()
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Sources {
        Sources {
            gnome: Some(GnomeProxy::Manual {
                https: Some(("gnome-proxy".into(), 3128)),
                ignore_hosts: vec!["*.corp".into()],
            }),
            etc_environment: Some(crate::proxy::etc_environment::parse(
                "https_proxy=http://etc-proxy:8080\n",
            )),
            ..Sources::default()
        }
    }

    fn host(d: &Decision) -> Option<&str> {
        d.choice.endpoint.as_ref().map(|e| e.host.as_str())
    }

    #[test]
    fn order_is_flags_env_gnome_etc_environment_direct() {
        let mut s = sources();
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(
            (host(&d), d.choice.source.to_string().as_str()),
            (Some("gnome-proxy"), "os:gnome")
        );
        let d = Resolver::new(s.clone())
            .resolve("https://git.corp/")
            .unwrap();
        assert_eq!(
            d.choice.source,
            ProxySource::NoProxyGnome {
                entry: "*.corp".into(),
                read_as: None
            }
        );
        assert!(d.why.contains("ignore-hosts"));

        s.env =
            crate::proxy::env::read(|k| (k == "https_proxy").then(|| "http://env-proxy:1".into()));
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(host(&d), Some("env-proxy"));
        s.flag = Some(ProxyEndpoint::parse("http://flag-proxy:2").unwrap());
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(host(&d), Some("flag-proxy"));

        let mut s = sources();
        s.gnome = Some(GnomeProxy::None);
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(d.choice.source.to_string(), "etc_environment:https_proxy");
        s.etc_environment = None;
        let d = Resolver::new(s).resolve("https://pypi.org/").unwrap();
        assert_eq!((host(&d), &d.choice.source), (None, &ProxySource::None));
    }

    fn os(origin: OsOrigin, https: Option<&str>, bypass: &[&str]) -> OsProxy {
        OsProxy {
            manual: true,
            https: https.map(|u| ProxyEndpoint::parse(u).unwrap()),
            bypass: bypass.iter().map(|b| b.to_string()).collect(),
            ..OsProxy::new(origin)
        }
    }

    #[test]
    fn kde_macos_windows_settings_in_order_with_reasons() {
        // GNOME in mode none passes to KDE; on a KDE desktop KDE is asked first.
        let kde = os(OsOrigin::Kde, Some("http://kde-proxy:3128"), &[".corp"]);
        let mut s = Sources {
            gnome: Some(GnomeProxy::None),
            os: vec![kde.clone()],
            ..Sources::default()
        };
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(
            (host(&d), d.choice.source.to_string().as_str()),
            (Some("kde-proxy"), "os:kde")
        );
        assert!(d.why.contains("KDE proxy settings"), "{}", d.why);
        let d = Resolver::new(s.clone())
            .resolve("https://git.corp/")
            .unwrap();
        assert_eq!(d.choice.source.to_string(), "no_proxy_os:kde");
        assert!(d.why.contains("\".corp\""), "{}", d.why);
        s.gnome = sources().gnome;
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(host(&d), Some("gnome-proxy"));
        s.os_before_gnome = true;
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(host(&d), Some("kde-proxy"));
        // The environment still comes first.
        s.env = crate::proxy::env::read(|k| (k == "HTTPS_PROXY").then(|| "http://env:1".into()));
        let d = Resolver::new(s).resolve("https://pypi.org/").unwrap();
        assert_eq!(host(&d), Some("env"));

        // KDE's ReversedException: only the listed hosts use the proxy.
        let reversed = OsProxy {
            bypass_reversed: true,
            ..os(OsOrigin::Kde, Some("http://kde-proxy:3128"), &[".corp"])
        };
        let s = Sources {
            os: vec![reversed],
            ..Sources::default()
        };
        let resolver = Resolver::new(s.clone());
        let d = resolver.resolve("https://git.corp/").unwrap();
        assert_eq!(host(&d), Some("kde-proxy"));
        // The list names the hosts that use the proxy: never written as NO_PROXY.
        assert!(resolver.no_proxy_for(&d.choice).is_none());
        let d = Resolver::new(s).resolve("https://pypi.org/").unwrap();
        assert_eq!(
            (host(&d), d.choice.source.to_string().as_str()),
            (None, "os:kde")
        );
        assert!(d.why.contains("ReversedException"), "{}", d.why);

        // WinINet with nothing on passes to the WinHTTP machine proxy; auto-detect is kept
        // in the decision and its reason.
        let wininet = OsProxy {
            auto_detect: true,
            ..OsProxy::new(OsOrigin::WinInet)
        };
        let winhttp = os(OsOrigin::WinHttp, Some("http://machine:8080"), &["<local>"]);
        let s = Sources {
            os: vec![wininet, winhttp],
            wpad: nothing_to_discover(),
            ..Sources::default()
        };
        let d = Resolver::new(s.clone())
            .resolve("https://pypi.org/")
            .unwrap();
        assert_eq!(
            (host(&d), d.choice.source.to_string().as_str()),
            (Some("machine"), "os:winhttp")
        );
        assert_eq!(d.auto_detect.as_deref(), Some("wininet"));
        assert!(d.why.contains("auto-discovery"), "{}", d.why);
        let d = Resolver::new(s).resolve("https://intranet/").unwrap();
        assert_eq!(d.choice.source.to_string(), "no_proxy_os:winhttp");

        // A manual setting that names no https proxy decides: direct, and says why.
        let http_only = os(OsOrigin::MacOs, None, &[]);
        let s = Sources {
            os: vec![http_only],
            etc_environment: sources().etc_environment,
            ..Sources::default()
        };
        let d = Resolver::new(s).resolve("https://pypi.org/").unwrap();
        assert_eq!(
            (host(&d), d.choice.source.to_string().as_str()),
            (None, "os:macos")
        );
        assert!(d.why.contains("no proxy for https"), "{}", d.why);
    }

    /// WPAD with no search domain and no DHCP answer: nothing is asked of the network.
    fn nothing_to_discover() -> WpadSetup {
        WpadSetup {
            resolv_conf: std::path::PathBuf::from("/nonexistent/resolv.conf"),
            dhcp: wpad::DhcpSource::Given(None),
            ..WpadSetup::default()
        }
    }

    #[test]
    fn os_pac_url_is_used_and_its_failure_falls_back_to_the_manual_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let pac = dir.path().join("proxy.pac");
        std::fs::write(
            &pac,
            "function FindProxyForURL(url, host) { return 'PROXY pac-proxy:8080'; }",
        )
        .unwrap();
        let pac_url = url::Url::from_file_path(&pac).unwrap().to_string();
        let with_pac = |pac_url: &str, manual: bool| OsProxy {
            pac_url: Some(pac_url.to_string()),
            manual,
            https: manual.then(|| ProxyEndpoint::parse("http://manual:3128").unwrap()),
            ..OsProxy::new(OsOrigin::WinInet)
        };
        let decide = |os: OsProxy| {
            let s = Sources {
                os: vec![os],
                ..Sources::default()
            };
            let d = Resolver::new(s).resolve("https://pypi.org/").unwrap();
            let shown = (host(&d).map(str::to_string), d.choice.source.to_string());
            (d, shown)
        };
        let (d, shown) = decide(with_pac(&pac_url, true));
        assert_eq!(shown, (Some("pac-proxy".into()), "pac:wininet".into()));
        assert!(d.why.contains("wininet proxy settings"), "{}", d.why);
        // Network-provided: not for snippets unless allowed.
        assert!(d.choice.snippet_endpoint().is_none());

        let missing = url::Url::from_file_path(dir.path().join("absent.pac"))
            .unwrap()
            .to_string();
        let (d, shown) = decide(with_pac(&missing, true));
        assert_eq!(shown, (Some("manual".into()), "os:wininet".into()));
        assert!(d.why.contains("could not be used"), "{}", d.why);
        let (_, shown) = decide(with_pac(&missing, false));
        assert_eq!(shown, (None, "pac:wininet".into()));
    }
}
