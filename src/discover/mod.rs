//! Discover: reach each target, directly or through the chosen proxy, record the chain it
//! presents, fetch what it left out (AIA, vendor hints) and fold the results into the roots seen.
//! Calls `analyze`; never `install` or `cli`. Every byte read here comes from a peer: hostile.
//!
//! `discover`: probe every target in parallel, analyse each chain, and fold the results into
//! the roots seen (with provenance and how many targets each was seen on) and what is missing.

pub mod deadline;
pub mod fetch;
pub mod hints;
pub mod probe;
pub mod proxy;
pub mod proxy_auth;
pub mod target;
pub mod tunnel;

use crate::analyze::certinfo::Cert;
use crate::analyze::chain::{
    self, CaFileCert, FoundBy, Interception, LinkSource, ReadFile, SelfSignedShape, Sources,
    Verdict,
};
use crate::analyze::classify::{self, PublicRoots};
use crate::analyze::lint::{self, Finding};
use crate::discover::deadline::Deadline;
use crate::discover::fetch::{Fetcher, HttpFetcher};
use crate::discover::probe::ProbeError;
use crate::discover::proxy::{ProxyChoice, ProxySettings};
use crate::discover::target::Target;
use crate::discover::tunnel::ProxyTlsTrust;
use crate::terminal_text::quoted;
use rustls::pki_types::CertificateDer;
use serde::Serialize;
use std::time::Duration;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything `discover` needs; the caller reads files, environment and the OS store, so this
/// stays testable with injected inputs.
pub struct DiscoverConfig {
    pub targets: Vec<Target>,
    pub proxy: ProxySettings,
    pub ca_files: Vec<CaFileCert>,
    pub public: PublicRoots,
    pub os_roots: Vec<Cert>,
    pub os_store: String,
    pub timeout: Duration,
    /// Reads vendor-hint files; `std::fs::read` in the CLI.
    pub read_file: Box<ReadFile>,
}

#[derive(Debug, Clone)]
pub enum TargetStatus {
    Intercepted(Interception),
    NotIntercepted,
    PublicButInvalid {
        reason: String,
    },
    /// The host presents a self-signed certificate: not interception.
    SelfSigned {
        cert: Box<Cert>,
        shape: SelfSignedShape,
        /// Its subjectAltName covers the host that presented it.
        covers_target: bool,
    },
    Error {
        kind: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct TargetResult {
    pub target: Target,
    pub proxy: Option<ProxyChoice>,
    pub status: TargetStatus,
    pub presented: Vec<Cert>,
    pub tls_version: Option<String>,
    pub proxy_tls_unverified: Option<String>,
    /// The proxy answered 407: what it offered and what was sent.
    pub proxy_auth: Option<proxy_auth::AuthRequired>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Already trusted by the OS (IT pushed it).
    OsStore,
    /// Given by the user with `--ca-file`.
    UserFile,
    /// Read from a file an interception agent left on this machine.
    VendorFile,
    /// Only ever seen on the network: exactly what an attacker could have planted.
    Network,
}

#[derive(Debug, Clone)]
pub struct RootFinding {
    pub root: Cert,
    pub found_by: FoundBy,
    pub source: LinkSource,
    /// From the certificate the root issued down to the leaf's issuer, with where each came from.
    pub intermediates: Vec<(Cert, LinkSource)>,
    pub seen_on: Vec<Target>,
    pub in_os_store: bool,
    pub provenance: Provenance,
    pub lint: Vec<Finding>,
    /// A leaf this root's path minted, kept for the report.
    pub sample_leaf: Cert,
}

/// A self-signed certificate a service presented, with the targets that presented it.
#[derive(Debug, Clone)]
pub struct SelfSignedService {
    pub cert: Cert,
    pub shape: SelfSignedShape,
    pub seen_on: Vec<Target>,
    /// Targets that presented it although its subjectAltName does not name them: an
    /// end-entity certificate is never trusted for those.
    pub names_not_covered: Vec<Target>,
    pub in_os_store: bool,
    pub provenance: Provenance,
    pub lint: Vec<Finding>,
}

#[derive(Debug, Clone)]
pub struct Unresolved {
    pub top: Cert,
    pub seen_on: Vec<Target>,
    pub reason: String,
    pub vendor: Option<&'static str>,
    pub advice: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Intercepted,
    NotIntercepted,
    RootNotFound,
    NetworkFailure,
    /// No interception; at least one host presents a self-signed certificate.
    SelfSigned,
}

impl Outcome {
    /// The documented exit codes (README, `--help`).
    pub fn exit_code(self) -> i32 {
        use crate::exit_status::ExitStatus;
        match self {
            Outcome::Intercepted | Outcome::SelfSigned => ExitStatus::Success.code(),
            Outcome::NotIntercepted => ExitStatus::NotIntercepted.code(),
            Outcome::RootNotFound => ExitStatus::RootNotFound.code(),
            Outcome::NetworkFailure => ExitStatus::NetworkFailure.code(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiscoverResult {
    pub targets: Vec<TargetResult>,
    pub roots: Vec<RootFinding>,
    pub self_signed: Vec<SelfSignedService>,
    pub unresolved: Vec<Unresolved>,
    pub outcome: Outcome,
    pub public_roots: String,
    pub os_store: String,
    /// The snippets' `NO_PROXY` translated from the deciding OS source's bypass list.
    pub no_proxy: Option<crate::proxy::bypass::NoProxyTranslation>,
}

pub fn discover(config: &DiscoverConfig) -> DiscoverResult {
    discover_observed(config, &|_| {})
}

/// [`discover`], calling `finished` from each probing thread as that target's probe ends, so
/// the caller can show progress while slower targets are still running (the library prints
/// nothing itself).
pub fn discover_observed(
    config: &DiscoverConfig,
    finished: &(dyn Fn(&TargetResult) + Sync),
) -> DiscoverResult {
    let trust = ProxyTlsTrust {
        roots: config
            .os_roots
            .iter()
            .map(|c| c.der.clone())
            .chain(config.ca_files.iter().map(|f| f.cert.der.clone()))
            .collect(),
    };
    let targets: Vec<TargetResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = config
            .targets
            .iter()
            .map(|t| {
                let trust = &trust;
                (
                    t,
                    scope.spawn(move || {
                        let result = probe_target(config, t, trust);
                        finished(&result);
                        result
                    }),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(t, h)| {
                h.join().unwrap_or_else(|_| TargetResult {
                    target: t.clone(),
                    proxy: None,
                    status: TargetStatus::Error {
                        kind: "internal",
                        message: "the probe thread failed".to_string(),
                    },
                    presented: Vec::new(),
                    tls_version: None,
                    proxy_tls_unverified: None,
                    proxy_auth: None,
                })
            })
            .collect()
    });
    summarize(config, targets)
}

/// Folds the per-target results into the roots seen, what is missing, and the outcome. No I/O:
/// the fuzzer drives it with arbitrary analyses.
pub fn summarize(config: &DiscoverConfig, targets: Vec<TargetResult>) -> DiscoverResult {
    let (roots, self_signed, unresolved) = fold(config, &targets);
    let outcome = outcome(&targets, &unresolved);
    DiscoverResult {
        targets,
        roots,
        self_signed,
        unresolved,
        outcome,
        public_roots: config.public.description.clone(),
        os_store: config.os_store.clone(),
        no_proxy: config.proxy.no_proxy_translation.clone(),
    }
}

fn probe_target(config: &DiscoverConfig, target: &Target, trust: &ProxyTlsTrust) -> TargetResult {
    let deadline = Deadline::after(config.timeout);
    let mut result = TargetResult {
        target: target.clone(),
        proxy: None,
        status: TargetStatus::NotIntercepted,
        presented: Vec::new(),
        tls_version: None,
        proxy_tls_unverified: None,
        proxy_auth: None,
    };
    let fail = |mut r: TargetResult, kind: &'static str, message: String| {
        r.status = TargetStatus::Error { kind, message };
        r
    };
    let choice = match config.proxy.choose(target) {
        Ok(c) => c,
        Err(e) => {
            let from = match &config.proxy.env_proxy {
                Some((var, _)) => format!(
                    " (from ${var}: correct or unset it, or pass --proxy URL or --no-proxy)"
                ),
                None => String::new(),
            };
            return fail(result, "proxy_config", format!("{e}{from}"));
        }
    };
    result.proxy = Some(choice.clone());
    let tunnel = match tunnel::open(&choice, target, deadline, trust) {
        Ok(t) => t,
        Err(e) => {
            result.proxy_auth = e.auth_required().cloned();
            return fail(result, e.kind(), e.to_string());
        }
    };
    result.proxy_tls_unverified = tunnel.info.proxy_tls_unverified.clone();
    let presented = match probe::capture_chain(tunnel.stream, &target.host) {
        Ok(p) => p,
        Err(e) => {
            let kind = e.kind();
            return fail(result, kind, probe_message(&e, &choice));
        }
    };
    let fetcher = HttpFetcher {
        proxy: choice.endpoint.clone(),
        trust: trust.clone(),
    };
    let mut analysed = analyze_presented(
        config,
        target,
        choice,
        &presented.chain,
        presented.tls_version,
        &fetcher,
        deadline,
    );
    analysed.proxy_tls_unverified = result.proxy_tls_unverified;
    analysed
}

/// Everything after the handshake: analyses the chain `target` presented (fetching issuers with
/// `fetcher`, reading vendor hints with `config.read_file`). The fuzzer enters here with
/// arbitrary certificates and an in-memory fetcher.
pub fn analyze_presented(
    config: &DiscoverConfig,
    target: &Target,
    choice: ProxyChoice,
    presented: &[CertificateDer<'static>],
    tls_version: String,
    fetcher: &dyn Fetcher,
    deadline: Deadline,
) -> TargetResult {
    let mut result = TargetResult {
        target: target.clone(),
        proxy: Some(choice),
        status: TargetStatus::NotIntercepted,
        presented: Vec::new(),
        tls_version: Some(tls_version),
        proxy_tls_unverified: None,
        proxy_auth: None,
    };
    let sources = Sources {
        public: &config.public,
        os_roots: &config.os_roots,
        ca_files: &config.ca_files,
        fetcher,
        read_file: &*config.read_file,
    };
    match chain::analyze(presented, &sources, deadline) {
        Ok(analysis) => {
            result.presented = analysis.presented;
            result.status = match analysis.verdict {
                Verdict::Public => TargetStatus::NotIntercepted,
                Verdict::PublicButInvalid { reason } => TargetStatus::PublicButInvalid { reason },
                Verdict::Intercepted(i) => TargetStatus::Intercepted(i),
                Verdict::SelfSigned { cert, shape } => TargetStatus::SelfSigned {
                    covers_target: classify::covers_host(&cert, &target.host),
                    cert,
                    shape,
                },
            };
            result
        }
        Err(e) => {
            result.status = TargetStatus::Error {
                kind: "bad_certificate",
                message: e.to_string(),
            };
            result
        }
    }
}

/// Adds what the probe's error means for this proxy choice.
fn probe_message(e: &ProbeError, choice: &ProxyChoice) -> String {
    match (e, &choice.endpoint) {
        (ProbeError::NotTls(what), Some(_)) => format!(
            "the proxy opened the tunnel (CONNECT) but did not relay TLS ({what}): an HTTP-only filter, or a proxy that answers for the server itself"
        ),
        _ => e.to_string(),
    }
}

fn fold(
    config: &DiscoverConfig,
    targets: &[TargetResult],
) -> (Vec<RootFinding>, Vec<SelfSignedService>, Vec<Unresolved>) {
    let mut roots: Vec<RootFinding> = Vec::new();
    let mut unresolved: Vec<Unresolved> = Vec::new();
    for t in targets {
        let TargetStatus::Intercepted(i) = &t.status else {
            continue;
        };
        match i.root() {
            Some(root_link) => {
                if let Some(existing) = roots.iter_mut().find(|r| r.root == root_link.cert) {
                    existing.seen_on.push(t.target.clone());
                    let found_by = root_link.source.found_by();
                    if rank(found_by) < rank(existing.found_by) {
                        existing.found_by = found_by;
                        existing.source = root_link.source.clone();
                    }
                    continue;
                }
                let root = root_link.cert.clone();
                // A one-certificate path (the root presented as the leaf) has no intermediates.
                let leaf = i
                    .path
                    .first()
                    .map_or_else(|| root.clone(), |l| l.cert.clone());
                let intermediates: Vec<(Cert, LinkSource)> = i
                    .path
                    .get(1..i.path.len().saturating_sub(1))
                    .unwrap_or_default()
                    .iter()
                    .rev()
                    .map(|l| (l.cert.clone(), l.source.clone()))
                    .collect();
                let in_os_store = config.os_roots.iter().any(|c| c.same_identity(&root));
                let provenance = provenance_of(config, &root, Some(&root_link.source));
                let inter_certs: Vec<Cert> = intermediates.iter().map(|(c, _)| c.clone()).collect();
                roots.push(RootFinding {
                    lint: lint::lint_path(&root, &inter_certs, Some(&leaf)),
                    found_by: root_link.source.found_by(),
                    source: root_link.source.clone(),
                    root,
                    intermediates,
                    seen_on: vec![t.target.clone()],
                    in_os_store,
                    provenance,
                    sample_leaf: leaf,
                });
            }
            None => {
                let Some(top) = i.top().cloned() else {
                    continue;
                };
                if let Some(u) = unresolved.iter_mut().find(|u| u.top == top) {
                    u.seen_on.push(t.target.clone());
                    continue;
                }
                let vendor = hints::known_vendor(top.issuer_name())
                    .or_else(|| hints::known_vendor(&top.info.subject));
                unresolved.push(Unresolved {
                    advice: advice(&top, vendor),
                    reason: i.stop_reason.clone().unwrap_or_default(),
                    top,
                    seen_on: vec![t.target.clone()],
                    vendor,
                });
            }
        }
    }
    roots.sort_by_key(|r| std::cmp::Reverse(r.seen_on.len()));
    (roots, fold_self_signed(config, targets), unresolved)
}

/// One entry per distinct self-signed certificate, most-seen first.
fn fold_self_signed(config: &DiscoverConfig, targets: &[TargetResult]) -> Vec<SelfSignedService> {
    let mut services: Vec<SelfSignedService> = Vec::new();
    for t in targets {
        let TargetStatus::SelfSigned {
            cert,
            shape,
            covers_target,
        } = &t.status
        else {
            continue;
        };
        let uncovered = (!covers_target).then(|| t.target.clone());
        if let Some(service) = services.iter_mut().find(|s| s.cert == **cert) {
            service.seen_on.push(t.target.clone());
            service.names_not_covered.extend(uncovered);
            continue;
        }
        services.push(SelfSignedService {
            in_os_store: config.os_roots.iter().any(|c| c.same_identity(cert)),
            provenance: provenance_of(config, cert, None),
            lint: match shape {
                SelfSignedShape::Ca => lint::lint_path(cert, &[], None),
                SelfSignedShape::EndEntity => Vec::new(),
            },
            cert: (**cert).clone(),
            shape: *shape,
            seen_on: vec![t.target.clone()],
            names_not_covered: uncovered.into_iter().collect(),
        });
    }
    services.sort_by_key(|s| std::cmp::Reverse(s.seen_on.len()));
    services
}

fn provenance_of(config: &DiscoverConfig, root: &Cert, source: Option<&LinkSource>) -> Provenance {
    if config.os_roots.iter().any(|c| c.same_identity(root)) {
        Provenance::OsStore
    } else if config.ca_files.iter().any(|f| f.cert.same_identity(root)) {
        Provenance::UserFile
    } else if matches!(source, Some(LinkSource::VendorHint { location, .. }) if !location.starts_with("http"))
    {
        Provenance::VendorFile
    } else {
        Provenance::Network
    }
}

fn rank(f: FoundBy) -> u8 {
    match f {
        FoundBy::SelfSignedInChain => 0,
        FoundBy::OsStore => 1,
        FoundBy::Aia => 2,
        FoundBy::CaFile => 3,
        FoundBy::VendorHint => 4,
    }
}

fn advice(top: &Cert, vendor: Option<&str>) -> String {
    let product = vendor
        .map(|v| format!(" This looks like {v}."))
        .unwrap_or_default();
    format!(
        "The chain stops at {}, issued by {}, and that issuer was not found.{product} Ask IT for the root CA certificate of the TLS inspection (it is often published on the intranet, or can be exported from a browser on a managed machine: padlock -> certificate -> the top of the chain), then run again with --ca-file PATH.",
        quoted(&top.info.subject),
        quoted(&top.info.issuer)
    )
}

fn outcome(targets: &[TargetResult], unresolved: &[Unresolved]) -> Outcome {
    let intercepted = targets
        .iter()
        .any(|t| matches!(t.status, TargetStatus::Intercepted(_)));
    let self_signed = targets
        .iter()
        .any(|t| matches!(t.status, TargetStatus::SelfSigned { .. }));
    let reached = targets
        .iter()
        .any(|t| !matches!(t.status, TargetStatus::Error { .. }));
    match (intercepted, unresolved.is_empty(), self_signed, reached) {
        (true, true, _, _) => Outcome::Intercepted,
        (true, false, _, _) => Outcome::RootNotFound,
        (false, _, true, _) => Outcome::SelfSigned,
        (false, _, false, true) => Outcome::NotIntercepted,
        (false, _, false, false) => Outcome::NetworkFailure,
    }
}
