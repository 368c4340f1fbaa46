//! `trust-proxy proxy [--pac FILE|URL] --url URL...`: which proxy each URL goes through, from
//! which source, and why. Without `--pac`, the URLs are resolved as discover and install
//! resolve targets (`proxy::resolve`: environment, OS settings, their PAC file, direct), and the
//! chosen proxy (or the host, for direct) is checked with a TCP connect. With `--pac`: what that
//! PAC file answers for each URL, which of its choices answers a TCP connect first, and why. The PAC is loaded once and asked about
//! every URL; each choice is checked in order with a connect under `--connect-timeout` (the
//! proxy for PROXY/HTTPS, the URL's own host for DIRECT). SOCKS choices are listed but passed
//! over: discover speaks HTTP CONNECT only.
//!
//! Exit status: 0 when every URL got a choice that answered (or, with `--no-connect`, a
//! decision), 1 when the PAC file failed for a URL, 5 when no choice answered for some URL;
//! a PAC file that cannot be read or loaded is a usage error (2), a failed download a local one
//! (1).

use crate::cli::args::ProxyArgs;
use crate::cli::command::{CommandError, Rendered};
use crate::discover::proxy::ProxyScheme;
use crate::exit_status::ExitStatus;
use crate::proxy::pac::source::{self, SourceError};
use crate::proxy::pac::{
    failover, script_view, Failover, PacChoice, PacEngine, PacLimits, SystemResolver,
};
use crate::proxy::resolve::{self, Resolver, Sources};
use crate::terminal_text::{escaped, printable, to_json_pretty};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct ProxyReport {
    schema_version: u32,
    command: &'static str,
    exit_code: i32,
    /// Absent when the URLs were resolved from the sources rather than one `--pac` file.
    pac: Option<PacInfo>,
    urls: Vec<UrlReport>,
    /// For the text's advice only; JSON consumers know what they passed.
    #[serde(skip)]
    connect_timeout_secs: f64,
}

#[derive(Debug, Serialize)]
struct PacInfo {
    location: String,
    bytes: usize,
    entry_point: &'static str,
}

#[derive(Debug, Serialize)]
struct UrlReport {
    url: String,
    /// The host the PAC file was given.
    host: Option<String>,
    /// The string FindProxyForURL returned, exactly.
    result: Option<String>,
    choices: Vec<PacChoice>,
    /// Present unless `--no-connect`.
    failover: Option<Failover>,
    chosen: Option<PacChoice>,
    /// Which source decided (`env:HTTPS_PROXY`, `os:gnome`, `pac:gnome`, ... as discover's
    /// report names them); `pac:flag` with `--pac`.
    source: String,
    reason: String,
    error: Option<String>,
}

pub fn run_proxy(args: &ProxyArgs) -> Result<Rendered, CommandError> {
    let mut warnings = Vec::new();
    if !(args.connect_timeout.is_finite()
        && args.connect_timeout > 0.0
        && args.connect_timeout <= 60.0)
    {
        return Err(CommandError::Usage(
            "--connect-timeout must be between 0 and 60 seconds".to_string(),
        ));
    }
    let connect_timeout = Duration::from_secs_f64(args.connect_timeout);
    let Some(pac_location) = &args.pac else {
        return resolve_urls(args, connect_timeout, warnings);
    };
    let roots = if pac_location.starts_with("https:") {
        // The user's view of trust: a PAC server certificate IT issued is in the OS store.
        match trust_proxy_platform::os_roots(trust_proxy_platform::Scope::User) {
            Ok(roots) => roots,
            Err(e) => {
                warnings.push(format!(
                    "the OS trust store could not be read ({e}); the PAC server is verified against Mozilla's roots only"
                ));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let pac = source::load(pac_location, &roots).map_err(|e| match e {
        SourceError::File { .. }
        | SourceError::FileTooLarge { .. }
        | SourceError::Location { .. } => CommandError::Usage(e.to_string()),
        other => CommandError::Local(other.to_string()),
    })?;
    let engine = PacEngine::load(&pac.text, Arc::new(SystemResolver), PacLimits::default())
        .map_err(|e| CommandError::Usage(format!("PAC file {}: {e}", printable(&pac.origin))))?;

    let mut urls = Vec::new();
    for url in &args.urls {
        urls.push(ask(
            &engine,
            url,
            (!args.no_connect).then_some(connect_timeout),
        ));
    }
    let exit_code = exit_code_of(&urls, args.no_connect);
    let report = ProxyReport {
        schema_version: SCHEMA_VERSION,
        command: "proxy",
        exit_code,
        connect_timeout_secs: args.connect_timeout,
        pac: Some(PacInfo {
            location: pac.origin,
            bytes: pac.text.len(),
            entry_point: engine.entry_point(),
        }),
        urls,
    };
    render(&report, args.json, warnings)
}

/// A URL that could not be decided is a local error; one whose every choice failed to answer
/// (when answers were checked) a network failure.
fn exit_code_of(urls: &[UrlReport], no_connect: bool) -> i32 {
    if urls.iter().any(|u| u.error.is_some()) {
        ExitStatus::LocalError
    } else if !no_connect && urls.iter().any(|u| u.chosen.is_none()) {
        ExitStatus::NetworkFailure
    } else {
        ExitStatus::Success
    }
    .code()
}

fn render(
    report: &ProxyReport,
    json: bool,
    warnings: Vec<String>,
) -> Result<Rendered, CommandError> {
    let exit_code = report.exit_code;
    let stdout = if json {
        to_json_pretty(report).map_err(|e| CommandError::Local(e.to_string()))?
    } else {
        to_text(report)
    };
    Ok(Rendered {
        stdout,
        exit_code,
        warnings,
    })
}

fn ask(engine: &PacEngine, url: &str, connect_timeout: Option<Duration>) -> UrlReport {
    let mut report = UrlReport {
        url: url.to_string(),
        host: None,
        result: None,
        choices: Vec::new(),
        failover: None,
        chosen: None,
        source: "pac:flag".to_string(),
        reason: String::new(),
        error: None,
    };
    let target = match script_view(url) {
        Ok((_, host)) => {
            report.host = Some(host.clone());
            let port = url::Url::parse(url)
                .ok()
                .and_then(|u| u.port_or_known_default());
            (host, port)
        }
        Err(e) => {
            report.reason = "the URL cannot be asked about".to_string();
            report.error = Some(e.to_string());
            return report;
        }
    };
    let decision = match engine.decide(url) {
        Ok(d) => d,
        Err(e) => {
            report.reason = "the PAC file gave no usable answer".to_string();
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.result = Some(decision.raw);
    report.choices = decision.choices;
    let Some(timeout) = connect_timeout else {
        report.chosen = report.choices.first().cloned();
        report.reason = match &report.chosen {
            Some(c) => format!("{c} is the PAC file's first choice (not checked: --no-connect)"),
            None => String::new(),
        };
        return report;
    };
    let outcome = failover(&report.choices, |choice| {
        resolve::answers(choice, &target, timeout)
    });
    report.chosen = outcome.chosen_choice().cloned();
    report.reason = outcome.reason();
    report.failover = Some(outcome);
    report
}

/// Each URL resolved from the sources, as discover resolves its targets.
fn resolve_urls(
    args: &ProxyArgs,
    connect_timeout: Duration,
    mut warnings: Vec<String>,
) -> Result<Rendered, CommandError> {
    let sources = Sources {
        env: crate::proxy::env::from_process(),
        connect_timeout: (!args.no_connect).then_some(connect_timeout),
        ..Sources::default()
    };
    let resolver = Resolver::new(crate::cli::command::os_sources(sources, &mut warnings));
    let mut urls = Vec::new();
    for url in &args.urls {
        let mut report = UrlReport {
            url: url.clone(),
            host: None,
            result: None,
            choices: Vec::new(),
            failover: None,
            chosen: None,
            source: String::new(),
            reason: String::new(),
            error: None,
        };
        match resolver.resolve(url) {
            Ok(decision) => {
                let target = resolve::target_of(url).ok();
                report.host = target.as_ref().map(|t| t.host.clone());
                report.source = decision.choice.source.to_string();
                report.reason = decision.why;
                report.result = decision.pac_result;
                report.choices = decision.pac_choices;
                let chosen = match &decision.choice.endpoint {
                    Some(e) if e.scheme == ProxyScheme::Https => PacChoice::Https {
                        host: e.host.clone(),
                        port: e.port,
                    },
                    Some(e) => PacChoice::Http {
                        host: e.host.clone(),
                        port: e.port,
                    },
                    None => PacChoice::Direct,
                };
                report.failover = match (decision.failover, args.no_connect) {
                    (Some(f), _) => Some(f),
                    (None, true) => None,
                    (None, false) => {
                        let host_port = target.map(|t| (t.host, Some(t.port)));
                        let host_port = host_port.unwrap_or((String::new(), None));
                        let checked = [chosen.clone()];
                        Some(failover(&checked, |c| {
                            resolve::answers(c, &host_port, connect_timeout)
                        }))
                    }
                };
                report.chosen = match &report.failover {
                    Some(f) => f.chosen_choice().cloned(),
                    None => Some(chosen.clone()),
                };
                if report.choices.is_empty() {
                    report.choices = vec![chosen];
                }
            }
            Err(e) => {
                report.reason = "the URL could not be resolved".to_string();
                report.error = Some(e.to_string());
            }
        }
        urls.push(report);
    }
    let exit_code = exit_code_of(&urls, args.no_connect);
    let report = ProxyReport {
        schema_version: SCHEMA_VERSION,
        command: "proxy",
        exit_code,
        connect_timeout_secs: args.connect_timeout,
        pac: None,
        urls,
    };
    render(&report, args.json, warnings)
}

fn to_text(report: &ProxyReport) -> String {
    let mut out = match &report.pac {
        Some(pac) => format!(
            "PAC file {} ({} bytes, {})\n",
            printable(&pac.location),
            pac.bytes,
            pac.entry_point
        ),
        None => "The proxy each URL gets, found as discover and install find it (the environment, the OS proxy settings, a PAC file they name, else direct)\n"
            .to_string(),
    };
    for u in &report.urls {
        out.push_str(&format!("\n{}\n", printable(&u.url)));
        if let Some(result) = &u.result {
            out.push_str(&format!("  PAC returned: \"{}\"\n", printable(result)));
        }
        if let Some(error) = &u.error {
            out.push_str(&format!("  error: {}\n", printable(error)));
            continue;
        }
        let listed: Vec<String> = u
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}. {c}", i.saturating_add(1)))
            .collect();
        out.push_str(&format!("  choices: {}\n", listed.join("  ")));
        if let Some(f) = &u.failover {
            for a in &f.attempts {
                let verdict = if a.answered { "answered" } else { "no" };
                out.push_str(&format!(
                    "  tried {}: {verdict} ({})\n",
                    a.choice,
                    printable(&a.detail)
                ));
            }
        }
        match &u.chosen {
            Some(c) => out.push_str(&format!("  use: {c}\n")),
            None => out.push_str(&format!(
                "  use: nothing answered a TCP connect within {} s\n",
                report.connect_timeout_secs
            )),
        }
        out.push_str(&format!("  source: {}\n", printable(&u.source)));
        out.push_str(&format!("  why: {}\n", escaped(&u.reason)));
    }
    let failed = report.urls.iter().any(|u| u.error.is_some());
    let unanswered = report
        .urls
        .iter()
        .any(|u| u.error.is_none() && u.chosen.is_none());
    if failed && report.pac.is_some() {
        out.push_str("\nWhat to do: the PAC file gave no usable answer for a URL (the error above): have whoever maintains it fix it, or give the proxy directly to discover and install with --proxy URL.");
    } else if failed {
        out.push_str("\nWhat to do: see the error above; give the proxy directly to discover and install with --proxy URL, or go direct with --no-proxy.");
    }
    if unanswered {
        out.push_str(&format!(
            "\nWhat to do: no choice answered a TCP connect from this machine: check that the proxy (for DIRECT, the URL's host) is running and reachable from here, or allow longer with --connect-timeout SECS (now {} s).",
            report.connect_timeout_secs
        ));
    }
    out.truncate(out.trim_end().len());
    out
}
