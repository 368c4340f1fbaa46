//! Which proxy a URL goes through, asked of every source in the documented order, the first
//! that has an answer deciding:
//!
//! 1. flags: `--no-proxy`, `--proxy URL`, `--pac FILE|URL`;
//! 2. the environment ([`env`](crate::proxy::env)): `HTTPS_PROXY` & co. with `NO_PROXY`;
//! 3. OS settings: GNOME ([`gnome`](crate::proxy::gnome)) in manual mode (with
//!    `ignore-hosts`), or in auto mode its PAC file (step 4 with GNOME's URL); mode `none`
//!    passes to the next source. KDE, macOS and Windows ([`os`](crate::proxy::os), in
//!    `Sources::os`, after GNOME or before it on a KDE desktop) are asked as their browsers
//!    ask them: the PAC URL (step 4 with that URL; if it cannot be used and a manual proxy is
//!    set, the manual proxy), then the manual proxy with its bypass list; settings with
//!    neither pass to the next source. Auto-discovery (WPAD) they ask for is reported in
//!    [`Decision::auto_detect`]. Then the `*_proxy` lines of `/etc/environment`;
//! 4. PAC: `FindProxyForURL` in the sandboxed engine, its choices tried in order (a TCP connect
//!    within the connect timeout) so the first that answers is used;
//! 5. direct.
//!
//! A PAC file is network-provided configuration: the proxy it names gets no credentials, and is
//! written into snippets only when it equals an `--allow-proxy HOST:PORT` value. A PAC file
//! from GNOME that cannot be fetched or evaluated means direct (as browsers do), with the
//! failure in the reason; one given with `--pac` is an error.
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
use crate::proxy::gnome::GnomeProxy;
use crate::proxy::os::{OsOrigin, OsProxy};
use crate::proxy::pac::choice::ChoiceError;
use crate::proxy::pac::source;
use crate::proxy::pac::{failover, Failover, PacChoice, PacEngine, PacLimits, SystemResolver};
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
    /// `None`: GNOME's settings are not present here.
    pub gnome: Option<GnomeProxy>,
    /// KDE, macOS or Windows settings present here, in the order asked.
    pub os: Vec<OsProxy>,
    /// Ask `os` before GNOME (a KDE desktop).
    pub os_before_gnome: bool,
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
    /// made, that turn on proxy auto-discovery (WPAD); the WPAD lookup goes where
    /// `ask_os` starts, ahead of the PAC URL, as the browsers order them.
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
    #[error("{url:?} is not a URL with a host: {reason}")]
    Url { url: String, reason: String },
    #[error("{0}")]
    ProxyUrl(#[from] ProxyUrlError),
    #[error("PAC file {location}: {message}")]
    Pac { location: String, message: String },
    #[error("PAC file {location}: {source}")]
    PacChoice {
        location: String,
        source: ChoiceError,
    },
}

enum LoadedPac {
    Ready {
        engine: PacEngine,
    },
    /// Why the PAC file cannot be used (its own error names the location).
    Failed(String),
}

pub struct Resolver {
    sources: Sources,
    pac: OnceCell<LoadedPac>,
}

impl Resolver {
    pub fn new(sources: Sources) -> Resolver {
        Resolver {
            sources,
            pac: OnceCell::new(),
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

    /// The PAC location and who gave it, if a PAC file is configured at all: `--pac`, or the
    /// first OS settings that decide (by the rules `resolve` asks them with) naming one.
    fn pac_location(&self) -> Option<(&'static str, &str)> {
        if let Some(location) = &self.sources.pac_flag {
            return Some(("--pac", location));
        }
        for step in self.os_steps() {
            match step {
                OsStep::Gnome(GnomeProxy::Auto { autoconfig_url })
                    if !autoconfig_url.trim().is_empty() =>
                {
                    return Some(("gnome", autoconfig_url.trim()));
                }
                OsStep::Gnome(GnomeProxy::Manual { .. }) => return None,
                OsStep::Gnome(_) => {}
                OsStep::Os(os) => {
                    if let Some(url) = &os.pac_url {
                        return Some((os.origin.id(), url.trim()));
                    }
                    if os.manual {
                        return None;
                    }
                }
            }
        }
        None
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
        let mut auto_detect: Option<OsOrigin> = None;
        for step in self.os_steps() {
            let decided = match step {
                OsStep::Gnome(gnome) => self.ask_gnome(gnome, url, &target)?,
                OsStep::Os(os) => {
                    if os.auto_detect && auto_detect.is_none() {
                        auto_detect = Some(os.origin);
                    }
                    self.ask_os(os, url, &target)?
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
                    return Ok(Some(plain(None, ProxySource::NoProxyGnome { entry })));
                }
                let endpoint = https.as_ref().map(|(host, port)| ProxyEndpoint {
                    scheme: ProxyScheme::Http,
                    host: host.clone(),
                    port: *port,
                    credentials: None,
                });
                Ok(Some(plain(endpoint, ProxySource::Gnome)))
            }
            GnomeProxy::Auto { autoconfig_url } if !autoconfig_url.trim().is_empty() => {
                self.ask_pac(url, target).map(Some)
            }
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
        if let Some(pac_url) = &os.pac_url {
            match self.engine() {
                Some(LoadedPac::Failed(message)) if os.manual => {
                    note = format!(
                        "its PAC file {} could not be used ({message}), so its manual proxy",
                        printable(pac_url)
                    );
                }
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
                        "ReversedException: {entry:?} lists this host as one that uses the proxy"
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
        let (_, location) = self.pac_location()?;
        Some(self.pac.get_or_init(|| load_pac(location)))
    }

    fn ask_pac(&self, url: &str, target: &Target) -> Result<Decision, ResolveError> {
        let (from, location) = self.pac_location().unwrap_or(("--pac", ""));
        let pac_decision = match self.engine() {
            Some(LoadedPac::Ready { engine, .. }) => engine.decide(url).map_err(|e| e.to_string()),
            Some(LoadedPac::Failed(message)) => Err(message.clone()),
            None => Err("no PAC location is configured".to_string()),
        };
        let source = |why: String, allowed: bool| ProxySource::Pac {
            from: from.to_string(),
            location: printable(location),
            why,
            allowed,
        };
        let decision = match pac_decision {
            Ok(d) => d,
            Err(message) if from != "--pac" => {
                let choice = ProxyChoice {
                    endpoint: None,
                    source: source(
                        format!("it could not be used ({message}), so direct, as browsers do"),
                        false,
                    ),
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
            Err(message) => {
                return Err(ResolveError::Pac {
                    location: printable(location),
                    message,
                })
            }
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
            source: source(format!("{:?} → {why}", printable(&decision.raw)), allowed),
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

/// Marks `decision` as made after OS settings asked for auto-discovery, and says so.
fn with_auto_detect(mut decision: Decision, origin: Option<OsOrigin>) -> Decision {
    if let Some(origin) = origin {
        decision.auto_detect = Some(origin.id().to_string());
        decision.why = format!(
            "{}; {} also turn on proxy auto-discovery (WPAD), which was not tried",
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
    let pac = match source::load(location, &roots) {
        Ok(p) => p,
        Err(e) => return LoadedPac::Failed(e.to_string()),
    };
    match PacEngine::load(&pac.text, Arc::new(SystemResolver), PacLimits::default()) {
        Ok(engine) => LoadedPac::Ready { engine },
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
                entry: "*.corp".into()
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
        let d = Resolver::new(s.clone())
            .resolve("https://git.corp/")
            .unwrap();
        assert_eq!(host(&d), Some("kde-proxy"));
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
