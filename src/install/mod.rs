//! Install: decide (pin or confirmation), validate, plan, apply, verify; uninstall, refresh and
//! status work from the state file. Calls `discover` (candidates, verification) and `analyze`;
//! never `cli`. The lock is taken before the state is read.
//!
//! `install`, `uninstall`, `refresh`, `status`: the data flows one way, discover -> decide ->
//! plan -> apply -> verify. Everything the machine is asked to do is in the plan; everything
//! applied is in the state file.

pub mod apply;
pub mod bundle;
pub mod decide;
pub mod envsnippet;
pub mod layout;
pub mod plan;
pub mod state;
pub mod status;
pub mod stores;
pub mod validate;
pub mod verify;

use crate::analyze::certinfo::Cert;
use crate::analyze::chain::LinkSource;
use crate::analyze::chain::SelfSignedShape;
use crate::analyze::lint;
use crate::discover::tunnel::ProxyTlsTrust;
use crate::discover::{self, DiscoverConfig, DiscoverResult, Outcome, Provenance, TargetStatus};
use crate::exit_status::ExitStatus;
use crate::install::apply::{ApplyError, ApplyOptions, Lock};
use crate::install::decide::{Candidate, Decision, Pin, Policy, Refusal, ServiceUse, Verdict};
use crate::install::envsnippet::{EnvPaths, ProxyEnv, Shell};
use crate::install::layout::Layout;
use crate::install::plan::{Action, Effect, Host, Plan, PlannedStep};
use crate::install::state::{sha256_hex, InstalledCa, OwnedFile, SessionVar, State, StateError};
use crate::install::validate::Invalid;
use crate::install::verify::Verification;
use serde::Serialize;
use std::path::{Path, PathBuf};
use trust_proxy_platform::{fs_safe, ownership, Distrust, PersistentEnv, Scope, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("no CA to trust: {0}")]
    NothingToInstall(String, Outcome),
    #[error("{}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Invalid>),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("declined: {0} was not confirmed; nothing was changed. To trust it later, run again and type yes, or pass --fingerprint with the SHA-256 your IT department publishes")]
    Declined(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Plan(String),
    #[error("no CA installed in the {scope} scope matches --fingerprint {pin}; nothing was changed. `trust-proxy status --scope {scope}` lists the installed CAs with their SHA-256")]
    UnknownFingerprint { pin: String, scope: String },
}

impl InstallError {
    /// The documented exit codes (README, `--help`).
    pub fn exit_code(&self) -> i32 {
        match self {
            InstallError::NothingToInstall(_, outcome) => outcome.exit_code(),
            InstallError::Refused(_) | InstallError::Declined(_) => ExitStatus::Refused.code(),
            InstallError::Invalid(_) => ExitStatus::Unacceptable.code(),
            InstallError::UnknownFingerprint { .. } => ExitStatus::Usage.code(),
            _ => ExitStatus::LocalError.code(),
        }
    }
}

/// Asks a person; `None` in unattended runs. Gets the question text, returns the answer.
pub type Ask<'a> = &'a mut dyn FnMut(&str) -> bool;

/// Everything an install needs; the CLI fills it from flags, the OS and the terminal.
pub struct InstallRequest {
    pub discover: DiscoverConfig,
    /// `--ca-file` certificates: the CAs to install, no probe needed.
    pub ca_files: Vec<Cert>,
    pub pins: Vec<Pin>,
    pub policy: Policy,
    pub use_os_store: bool,
    pub dry_run: bool,
    pub apply: ApplyOptions,
}

#[derive(Debug, Serialize)]
pub struct InstallReport {
    pub scope: String,
    pub dry_run: bool,
    pub installed: Vec<CaSummary>,
    pub warnings: Vec<String>,
    pub steps: Vec<PlannedStep>,
    /// True when every step was (or would be) unchanged.
    pub unchanged: bool,
    pub verification: Option<Verification>,
    pub env_file: String,
    pub bundle: String,
    /// The optional stores (`--nss`, `--java`): each found, and what was done there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<stores::StoreNote>,
    #[serde(skip)]
    pub discover: Option<DiscoverResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaSummary {
    pub sha256: String,
    pub subject: String,
    pub decision: Decision,
    pub provenance: Provenance,
    /// A self-signed service's certificate: the hosts that presented it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_targets: Vec<String>,
}

/// Candidates from `--ca-file`: their self-signed CAs, with the files' other CAs that chain to
/// them as intermediates.
fn candidates_from_files(
    files: &[Cert],
    os_roots: &[Cert],
) -> Result<Vec<Candidate>, InstallError> {
    let roots: Vec<&Cert> = files.iter().filter(|c| c.is_self_signed()).collect();
    if roots.is_empty() {
        let invalid = files
            .iter()
            .map(|c| Invalid::NotRoot {
                subject: crate::discover::tunnel::printable(&c.info.subject),
            })
            .collect();
        return Err(InstallError::Invalid(invalid));
    }
    Ok(roots
        .into_iter()
        .map(|root| Candidate {
            root: root.clone(),
            path: files
                .iter()
                .filter(|c| !c.is_self_signed() && c.names_issuer(root) && c.is_signed_by(root))
                .cloned()
                .collect(),
            provenance: if os_roots.iter().any(|o| o.same_identity(root)) {
                Provenance::OsStore
            } else {
                Provenance::UserFile
            },
            // Filled from the probe when a target presented this very certificate.
            service: None,
        })
        .collect())
}

/// Candidates from discover's roots; extras are the path's certificates the proxy did not send.
fn candidates_from_discover(
    result: &DiscoverResult,
) -> Vec<(Candidate, Vec<Cert>, Vec<lint::Finding>)> {
    result
        .roots
        .iter()
        .map(|r| {
            let extras = r
                .intermediates
                .iter()
                .filter(|(_, src)| *src != LinkSource::Presented)
                .map(|(c, _)| c.clone())
                .collect();
            (
                Candidate {
                    root: r.root.clone(),
                    path: r.intermediates.iter().map(|(c, _)| c.clone()).collect(),
                    provenance: r.provenance,
                    service: None,
                },
                extras,
                r.lint.clone(),
            )
        })
        .chain(result.self_signed.iter().map(|s| {
            (
                Candidate {
                    root: s.cert.clone(),
                    path: Vec::new(),
                    provenance: s.provenance,
                    service: Some(ServiceUse {
                        shape: s.shape,
                        presented_by: s.seen_on.iter().map(|t| t.to_string()).collect(),
                        names_not_covered: s
                            .names_not_covered
                            .iter()
                            .map(|t| t.to_string())
                            .collect(),
                    }),
                },
                Vec::new(),
                s.lint.clone(),
            )
        }))
        .collect()
}

/// A candidate with the path certificates the proxy did not send and its lint findings.
type Offered = (Candidate, Vec<Cert>, Vec<lint::Finding>);

pub fn install(
    req: InstallRequest,
    layout: &Layout,
    host: Host<'_>,
    ask: Option<Ask<'_>>,
) -> Result<InstallReport, InstallError> {
    install_observed(req, layout, host, ask, &|_| {})
}

/// [`install`], calling `probed` as each target's probe ends (see
/// [`discover::discover_observed`]).
pub fn install_observed(
    req: InstallRequest,
    layout: &Layout,
    host: Host<'_>,
    ask: Option<Ask<'_>>,
    probed: &(dyn Fn(&discover::TargetResult) + Sync),
) -> Result<InstallReport, InstallError> {
    let result = discover::discover_observed(&req.discover, probed);
    let os_roots = &req.discover.os_roots;
    let offered = offered_candidates(&req, &result)?;
    let candidates: Vec<Candidate> = offered.iter().map(|(c, _, _)| c.clone()).collect();
    let verdicts = decide::decide(&candidates, &req.pins, req.policy)?;
    let mut warnings = check_before_asking(&offered, &verdicts, host.distrust)?;
    let decisions = confirm(&candidates, verdicts, &result, ask, &mut warnings)?;

    let lock = if req.dry_run {
        None
    } else {
        Some(Lock::acquire(
            &layout.dir,
            &layout.lock_file(),
            is_system(layout),
        )?)
    };
    let state_before = load_state(layout)?;
    req.apply.state_was_read();
    let mut after = state_before
        .clone()
        .unwrap_or_else(|| State::empty(scope_name(layout)));
    if let (Some(lock), true) = (&lock, after.created_dirs.is_empty()) {
        after.created_dirs = lock.created_dirs().to_vec();
    }
    let store_adds = record_cas(&req, &offered, &decisions, host, &mut after, &mut warnings)?;
    if after.proxy.is_none() {
        remember_proxy(&mut after, &result, &req.discover);
    }
    let minted = state::minted_without_revocation(
        result
            .targets
            .iter()
            .filter(|t| matches!(t.status, TargetStatus::Intercepted(_)))
            .filter_map(|t| t.presented.first())
            .map(|leaf| leaf.der.as_ref()),
    );
    if minted.is_some() {
        after.minted_without_revocation = minted;
    }
    let (extra_actions, store_notes) = stores::install_actions(host.extra_stores, &mut after)?;

    let effective = effective_layout(layout, &after);
    let (mut plan, _) = build_plan(
        &effective,
        state_before.as_ref(),
        &after,
        os_roots,
        &store_adds,
        &[],
        host,
    )?;
    plan.actions.splice(0..0, extra_actions);
    let mut report = InstallReport {
        scope: scope_name(layout).to_string(),
        dry_run: req.dry_run,
        installed: after.cas.iter().map(summary).collect(),
        warnings,
        steps: Vec::new(),
        unchanged: false,
        verification: None,
        env_file: effective.env_file(Shell::Sh).display().to_string(),
        bundle: effective.bundle_for_env().display().to_string(),
        stores: store_notes,
        discover: Some(result),
    };
    let Some(lock) = lock else {
        report.steps = plan.steps(host)?;
        report.unchanged = report.steps.iter().all(|s| s.effect == Effect::Unchanged);
        return Ok(report);
    };
    let steps = apply::apply(&plan, host, &req.apply, &lock)?;
    drop(lock);
    report.unchanged = steps.iter().all(|s| s.effect == Effect::Unchanged);
    report.steps = steps;
    report.verification = Some(run_verify(&report, &effective, &req.discover));
    Ok(report)
}

/// Each trusted root with how trust was established, and the warnings of deciding.
pub type TrustedRoots = (Vec<(Candidate, Decision)>, Vec<String>);

/// The roots an install of `req` would trust, decided by install's own rules (pins, a person's
/// confirmation, validation, the OS distrust list) from a discover `result`, with nothing planned
/// or written: `export` turns them into artefacts another machine imports. Also returns the
/// warnings (skipped roots, validation findings).
pub fn trusted_roots(
    req: &InstallRequest,
    result: &DiscoverResult,
    distrust: &Distrust,
    ask: Option<Ask<'_>>,
) -> Result<TrustedRoots, InstallError> {
    let offered = offered_candidates(req, result)?;
    let candidates: Vec<Candidate> = offered.iter().map(|(c, _, _)| c.clone()).collect();
    let verdicts = decide::decide(&candidates, &req.pins, req.policy)?;
    let mut warnings = check_before_asking(&offered, &verdicts, distrust)?;
    let decisions = confirm(&candidates, verdicts, result, ask, &mut warnings)?;
    let trusted = candidates
        .into_iter()
        .zip(decisions)
        .filter_map(|(c, d)| d.map(|d| (c, d)))
        .collect();
    Ok((trusted, warnings))
}

/// The `--ca-file` CAs (with what discover saw of them), or else the roots discover found; an
/// error saying why when discover found nothing to install.
fn offered_candidates(
    req: &InstallRequest,
    result: &DiscoverResult,
) -> Result<Vec<Offered>, InstallError> {
    if req.ca_files.is_empty() {
        if !matches!(result.outcome, Outcome::Intercepted | Outcome::SelfSigned) {
            let why = match result.outcome {
                Outcome::NotIntercepted => "no TLS interception was observed (pass --ca-file with the CA IT gave you to trust it anyway)".to_string(),
                Outcome::RootNotFound => result
                    .unresolved
                    .first()
                    .map(|u| u.advice.clone())
                    .unwrap_or_else(|| "the interception root was not found".to_string()),
                _ => "no target could be probed (proxy or network failure; pass --ca-file to install without a probe)".to_string(),
            };
            return Err(InstallError::NothingToInstall(why, result.outcome));
        }
        return Ok(candidates_from_discover(result));
    }
    let from_discover = candidates_from_discover(result);
    Ok(
        candidates_from_files(&req.ca_files, &req.discover.os_roots)?
            .into_iter()
            .map(|c| {
                // What discover saw for this root (extras, lint) when the proxy is reachable.
                let seen = from_discover.iter().find(|(d, _, _)| d.root == c.root);
                let extras = seen.map(|(_, e, _)| e.clone()).unwrap_or_default();
                let lint = seen
                    .map(|(_, _, l)| l.clone())
                    .unwrap_or_else(|| lint::lint_path(&c.root, &c.path, None));
                let service = seen.and_then(|(d, _, _)| d.service.clone());
                (Candidate { service, ..c }, extras, lint)
            })
            .collect(),
    )
}

/// Validation and the OS distrust list, for what would be installed only, before a person is
/// asked to confirm what could never be written. Returns the validation warnings.
fn check_before_asking(
    offered: &[Offered],
    verdicts: &[Verdict],
    distrust: &Distrust,
) -> Result<Vec<String>, InstallError> {
    let mut warnings = Vec::new();
    let mut invalid = Vec::new();
    for ((c, extras, lint), verdict) in offered.iter().zip(verdicts) {
        if matches!(verdict, Verdict::Skip(_)) {
            continue;
        }
        match validate_candidate(c, lint) {
            Ok(w) => warnings.extend(w),
            Err(i) => invalid.extend(i),
        }
        let distrusted = std::iter::once(&c.root).chain(extras);
        for cert in distrusted.filter(|cert| distrust.covers(cert.der.as_ref())) {
            invalid.push(Invalid::DistrustedByOs {
                subject: crate::discover::tunnel::printable(&cert.info.subject),
                fingerprint: cert.sha256().to_string(),
            });
        }
    }
    if !invalid.is_empty() {
        return Err(InstallError::Invalid(invalid));
    }
    Ok(warnings)
}

/// Turns each verdict into a decision, asking the person where no pin or policy decided; `None`
/// for a skipped candidate. The first "no" declines the whole install.
fn confirm(
    candidates: &[Candidate],
    verdicts: Vec<Verdict>,
    result: &DiscoverResult,
    mut ask: Option<Ask<'_>>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Option<Decision>>, InstallError> {
    let mut decisions = Vec::new();
    for (c, verdict) in candidates.iter().zip(verdicts) {
        let decision = match verdict {
            Verdict::Skip(why) => {
                warnings.push(why);
                None
            }
            Verdict::Accept(d) => Some(d),
            Verdict::AskPerson => {
                let question = confirm_text(c, result);
                let yes = ask.as_mut().map(|a| a(&question)).unwrap_or(false);
                if !yes {
                    return Err(InstallError::Declined(crate::discover::tunnel::printable(
                        &c.root.info.subject,
                    )));
                }
                Some(Decision::Confirmed)
            }
        };
        decisions.push(decision);
    }
    Ok(decisions)
}

/// Adds each decided CA not yet installed to `after`; returns the CAs the OS store must take.
fn record_cas(
    req: &InstallRequest,
    offered: &[Offered],
    decisions: &[Option<Decision>],
    host: Host<'_>,
    after: &mut State,
    warnings: &mut Vec<String>,
) -> Result<Vec<(Cert, String)>, InstallError> {
    let mut store_adds = Vec::new();
    for ((c, extras, _), decision) in offered.iter().zip(decisions) {
        let Some(decision) = decision else {
            continue;
        };
        if let Some(recorded) = after.cas.iter_mut().find(|ca| ca.sha256 == c.root.sha256()) {
            // Someone took a CA this installation relied on out of the OS store: a person
            // installing it again (pin or confirmation) puts it back, and it is then
            // trust-proxy's to remove at uninstall. `status` prints this as the fix.
            let relied_on = recorded.added_to_os_store || recorded.in_os_store;
            if req.use_os_store && relied_on && !host.store.contains(&c.root.der)? {
                store_adds.push((c.root.clone(), recorded.store_name.clone()));
                recorded.added_to_os_store = true;
                recorded.in_os_store = true;
            }
            continue;
        }
        let store_name = store_name_for(&c.root);
        let end_entity = is_end_entity(c);
        let store_takes_it = !end_entity || host.store.accepts_end_entity_anchor();
        if req.use_os_store && !store_takes_it {
            warnings.push(format!(
                "{} is a self-signed end-entity certificate and {} does not turn one into a TLS anchor: it goes into trust-proxy's own bundle and hashed dir only, which the variables point at",
                crate::discover::tunnel::printable(&c.root.info.subject),
                host.store.describe()
            ));
        }
        let will_add = req.use_os_store && store_takes_it && *decision != Decision::OsStore;
        let already = host.store.contains(&c.root.der)?;
        if will_add {
            store_adds.push((c.root.clone(), store_name.clone()));
        }
        after.cas.push(InstalledCa {
            sha256: c.root.sha256().to_string(),
            subject: c.root.info.subject.clone(),
            pem: c.root.to_pem(),
            extra_pem: extras.iter().map(|e| e.to_pem()).collect(),
            decision: *decision,
            provenance: c.provenance,
            added_to_os_store: will_add && !already,
            in_os_store: will_add || already,
            store_name,
            service_targets: c
                .service
                .as_ref()
                .map(|s| s.presented_by.clone())
                .unwrap_or_default(),
        });
    }
    Ok(store_adds)
}

/// The proxy the probe went through and the NO_PROXY it honoured, for the env snippets; not one
/// only a PAC file named (network-provided), unless `--allow-proxy` allowed it.
fn remember_proxy(after: &mut State, result: &DiscoverResult, config: &DiscoverConfig) {
    after.proxy = result
        .targets
        .iter()
        .filter_map(|t| t.proxy.as_ref())
        .find_map(|p| p.snippet_endpoint())
        .map(|e| e.env_url());
    after.no_proxy = match &config.proxy.no_proxy_translation {
        Some(translated) => translated.value(),
        None => config.proxy.no_proxy.as_ref().map(|(_, v)| v.clone()),
    };
}

/// A self-signed certificate that is not a CA: the shape with its own validation and store rules.
fn is_end_entity(c: &Candidate) -> bool {
    c.root.is_self_signed() && SelfSignedShape::of(&c.root) == SelfSignedShape::EndEntity
}

/// A root CA (including a self-signed service's CA-shaped certificate) is checked as a root; a
/// self-signed end-entity certificate as the anchor of exactly the hosts that presented it.
fn validate_candidate(c: &Candidate, lint: &[lint::Finding]) -> Result<Vec<String>, Vec<Invalid>> {
    if !is_end_entity(c) {
        let mut warnings = validate::validate_root(&c.root, lint)?;
        if let Some(service) = c
            .service
            .as_ref()
            .filter(|s| s.shape == SelfSignedShape::Ca)
        {
            warnings.push(format!(
                "{} presents a CA certificate as its own server certificate: {}",
                crate::discover::tunnel::printable(&service.presented_by.join(", ")),
                validate::CA_AS_SERVER_CERT
            ));
        }
        return Ok(warnings);
    }
    let (presented_by, not_covered) = c
        .service
        .as_ref()
        .map(|s| (s.presented_by.as_slice(), s.names_not_covered.as_slice()))
        .unwrap_or_default();
    validate::validate_self_signed_end_entity(&c.root, presented_by, not_covered)
}

fn run_verify(report: &InstallReport, layout: &Layout, config: &DiscoverConfig) -> Verification {
    let Some(result) = &report.discover else {
        return Verification::NotApplicable {
            reason: "no probe was made".to_string(),
        };
    };
    let targets: Vec<_> = result
        .targets
        .iter()
        .filter(|t| {
            matches!(
                t.status,
                TargetStatus::Intercepted(_) | TargetStatus::SelfSigned { .. }
            )
        })
        .filter_map(|t| t.proxy.clone().map(|p| (t.target.clone(), p)))
        .collect();
    if targets.is_empty() {
        return Verification::NotApplicable {
            reason: "no interception was observed on any target (off the corporate network?)"
                .to_string(),
        };
    }
    let bundle = match fs_safe::read_nofollow(&layout.bundle_for_env()) {
        Ok(Some(bytes)) => crate::analyze::certload::load_certs_lenient(&bytes)
            .map(|(c, _)| c)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let trust = ProxyTlsTrust {
        roots: config.os_roots.iter().map(|c| c.der.clone()).collect(),
    };
    verify::verify(&targets, &bundle, config.timeout, &trust)
}

/// The question a person answers before `c` is trusted (public so the fuzz target reaches it).
pub fn confirm_text(c: &Candidate, result: &DiscoverResult) -> String {
    let seen = result
        .roots
        .iter()
        .find(|r| r.root == c.root)
        .map(|r| r.seen_on.len())
        .unwrap_or(0);
    if let Some(service) = &c.service {
        let shape = match service.shape {
            SelfSignedShape::Ca => "a self-signed CA certificate",
            SelfSignedShape::EndEntity => "a self-signed end-entity certificate",
        };
        let names = match service.shape {
            SelfSignedShape::Ca => {
                "any: it is a CA, whoever holds its key can vouch for any name".to_string()
            }
            SelfSignedShape::EndEntity => validate::san_names(&c.root).join(", "),
        };
        let origin = if c.provenance == Provenance::Network {
            " It came from the network only; anyone between you and the host could have sent it."
        } else {
            ""
        };
        return format!(
            "{} presents {shape}: not interception.{origin}\nCompare its fingerprint with the one the service's owner publishes before trusting it.\n\n  Subject  {}\n  Names    {}\n  SHA-256  {}\n\nTrust this certificate for TLS connections to these names? Type 'yes' to confirm: ",
            crate::discover::tunnel::printable(&service.presented_by.join(", ")),
            crate::discover::tunnel::printable(&c.root.info.subject),
            names,
            c.root.sha256()
        );
    }
    let origin = match c.provenance {
        Provenance::Network => "WARNING: this CA came from the NETWORK ONLY. Anyone between you and the proxy could have sent it.",
        Provenance::UserFile => "This CA comes from a file you gave.",
        Provenance::VendorFile => "This CA comes from a vendor agent's file on this machine.",
        Provenance::OsStore => "This CA is already trusted by the OS.",
    };
    // The subject is the proxy's to choose: a bidi override or a line break in it must not make
    // the question show another name than the one being trusted.
    crate::terminal_text::for_terminal(&format!(
        "{origin}\nCompare its fingerprint with the one your IT department publishes before trusting it.\n\n  Subject  {}\n  SHA-256  {}\n  Seen on  {seen} target(s)\n\nTrust this CA for every TLS connection? Type 'yes' to confirm: ",
        crate::terminal_text::printable(&c.root.info.subject),
        c.root.sha256()
    ))
}

pub(crate) fn summary(ca: &InstalledCa) -> CaSummary {
    CaSummary {
        sha256: ca.sha256.clone(),
        subject: ca.subject.clone(),
        decision: ca.decision,
        provenance: ca.provenance,
        service_targets: ca.service_targets.clone(),
    }
}

fn is_system(layout: &Layout) -> bool {
    layout.scope == trust_proxy_platform::Scope::System
}

pub fn scope_name(layout: &Layout) -> &'static str {
    match layout.scope {
        trust_proxy_platform::Scope::System => "system",
        trust_proxy_platform::Scope::User => "user",
    }
}

/// Stable and unique per CA: readable prefix from the subject plus the fingerprint's start.
fn store_name_for(root: &Cert) -> String {
    let cn: String = root
        .info
        .subject
        .rsplit("CN=")
        .next()
        .unwrap_or("ca")
        .split(',')
        .next()
        .unwrap_or("ca")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let cn = cn.trim_matches('-');
    let short: String = root.sha256().replace(':', "").chars().take(16).collect();
    format!(
        "trust-proxy-{}-{}",
        &cn[..cn.len().min(40)],
        short.to_ascii_lowercase()
    )
}

/// The distro bundle only serves when the CAs are really in the OS store.
pub fn effective_layout(layout: &Layout, state: &State) -> Layout {
    let mut l = layout.clone();
    let all_in_store = state.cas.iter().all(|c| c.in_os_store);
    if !all_in_store {
        l.os_bundle = None;
    }
    l
}

/// The state of `layout`'s scope, refused unless it and every file it names can only have been
/// written by whoever the scope belongs to, and it names only files trust-proxy writes there.
/// A state someone else could plant would otherwise steer what a privileged run deletes.
pub fn load_state(layout: &Layout) -> Result<Option<State>, InstallError> {
    let check = |path: &Path| -> Result<(), InstallError> {
        if std::fs::symlink_metadata(path).is_err() {
            return Ok(());
        }
        match layout.scope {
            Scope::System => ownership::check_system_file(path)?,
            Scope::User => ownership::check_user_file(path)?,
        }
        Ok(())
    };
    check(&layout.dir)?;
    check(&layout.state_file())?;
    let Some(state) = State::load(&layout.state_file())? else {
        return Ok(None);
    };
    stores::check_records(layout.scope, &state)?;
    let own_files = layout.own_files();
    for file in &state.files {
        if !own_files.contains(&file.path) {
            return Err(StateError::ForeignPath {
                path: layout.state_file(),
                named: file.path.clone(),
            }
            .into());
        }
        check(&file.path)?;
    }
    if layout.scope == Scope::System {
        // Every OpenSSL client trusts the hashed directory's entries through SSL_CERT_DIR.
        let cert_dir = layout.cert_dir();
        check(&cert_dir)?;
        if let Ok(entries) = std::fs::read_dir(&cert_dir) {
            for entry in entries.flatten() {
                check(&entry.path())?;
            }
        }
    }
    // Uninstall removes these when empty: only trust-proxy's directory and those above it.
    for dir in &state.created_dirs {
        if !layout.dir.starts_with(dir) {
            return Err(StateError::ForeignPath {
                path: layout.state_file(),
                named: dir.clone(),
            }
            .into());
        }
    }
    for block in &state.blocks {
        if layout.etc_environment.as_ref() != Some(block) {
            return Err(StateError::ForeignPath {
                path: layout.state_file(),
                named: block.clone(),
            }
            .into());
        }
    }
    Ok(Some(state))
}

/// The files, dir and blocks for the CA set in `after`; or, when it is empty, their removal.
pub fn build_plan(
    layout: &Layout,
    before: Option<&State>,
    after: &State,
    os_roots: &[Cert],
    store_adds: &[(Cert, String)],
    store_removes: &[(Cert, String)],
    host: Host<'_>,
) -> Result<(Plan, State), InstallError> {
    let mut actions = Vec::new();
    for (cert, name) in store_removes {
        actions.push(Action::StoreRemove {
            cert: cert.clone(),
            name: name.clone(),
        });
    }
    for (cert, name) in store_adds {
        actions.push(Action::StoreAdd {
            cert: cert.clone(),
            name: name.clone(),
        });
    }
    let mut state = after.clone();
    state.files.clear();
    state.blocks.clear();
    state.session_env.clear();

    if after.cas.is_empty() {
        if let Some(before) = before {
            actions.extend(removal_actions(layout, before)?);
        }
        return Ok((Plan { actions }, state));
    }

    let (mut files, bundle_certs) = trust_files(layout, after, os_roots, host.distrust)?;
    let vars = env_vars(layout, after)?;
    files.extend(env_files(layout, &vars));
    refuse_foreign_files(before, &files)?;
    // Files an earlier install wrote that this one no longer needs.
    if let Some(before) = before {
        for f in &before.files {
            if !files.iter().any(|(p, _)| *p == f.path) {
                actions.push(Action::Remove {
                    path: f.path.clone(),
                    sha256: f.sha256.clone(),
                });
            }
        }
    }
    for (path, contents) in files {
        state.files.push(OwnedFile {
            path: path.clone(),
            sha256: sha256_hex(&contents),
        });
        actions.push(Action::Write {
            path,
            contents,
            mode: 0o644,
        });
    }
    let entries =
        bundle::hashed_dir_entries(&bundle_certs).map_err(|e| InstallError::Plan(e.to_string()))?;
    actions.push(Action::SyncDir {
        dir: layout.cert_dir(),
        entries,
    });
    if let Some(env) = host.session_env {
        let earlier: &[SessionVar] = before.map(|b| b.session_env.as_slice()).unwrap_or_default();
        let (action, recorded) = session_env_action(env, earlier, &vars)?;
        actions.push(action);
        state.session_env = recorded;
    }
    if let Some(env_file) = &layout.etc_environment {
        let block =
            envsnippet::environment_block(&vars).map_err(|e| InstallError::Plan(e.to_string()))?;
        let created_now = fs_safe::read_nofollow(env_file)?.is_none();
        if created_now && !state.created_block_files.contains(env_file) {
            state.created_block_files.push(env_file.clone());
        }
        actions.push(Action::EditBlock {
            path: env_file.clone(),
            block: Some(block),
            remove_if_empty: false,
        });
        state.blocks.push(env_file.clone());
    }
    actions.push(Action::Write {
        path: layout.state_file(),
        contents: state.to_bytes()?,
        mode: 0o644,
    });
    Ok((Plan { actions }, state))
}

/// Everything `before` wrote, taken back: first what points tools at the trust files (env
/// snippets, the profile.d script, the `/etc/environment` block, session variables), then the
/// trust files and the hashed dir, last the state file itself. In that order because a
/// variable naming a file that is gone breaks more than a missing variable: uv 0.12 and later
/// trusts nothing at all when `SSL_CERT_FILE` names a missing file.
fn removal_actions(layout: &Layout, before: &State) -> Result<Vec<Action>, InstallError> {
    let mut actions = Vec::new();
    let trust_files = [layout.proxy_ca(), layout.own_bundle()];
    let remove = |f: &OwnedFile| Action::Remove {
        path: f.path.clone(),
        sha256: f.sha256.clone(),
    };
    for f in before
        .files
        .iter()
        .filter(|f| !trust_files.contains(&f.path))
    {
        actions.push(remove(f));
    }
    for b in &before.blocks {
        actions.push(Action::EditBlock {
            path: b.clone(),
            block: None,
            remove_if_empty: before.created_block_files.contains(b),
        });
    }
    if !before.session_env.is_empty() {
        let (set, unset) = SessionVar::restore(&before.session_env);
        actions.push(Action::SessionEnv { set, unset });
    }
    for f in before
        .files
        .iter()
        .filter(|f| trust_files.contains(&f.path))
    {
        actions.push(remove(f));
    }
    actions.push(Action::SyncDir {
        dir: layout.cert_dir(),
        entries: Vec::new(),
    });
    let current = fs_safe::read_nofollow(&layout.state_file())?.unwrap_or_default();
    actions.push(Action::Remove {
        path: layout.state_file(),
        sha256: sha256_hex(&current),
    });
    Ok(actions)
}

/// A file trust-proxy writes whole: its path and contents.
type WholeFile = (PathBuf, Vec<u8>);

/// The proxy CA file and (unless the OS bundle is used) trust-proxy's own bundle, with the
/// certificates the bundle holds; refuses any CA the OS distrusts.
fn trust_files(
    layout: &Layout,
    after: &State,
    os_roots: &[Cert],
    distrust: &Distrust,
) -> Result<(Vec<WholeFile>, Vec<Cert>), InstallError> {
    let mut roots = Vec::new();
    let mut proxy_ca = String::new();
    for ca in &after.cas {
        let root = parse_pem(&ca.pem)?;
        let extras: Vec<Cert> = ca
            .extra_pem
            .iter()
            .map(|p| parse_pem(p))
            .collect::<Result<_, _>>()?;
        bundle::refuse_distrusted(std::slice::from_ref(&root), distrust)
            .and_then(|()| bundle::refuse_distrusted(&extras, distrust))
            .map_err(|e| InstallError::Plan(e.to_string()))?;
        proxy_ca.push_str(&bundle::render_proxy_ca_pem(&root, &extras));
        roots.push(root);
    }
    let composed = bundle::compose_bundle(
        os_roots,
        bundle::public_roots_needed(os_roots),
        &roots,
        distrust,
    )
    .map_err(|e| InstallError::Plan(e.to_string()))?;
    let bundle_certs: Vec<Cert> = composed.iter().map(|b| b.cert.clone()).collect();
    let mut files: Vec<WholeFile> = vec![(layout.proxy_ca(), proxy_ca.into_bytes())];
    if layout.os_bundle.is_none() {
        files.push((
            layout.own_bundle(),
            bundle::render_bundle_pem(&composed).into_bytes(),
        ));
    }
    Ok((files, bundle_certs))
}

/// One env snippet per shell, and the profile.d script where the layout has one.
fn env_files(layout: &Layout, vars: &[(String, String)]) -> Vec<WholeFile> {
    let mut files = Vec::new();
    for shell in [Shell::Sh, Shell::Fish, Shell::Pwsh, Shell::Cmd] {
        let text = match shell {
            Shell::Cmd => envsnippet::render_checked(shell, vars)
                .unwrap_or_else(|e| format!("rem trust-proxy: {e}\r\n")),
            _ => envsnippet::render(shell, vars),
        };
        files.push((layout.env_file(shell), text.into_bytes()));
    }
    if let Some(p) = &layout.profile_d {
        files.push((p.clone(), envsnippet::profile_d_script(vars).into_bytes()));
    }
    files
}

/// Whole files that exist but were not written by trust-proxy are someone else's.
fn refuse_foreign_files(before: Option<&State>, files: &[WholeFile]) -> Result<(), InstallError> {
    for (path, contents) in files {
        let owned = before.and_then(|b| b.file_hash(path)).is_some();
        if !owned {
            if let Some(existing) = fs_safe::read_nofollow(path)? {
                if existing != *contents {
                    return Err(InstallError::Plan(format!(
                        "{} exists and was not written by trust-proxy; move it away first",
                        path.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The session variables to set (and stale ones to restore), with what each held before
/// trust-proxy first set it, kept across re-installs.
fn session_env_action(
    env: &dyn PersistentEnv,
    earlier: &[SessionVar],
    vars: &[(String, String)],
) -> Result<(Action, Vec<SessionVar>), InstallError> {
    let mut recorded = Vec::new();
    for (name, _) in vars {
        let previous = match earlier.iter().find(|v| v.name == *name) {
            Some(v) => v.previous.clone(),
            None => env.get(name)?,
        };
        recorded.push(SessionVar {
            name: name.clone(),
            previous,
        });
    }
    let stale: Vec<SessionVar> = earlier
        .iter()
        .filter(|v| !vars.iter().any(|(n, _)| *n == v.name))
        .cloned()
        .collect();
    let (mut set, unset) = SessionVar::restore(&stale);
    set.extend(vars.iter().cloned());
    Ok((Action::SessionEnv { set, unset }, recorded))
}

/// The variables for `state` installed under `layout` (already the effective layout).
pub fn env_vars(layout: &Layout, state: &State) -> Result<Vec<(String, String)>, InstallError> {
    let paths = EnvPaths {
        bundle: layout.bundle_for_env(),
        cert_dir: layout.cert_dir(),
        proxy_ca: layout.proxy_ca(),
    };
    let proxy = state.proxy.as_ref().map(|url| ProxyEnv {
        url: url.clone(),
        no_proxy: state.no_proxy.clone(),
    });
    let in_os_store = state.cas.iter().all(|c| c.in_os_store);
    envsnippet::variables_for(
        crate::tools::Os::current(),
        in_os_store,
        &paths,
        proxy.as_ref(),
    )
    .map_err(|e| InstallError::Plan(e.to_string()))
}

pub(crate) fn parse_pem(pem: &str) -> Result<Cert, InstallError> {
    crate::analyze::certload::load_certs(pem.as_bytes())
        .ok()
        .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
        .ok_or_else(|| {
            InstallError::Plan("the state file holds a certificate that does not parse: restore the file from a backup, or move it aside and run `trust-proxy install` again".to_string())
        })
}

/// The lock for a run that only changes what is installed: without trust-proxy's directory
/// nothing is, and there is nothing to lock (nor a directory to create just to find that out).
fn lock_if_installed(layout: &Layout) -> Result<Option<Lock>, InstallError> {
    match std::fs::symlink_metadata(&layout.dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => Ok(Some(Lock::acquire(
            &layout.dir,
            &layout.lock_file(),
            is_system(layout),
        )?)),
    }
}

/// Removes the CAs named by `pins` (all when empty), reversing exactly what the state lists.
pub fn uninstall(
    layout: &Layout,
    host: Host<'_>,
    os_roots: &[Cert],
    pins: &[Pin],
    dry_run: bool,
    options: ApplyOptions,
) -> Result<InstallReport, InstallError> {
    let lock = if dry_run {
        None
    } else {
        lock_if_installed(layout)?
    };
    // Without the lock, a state an install wrote meanwhile is not this run's to act on.
    let before = if dry_run || lock.is_some() {
        load_state(layout)?
    } else {
        None
    };
    options.state_was_read();
    let mut report = InstallReport {
        scope: scope_name(layout).to_string(),
        dry_run,
        installed: Vec::new(),
        warnings: Vec::new(),
        steps: Vec::new(),
        unchanged: true,
        verification: None,
        env_file: String::new(),
        bundle: String::new(),
        stores: Vec::new(),
        discover: None,
    };
    let Some(before) = before else {
        // Tools configured against the system scope's install leave their record here.
        if let Some(undo) = tools_undo(layout, true)? {
            let plan = Plan {
                actions: undo.actions,
            };
            report.warnings.extend(undo.warnings);
            report.steps = match &lock {
                Some(lock) => apply::apply(&plan, host, &options, lock)?,
                None => plan.steps(host)?,
            };
            report.unchanged = report.steps.iter().all(|s| s.effect == Effect::Unchanged);
            if let Some(lock) = &lock {
                lock.remove_traces(Some(&layout.dir));
            }
        }
        return Ok(report);
    };
    let mut after = before.clone();
    let mut removes = Vec::new();
    let selected = selected_for_removal(&before, pins)?;
    for ca in &selected {
        if ca.added_to_os_store {
            removes.push((parse_pem(&ca.pem)?, ca.store_name.clone()));
        }
        after.cas.retain(|c| c.sha256 != ca.sha256);
    }
    let removed: Vec<String> = selected.iter().map(|c| c.sha256.clone()).collect();
    let extra_actions = stores::uninstall_actions(&before, &mut after, &removed)?;
    let effective = effective_layout(layout, &after);
    let (mut plan, _) = build_plan(
        &effective,
        Some(&before),
        &after,
        os_roots,
        &[],
        &removes,
        host,
    )?;
    plan.actions.splice(0..0, extra_actions);
    // The person's tool settings name the bundle: they go before anything else does.
    if let Some(undo) = tools_undo(layout, after.cas.is_empty())? {
        plan.actions.splice(0..0, undo.actions);
        report.warnings.extend(undo.warnings);
    }
    report.installed = after.cas.iter().map(summary).collect();
    let Some(lock) = lock else {
        report.steps = plan.steps(host)?;
        report.unchanged = report.steps.iter().all(|s| s.effect == Effect::Unchanged);
        return Ok(report);
    };
    report.steps = apply::apply(&plan, host, &options, &lock)?;
    report.unchanged = report.steps.iter().all(|s| s.effect == Effect::Unchanged);
    if after.cas.is_empty() {
        lock.remove_traces(Some(&layout.dir));
        lock.remove_created_dirs(&before.created_dirs);
    }
    Ok(report)
}

/// What `configure-tools` changed in the person's files, given back (user scope, everything
/// uninstalled): `None` without a record. The record is removed as the plan's last step.
fn tools_undo(
    layout: &Layout,
    everything: bool,
) -> Result<Option<crate::tools::record::UndoPlan>, InstallError> {
    if layout.scope != Scope::User || !everything {
        return Ok(None);
    }
    crate::tools::record::undo_plan(layout).map_err(|e| InstallError::Plan(e.to_string()))
}

/// The installed CAs the pins name, or all of them without pins; a pin that names none is an
/// error, so a typo never reads as "nothing to remove".
fn selected_for_removal(before: &State, pins: &[Pin]) -> Result<Vec<InstalledCa>, InstallError> {
    if pins.is_empty() {
        return Ok(before.cas.clone());
    }
    let mut selected = Vec::new();
    for p in pins {
        let hit = before
            .cas
            .iter()
            .find(|c| Pin::parse(&c.sha256).is_ok_and(|own| own == *p))
            .ok_or_else(|| InstallError::UnknownFingerprint {
                pin: p.display(),
                scope: before.scope.clone(),
            })?;
        selected.push(hit.clone());
    }
    Ok(selected)
}

/// Rebuilds the bundle and hashed dir from the current OS store; safe from a timer.
pub fn refresh(
    layout: &Layout,
    host: Host<'_>,
    os_roots: &[Cert],
    options: ApplyOptions,
) -> Result<InstallReport, InstallError> {
    let nothing_installed = || {
        let scope = scope_name(layout);
        let sudo = if scope == "system" && cfg!(unix) {
            "sudo "
        } else {
            ""
        };
        InstallError::Plan(format!(
            "nothing is installed in the {scope} scope, so there is nothing to refresh: run `{sudo}trust-proxy install --scope {scope}` first"
        ))
    };
    let lock = lock_if_installed(layout)?.ok_or_else(nothing_installed)?;
    let Some(before) = load_state(layout)? else {
        return Err(nothing_installed());
    };
    options.state_was_read();
    let effective = effective_layout(layout, &before);
    let (plan, _) = build_plan(&effective, Some(&before), &before, os_roots, &[], &[], host)?;
    let steps = apply::apply(&plan, host, &options, &lock)?;
    Ok(InstallReport {
        scope: scope_name(layout).to_string(),
        dry_run: false,
        installed: before.cas.iter().map(summary).collect(),
        warnings: Vec::new(),
        unchanged: steps.iter().all(|s| s.effect == Effect::Unchanged),
        steps,
        verification: None,
        env_file: effective.env_file(Shell::Sh).display().to_string(),
        bundle: effective.bundle_for_env().display().to_string(),
        stores: Vec::new(),
        discover: None,
    })
}
